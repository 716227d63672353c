"""The OpenAI Chat Completions request as a :class:`~quart_llmstream.ChatRequest`.

``messages`` (``system``, ``developer``, ``user`` with its text, ``image_url``, ``input_audio`` and ``file``
parts, ``assistant`` with its ``tool_calls``, ``tool``) are the conversation; one that ends with ``tool``
messages answering the last ``tool_calls`` is a continuation.
``tools`` are the tools the client runs. The thread is the ``X-Thread-Id`` header (the API has no field for
it).
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr
from werkzeug.datastructures import Headers

from ..errors import RequestError
from ..payloads import to_json
from ..request import ChatRequest, conversation
from ..request.attachments import AUDIO_FORMATS, Attachments, data_url
from ..request.chat_request import ToolCallIn
from ..request.client_tools import client_tools
from ..request.validation import validated
from ..settings import Settings

__all__ = ["read_completion_request", "to_openai"]


class _ImageUrl(BaseModel):
    model_config = ConfigDict(extra="allow")

    url: StrictStr


class _InputAudio(BaseModel):
    data: StrictStr
    format: StrictStr


class _File(BaseModel):
    file_data: StrictStr | None = None
    file_id: StrictStr | None = None
    filename: StrictStr | None = None


class _Part(BaseModel):
    """A content part: ``text``, ``image_url``, ``input_audio`` or ``file``; what is read is typed."""

    model_config = ConfigDict(extra="allow")

    type: StrictStr
    text: StrictStr | None = None
    image_url: _ImageUrl | None = None
    input_audio: _InputAudio | None = None
    file: _File | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[_Part] | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: StrictStr | None = None
    id: Any = None  # not OpenAI's: the id of a thread's message read back (``GET /threads/<id>``)


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
    parsed = validated(_Body, body)
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
        id = message.id if isinstance(message.id, str) else None  # a thread's message, read back (not OpenAI's)
        if message.role == "user":
            out.append(found.message(text, parts, id))
        elif message.role in ("system", "developer"):
            out.append(SystemMessage(text, id=id))
        elif message.role == "tool":
            out.append(ToolMessage(text, tool_call_id=message.tool_call_id or "", id=id))
        else:
            calls = [
                call.as_langchain(f"messages.{index}.tool_calls.{i}") for i, call in enumerate(message.tool_calls or ())
            ]
            out.append(AIMessage(text, tool_calls=calls, id=id))
    return out


def _text(content: str | list[_Part] | None) -> str:
    if not isinstance(content, list):
        return content or ""
    return "".join(part.text or "" for part in content if part.type == "text")


def _media(index: int, message: _Message, found: Attachments) -> list[dict[str, Any]]:
    """A user's ``image_url {url, detail?}``, ``input_audio {data, format}`` and ``file {file_data, filename} |
    {file_id}`` parts, as content blocks."""
    content = message.content if isinstance(message.content, list) else []
    blocks = []
    for number, part in enumerate(content):
        kind, where = part.type, f"messages.{index}.content.{number}"
        if kind == "text":
            continue
        if message.role != "user":
            raise RequestError(400, "invalid_request", f"{where}: only a user's message has {kind} parts")
        file = part.file if kind == "file" else None
        if kind == "image_url" and part.image_url is not None:
            blocks.append(found.url(part.image_url.url, where, kind="image"))
        elif kind == "input_audio" and part.input_audio is not None:
            blocks.append(found.base64(part.input_audio.data, AUDIO_FORMATS.get(part.input_audio.format), where))
        elif file is not None and file.file_data is not None:
            blocks.append(found.url(file.file_data, where, file.filename, kind="file"))
        elif file is not None and file.file_id is not None:
            blocks.append(found.file_id(file.file_id, where, file.filename))
        else:
            raise RequestError(400, "invalid_request", f"{where}: a {kind} part this endpoint does not take")
    return blocks


def to_openai(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A thread's messages (plain: :class:`~quart_llmstream.events.MessagesSnapshot`) as chat messages."""
    out = []
    for message in messages:
        shaped = {"id": message["id"], "role": message["role"], "content": message["content"]}
        if "attachments" in message:
            parts = [part for found in message["attachments"] if (part := _part(found)) is not None]
            shaped["content"] = [{"type": "text", "text": message["content"]}, *parts]
        if "tool_calls" in message:
            shaped["tool_calls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": to_json(c["args"])}}
                for c in message["tool_calls"]
            ]
        if "tool_call_id" in message:
            shaped["tool_call_id"] = message["tool_call_id"]
        out.append(shaped)
    return out


def _part(found: dict[str, Any]) -> dict[str, Any] | None:
    """An attachment as the content part it came in: ``image_url``, ``input_audio`` (its bytes) or ``file``; None
    for what chat messages cannot carry (a video, audio by URL)."""
    if found["type"] == "image":
        return {"type": "image_url", "image_url": {"url": data_url(found)}}
    if found["type"] == "file":
        named = {"filename": found["filename"]} if "filename" in found else {}
        return {"type": "file", "file": {"file_data": data_url(found), **named}}
    audio_format = next((name for name, mime_type in AUDIO_FORMATS.items() if mime_type == found["mime_type"]), None)
    if found["type"] == "audio" and "base64" in found and audio_format is not None:
        return {"type": "input_audio", "input_audio": {"data": found["base64"], "format": audio_format}}
    return None
