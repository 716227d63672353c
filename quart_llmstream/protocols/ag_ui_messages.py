"""AG-UI's request: ``RunAgentInput`` ``{threadId, runId, state, messages, tools, context, forwardedProps}``
as a :class:`~quart_llmstream.ChatRequest`.

Messages keep their ids; a user's media parts become content blocks (:mod:`~quart_llmstream.attachments`);
an assistant's ``toolCalls`` become tool calls and ``tool`` messages their results,
so a conversation that ends with the results of tools the client ran (frontend tools) is a continuation.
``threadId`` is the thread, ``runId`` the stream, and ``tools`` the tools the client runs.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, StrictStr
from werkzeug.datastructures import Headers

from ..errors import RequestError
from ..logs.streams import is_stream_id
from ..request import Answer, ChatRequest, Resume, RunOptions, Verdict, conversation
from ..request.attachments import Attachments
from ..request.chat_request import ToolCallIn
from ..request.client_tools import client_tools
from ..request.validation import validated
from ..settings import Settings

__all__ = ["connect_ids", "read_run_input", "to_ag_ui"]

_CANCELLED = "__agui_cancelled__"  # what ag-ui-langgraph resumes a cancelled interrupt with


class _Source(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: StrictStr
    value: StrictStr
    mimeType: StrictStr | None = None


class _Metadata(BaseModel):
    model_config = ConfigDict(extra="allow")

    filename: StrictStr | None = None


class _Part(BaseModel):
    """A content part: ``text``, 1.0's media (``image``, ``audio``, ``video``, ``document``) or the older
    ``binary``; what is read is typed."""

    model_config = ConfigDict(extra="allow")

    type: StrictStr
    text: StrictStr | None = None
    source: _Source | None = None  # 1.0's media
    metadata: _Metadata | None = None
    mimeType: StrictStr | None = None  # the older binary
    data: StrictStr | None = None
    url: StrictStr | None = None
    filename: StrictStr | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr = ""
    role: Literal["user", "assistant", "system", "developer", "tool"]
    content: StrictStr | list[_Part] | None = None
    toolCalls: list[ToolCallIn] | None = None
    toolCallId: StrictStr | None = None


class _ResumeEntry(BaseModel):
    interruptId: StrictStr
    status: Literal["resolved", "cancelled"]
    payload: Any = None


class _RunAgentInput(BaseModel):
    model_config = ConfigDict(extra="allow")

    threadId: StrictStr
    runId: StrictStr
    messages: list[_Message]
    tools: list[Any] | None = None
    resume: list[_ResumeEntry] | None = None
    forwardedProps: dict[str, Any] | None = None


def read_run_input(body: dict[str, Any], headers: Headers, settings: Settings) -> ChatRequest:
    found = Attachments(settings)
    parsed = validated(_RunAgentInput, body)
    messages = [_to_message(message, found, f"messages.{i}") for i, message in enumerate(parsed.messages)]
    run_id = _run_id(parsed.runId)
    ids = {"thread_id": parsed.threadId, "run_id": run_id}
    tools = client_tools(parsed.tools, settings)
    resume = _resume(parsed)
    thread_id = parsed.threadId
    return conversation(
        messages,
        body,
        headers,
        settings,
        ids=ids,
        thread_id=thread_id,
        tools=tools,
        resume=resume,
        attachments=found,
        state=body.get("state"),
        run_options=RunOptions(stream_id=run_id),
    )


class _Connect(BaseModel):
    model_config = ConfigDict(extra="allow")

    threadId: StrictStr
    runId: StrictStr = ""


def connect_ids(body: dict[str, Any]) -> dict[str, str]:
    """The ids of a ``connect`` request (a ``RunAgentInput``, of which only the thread and run matter)."""
    parsed = validated(_Connect, body)
    run_id = _run_id(parsed.runId) if parsed.runId else secrets.token_hex(16)  # none: one of its own
    return {"thread_id": parsed.threadId, "run_id": run_id}


def _run_id(run_id: str) -> str:
    """A client's ``runId``: its stream's id, and the id feedback names its answer by."""
    if not is_stream_id(run_id):
        raise RequestError(400, "invalid_request", "runId: 1 to 128 characters of A-Z, a-z, 0-9, _ and -")
    return run_id


def _resume(parsed: _RunAgentInput) -> Resume | None:
    """``resume: [{interruptId, status, payload}]``, or CopilotKit's older ``forwardedProps.command.resume``."""
    if parsed.resume:
        return Resume(answers={entry.interruptId: _answer(entry) for entry in parsed.resume})
    command = (parsed.forwardedProps or {}).get("command")
    if isinstance(command, dict) and command.get("resume") is not None:
        return Resume(value=command["resume"], has_value=True)
    return None


def _answer(entry: _ResumeEntry) -> Answer:
    """An answer: for calls awaiting approval ``cancelled`` rejects them and a payload ``true``, ``false`` or
    ``{"approved", "message"?}`` decides them all; for any other interrupt the payload is its value, and
    ``cancelled`` resumes it with what ag-ui-langgraph resumes a cancelled one with."""
    payload = entry.payload
    if entry.status == "cancelled":
        return Answer({_CANCELLED: True, "interrupt_id": entry.interruptId}, Verdict(False))
    if isinstance(payload, bool):
        return Answer(payload, Verdict(payload))
    if isinstance(payload, dict) and "approved" in payload:
        return Answer(payload, Verdict(payload["approved"], payload.get("message")))
    return Answer(payload)


def _to_message(message: _Message, found: Attachments, where: str) -> BaseMessage:
    content, id = message.content, message.id or None
    text = content if isinstance(content, str) else "".join(p.text or "" for p in content or () if p.type == "text")
    parts = [(i, part) for i, part in enumerate(content) if part.type != "text"] if isinstance(content, list) else []
    if parts and message.role != "user":
        raise RequestError(400, "invalid_request", f"{where}.content.{parts[0][0]}: only a user's message has media")
    if message.role == "user":
        return found.message(text, [_media(part, found, f"{where}.content.{i}") for i, part in parts], id)
    if message.role in ("system", "developer"):
        return SystemMessage(text, id=id)
    if message.role == "tool":
        if not message.toolCallId:
            raise RequestError(400, "invalid_request", f"{where}: a tool message needs its toolCallId")
        return ToolMessage(text, tool_call_id=message.toolCallId, id=id)
    calls = [call.as_langchain(f"{where}.toolCalls.{i}") for i, call in enumerate(message.toolCalls or ())]
    return AIMessage(text, tool_calls=calls, id=id)


def _media(part: _Part, found: Attachments, where: str) -> dict[str, Any]:
    """1.0's ``{type: image | audio | video | document, source: {type: data | url | file, value, mimeType?}}``
    (a filename in ``metadata.filename``), or the older ``{type: binary, mimeType, data? | url?, filename?}``."""
    kind = {"image": "image", "audio": "audio", "video": "video", "document": "file"}.get(part.type)
    if part.type == "binary":
        if part.data is not None:
            return found.base64(part.data, part.mimeType, where, part.filename)
        if part.url is not None:
            return found.url(part.url, where, part.filename, mime_type=part.mimeType)
        raise RequestError(400, "invalid_request", f"{where}: a binary part needs its data or url")
    source = part.source
    if kind is None or source is None:
        raise RequestError(400, "invalid_request", f"{where}: an unknown part ({part.type!r})")
    filename = part.metadata.filename if part.metadata else None
    if source.type == "data":
        return found.base64(source.value, source.mimeType or (kind if kind != "file" else None), where, filename)
    if source.type == "url":
        return found.url(source.value, where, filename, mime_type=source.mimeType, kind=kind)
    if source.type == "file":
        return found.file_id(source.value, where, filename)
    raise RequestError(400, "invalid_request", f"{where}: an unknown source ({source.type!r})")


def to_ag_ui(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A thread's messages (:class:`~quart_llmstream.events.MessagesSnapshot`) as AG-UI's."""
    out = []
    for message in messages:
        shaped = {"id": message["id"], "role": message["role"], "content": message["content"]}
        if "attachments" in message:
            text = [{"type": "text", "text": message["content"]}] if message["content"] else []
            shaped["content"] = [*text, *map(_media_part, message["attachments"])]
        if "tool_calls" in message:
            shaped["toolCalls"] = [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["args"])}}
                for c in message["tool_calls"]
            ]
        if "tool_call_id" in message:
            shaped["toolCallId"] = message["tool_call_id"]
        out.append(shaped)
    return out


def _media_part(found: dict[str, Any]) -> dict[str, Any]:
    """An attachment as 1.0's media part: its bytes as a ``data`` source, or its ``url``."""
    kind = "document" if found["type"] == "file" else found["type"]
    if "base64" in found:
        source = {"type": "data", "value": found["base64"], "mimeType": found["mime_type"]}
    else:
        source = {"type": "url", "value": found["url"]} | (
            {"mimeType": found["mime_type"]} if found["mime_type"] else {}
        )
    part = {"type": kind, "source": source}
    return part | ({"metadata": {"filename": found["filename"]}} if "filename" in found else {})
