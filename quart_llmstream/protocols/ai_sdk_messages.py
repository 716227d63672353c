"""The AI SDK's request: the body ``DefaultChatTransport`` POSTs, ``{id, messages: UIMessage[], trigger,
messageId, ...extra body}``, as a :class:`~quart_llmstream.ChatRequest`.

Each UIMessage becomes LangChain messages under its own id: a user's text and files (``file`` parts, as
content blocks: :mod:`~quart_llmstream.attachments`), and an assistant's steps (each a model's reply, then
the results of the tools it called, from its tool parts). The chat ``id`` is the thread.
A conversation whose last assistant message holds the results of tools the client ran (``addToolOutput``)
is a continuation: its reply is appended to that message, so it keeps that message's id. Tool parts of that
message in ``approval-responded`` (``addToolApprovalResponse``) resume the thread with those decisions; a
``resume`` field in the body answers any other interrupt (a ``data-interrupt`` part said which).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError
from werkzeug.datastructures import Headers

from ..attachments import Attachments
from ..chat_request import ChatRequest, Resume, conversation, describe_validation_error
from ..errors import RequestError
from ..payloads import to_json
from ..settings import Settings

__all__ = ["read_chat"]


class _UIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr = ""
    role: Literal["user", "assistant", "system"]
    parts: list[dict[str, Any]]


class _ChatBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr = ""
    messages: list[_UIMessage]
    trigger: StrictStr = "submit-message"
    messageId: StrictStr | None = None  # the transport's name


def read_chat(body: dict[str, Any], headers: Headers, settings: Settings) -> ChatRequest:
    try:
        parsed = _ChatBody.model_validate(body)
    except ValidationError as exc:
        raise RequestError(400, "invalid_request", describe_validation_error(exc)) from None
    found = Attachments(settings)
    messages = [m for index, ui in enumerate(parsed.messages) for m in _to_messages(ui, found, f"messages.{index}")]
    last = parsed.messages[-1] if parsed.messages else None
    continued = last is not None and last.role == "assistant"
    reply = (parsed.messageId or last.id) if continued and last is not None else f"msg-{secrets.token_urlsafe(12)}"
    ids = {"chat_id": parsed.id, "stream_id": parsed.id} if parsed.id else {}
    ids["message_id"] = reply
    approvals = _approvals(last) if continued and last is not None else {}
    resume = Resume(body.get("resume"), has_value="resume" in body, approvals=approvals)
    resumes = approvals or resume.has_value
    thread_id = parsed.id or None
    resume_or_none = resume if resumes else None
    return conversation(
        messages,
        body,
        headers,
        settings,
        ids=ids,
        thread_id=thread_id,
        resume=resume_or_none,
        attachments=found,
        state=body.get("state"),
    )


def _approvals(ui: _UIMessage) -> dict[str, tuple[bool, str | None]]:
    """The decisions of a person on the tool calls of the message (``addToolApprovalResponse``)."""
    decided = {}
    for part in ui.parts:
        approval = part.get("approval")
        if _tool_name(part) and part.get("state") == "approval-responded" and isinstance(approval, dict):
            decided[str(part.get("toolCallId") or "")] = (approval.get("approved") is True, approval.get("reason"))
    return decided


def _to_messages(ui: _UIMessage, found: Attachments, where: str) -> list[BaseMessage]:
    id = ui.id or None
    files = [(index, part) for index, part in enumerate(ui.parts) if part.get("type") == "file"]
    if files and ui.role != "user":
        raise RequestError(400, "invalid_request", f"{where}.parts.{files[0][0]}: only a user's message has files")
    if ui.role != "assistant":
        text = "".join(part.get("text") or "" for part in ui.parts if part.get("type") == "text")
        if ui.role != "user":
            return [SystemMessage(text, id=id)]
        return [found.message(text, [_file(part, found, f"{where}.parts.{index}") for index, part in files], id)]
    steps: list[list[Mapping[str, Any]]] = [[]]
    for part in ui.parts:  # each step is a model's reply, then the results of the tools it called
        if part.get("type") == "step-start":
            steps.append([])
        else:
            steps[-1].append(part)
    messages: list[BaseMessage] = []
    for step in (step for step in steps if step):
        messages += _step_messages(step, f"{ui.id}-{len(messages)}" if messages else id)
    return messages


def _file(part: Mapping[str, Any], found: Attachments, where: str) -> dict[str, Any]:
    """A ``file`` part ``{mediaType, url, filename?}``: ``url`` a data URL (a ``FileList`` read by ``useChat``)
    or a hosted one; ``ai`` 7 may name only the kind (``mediaType: "image"``)."""
    url, media_type, filename = part.get("url"), part.get("mediaType"), part.get("filename")
    if not isinstance(url, str):
        raise RequestError(400, "invalid_request", f"{where}: a file part needs its url")
    kind = media_type if media_type in ("image", "audio", "video") else None
    return found.url(url, where, filename if isinstance(filename, str) else None, mime_type=media_type, kind=kind)


def _step_messages(parts: list[Mapping[str, Any]], id: str | None) -> list[BaseMessage]:
    text = "".join(part.get("text") or "" for part in parts if part.get("type") == "text")
    tools = [part for part in parts if _tool_name(part)]
    if not text and not tools:
        return []
    calls = [{"name": _tool_name(p), "args": p.get("input") or {}, "id": p.get("toolCallId") or ""} for p in tools]
    results: list[BaseMessage] = [
        ToolMessage(_content(p.get("output") if "output" in p else p.get("errorText")), tool_call_id=call["id"])
        for p, call in zip(tools, calls, strict=True)
        if p.get("state") in ("output-available", "output-error")
    ]
    return [AIMessage(text, tool_calls=calls, id=id), *results]


def _tool_name(part: Mapping[str, Any]) -> str | None:
    kind = str(part.get("type") or "")
    if kind == "dynamic-tool":
        return str(part.get("toolName") or "")
    return kind[len("tool-") :] if kind.startswith("tool-") else None


def _content(value: Any) -> str:
    return value if isinstance(value, str) else to_json(value)
