"""The OpenAI Chat Completions request as a :class:`~quart_llmstream.ChatRequest`.

``messages`` (``system``, ``developer``, ``user`` with its text, ``image_url``, ``input_audio`` and ``file``
parts, ``assistant`` with its ``tool_calls``, ``tool``) are the conversation; one that ends with ``tool``
messages answering the last ``tool_calls`` is a continuation.
``tools`` are the tools the client runs. The thread is the ``X-Thread-Id`` header (the API has no field for
it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError
from werkzeug.datastructures import Headers

from ..attachments import Attachments
from ..chat_request import ChatRequest, conversation, describe_validation_error
from ..client_tools import client_tools
from ..errors import RequestError
from ..settings import Settings

__all__ = ["read_completion_request"]

_AUDIO = {"wav": "audio/wav", "mp3": "audio/mpeg"}


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: StrictStr | None = None


class _StreamOptions(BaseModel):
    include_usage: StrictBool = False


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: StrictStr
    messages: list[_Message]
    stream: StrictBool | None = False
    stream_options: _StreamOptions | None = None
    tools: list[Any] | None = None


def read_completion_request(body: dict[str, Any], headers: Headers, settings: Settings) -> ChatRequest:
    try:
        parsed = _Body.model_validate(body)
    except ValidationError as exc:
        raise RequestError(400, "invalid_request", describe_validation_error(exc)) from None
    if settings.models is not None and parsed.model not in settings.models:
        raise RequestError(404, "model_not_found", f"The model '{parsed.model}' does not exist")
    found = Attachments(settings)
    messages = _to_messages(parsed.messages, found)
    ids = {"model": parsed.model}
    if parsed.stream:
        ids["stream"] = "usage" if parsed.stream_options and parsed.stream_options.include_usage else "yes"
    tools = client_tools(parsed.tools, settings)
    thread_id = headers.get("X-Thread-Id") or None
    return conversation(messages, body, headers, settings, ids=ids, thread_id=thread_id, tools=tools, attachments=found)


def _to_messages(messages: list[_Message], found: Attachments) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for index, message in enumerate(messages):
        text = _text(message.content)
        parts = _media(index, message, found)
        if message.role == "user":
            out.append(found.message(text, parts))
        elif message.role in ("system", "developer"):
            out.append(SystemMessage(text))
        elif message.role == "tool":
            out.append(ToolMessage(text, tool_call_id=message.tool_call_id or ""))
        else:
            out.append(AIMessage(text, tool_calls=[_tool_call(index, call) for call in message.tool_calls or ()]))
    return out


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if not isinstance(content, list):
        return content or ""
    return "".join(str(part.get("text") or "") for part in content if part.get("type") == "text")


def _media(index: int, message: _Message, found: Attachments) -> list[dict[str, Any]]:
    """A user's ``image_url {url, detail?}``, ``input_audio {data, format}`` and ``file {file_data, filename} |
    {file_id}`` parts, as content blocks."""
    content = message.content if isinstance(message.content, list) else []
    blocks = []
    for number, part in enumerate(content):
        kind, where = str(part.get("type")), f"messages.{index}.content.{number}"
        if kind == "text":
            continue
        if message.role != "user":
            raise RequestError(400, "invalid_request", f"{where}: only a user's message has {kind} parts")
        value: dict[str, Any] = part[kind] if isinstance(part.get(kind), dict) else {}
        if kind == "image_url" and isinstance(value.get("url"), str):
            blocks.append(found.url(value["url"], where, kind="image"))
        elif kind == "input_audio" and isinstance(value.get("data"), str):
            blocks.append(found.base64(value["data"], _AUDIO.get(str(value.get("format"))), where))
        elif kind == "file" and isinstance(value.get("file_data"), str):
            blocks.append(found.url(value["file_data"], where, value.get("filename"), kind="file"))
        elif kind == "file" and isinstance(value.get("file_id"), str):
            blocks.append(found.file_id(value["file_id"], where, value.get("filename")))
        else:
            raise RequestError(400, "invalid_request", f"{where}: a {kind} part this endpoint does not take")
    return blocks


def _tool_call(index: int, call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    try:
        args = json.loads(function.get("arguments") or "{}")
    except (TypeError, ValueError):
        raise RequestError(400, "invalid_request", f"messages.{index}.tool_calls: arguments must be JSON") from None
    return {
        "name": str(function.get("name") or ""),
        "args": args if isinstance(args, dict) else {},
        "id": call.get("id"),
    }
