"""The OpenAI Chat Completions request as a :class:`~quart_llmstream.ChatRequest`.

``messages`` (``system``, ``developer``, ``user``, ``assistant`` with its ``tool_calls``, ``tool``) are the
conversation; one that ends with ``tool`` messages answering the last ``tool_calls`` is a continuation.
``tools`` are the tools the client runs. The thread is the ``X-Thread-Id`` header (the API has no field for
it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError
from werkzeug.datastructures import Headers

from ..chat_request import ChatRequest, conversation, describe_validation_error
from ..client_tools import client_tools
from ..errors import RequestError
from ..settings import Settings

__all__ = ["read_completion_request"]


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
    messages = _to_messages(parsed.messages)
    ids = {"model": parsed.model}
    if parsed.stream:
        ids["stream"] = "usage" if parsed.stream_options and parsed.stream_options.include_usage else "yes"
    tools = client_tools(parsed.tools, settings)
    thread_id = headers.get("X-Thread-Id") or None
    return conversation(messages, body, headers, settings, ids=ids, thread_id=thread_id, tools=tools)


def _to_messages(messages: list[_Message]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for index, message in enumerate(messages):
        text = _text(index, message.content)
        if message.role == "user":
            out.append(HumanMessage(text))
        elif message.role in ("system", "developer"):
            out.append(SystemMessage(text))
        elif message.role == "tool":
            out.append(ToolMessage(text, tool_call_id=message.tool_call_id or ""))
        else:
            out.append(AIMessage(text, tool_calls=[_tool_call(index, call) for call in message.tool_calls or ()]))
    return out


def _text(index: int, content: str | list[dict[str, Any]] | None) -> str:
    if not isinstance(content, list):
        return content or ""
    others = sorted({str(part.get("type")) for part in content if part.get("type") != "text"})
    if others:
        detail = f"messages.{index}.content: only text parts are supported, not {', '.join(others)}"
        raise RequestError(400, "invalid_request", detail)
    return "".join(str(part.get("text") or "") for part in content)


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
