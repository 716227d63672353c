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
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr
from werkzeug.datastructures import Headers

from ..errors import RequestError
from ..payloads import to_json
from ..request import ChatRequest, Resume, RunOptions, Verdict, conversation
from ..request.attachments import Attachments, data_url
from ..request.validation import validated
from ..settings import Settings

__all__ = ["approval_id", "read_chat", "to_ui_messages"]


def approval_id(tool_call_id: str) -> str:
    """The id of the approval request this server sends for a call (``tool-approval-request.approvalId``)."""
    return f"approval-{tool_call_id}"


class _Approval(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr | None = None
    approved: StrictBool | None = None
    reason: StrictStr | None = None


class _Part(BaseModel):
    """A part of any type (``text``, ``file``, ``tool-<name>``, ``step-start``, ...): what is read is typed."""

    model_config = ConfigDict(extra="allow")

    type: StrictStr
    text: StrictStr | None = None
    url: StrictStr | None = None  # a file's
    mediaType: StrictStr | None = None
    filename: StrictStr | None = None
    toolName: StrictStr | None = None  # a tool part's
    toolCallId: StrictStr = ""
    state: StrictStr | None = None
    input: Any = None
    output: Any = None
    errorText: StrictStr | None = None
    approval: _Approval | None = None


class _UIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr = ""
    role: Literal["user", "assistant", "system"]
    parts: list[_Part]


class _ChatBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr = ""
    messages: list[_UIMessage]
    trigger: StrictStr = "submit-message"
    messageId: StrictStr | None = None  # the transport's name


def read_chat(body: dict[str, Any], headers: Headers, settings: Settings) -> ChatRequest:
    parsed = validated(_ChatBody, body)
    found = Attachments(settings)
    messages = [m for index, ui in enumerate(parsed.messages) for m in _to_messages(ui, found, f"messages.{index}")]
    last = parsed.messages[-1] if parsed.messages else None
    continued = last is not None and last.role == "assistant"
    reply = (parsed.messageId or last.id) if continued and last is not None else f"msg-{secrets.token_urlsafe(12)}"
    ids = {"chat_id": parsed.id} if parsed.id else {}
    ids["message_id"] = reply
    verdicts = _verdicts(last, f"messages.{len(parsed.messages) - 1}") if continued and last is not None else {}
    resume = Resume(verdicts=verdicts, value=body.get("resume"), has_value="resume" in body)
    return conversation(
        messages,
        body,
        headers,
        settings,
        ids=ids,
        thread_id=parsed.id or None,
        resume=resume if verdicts or resume.has_value else None,
        attachments=found,
        run_options=RunOptions(stream_id=parsed.id or None, answer_again=parsed.trigger == "regenerate-message"),
        state=body.get("state"),
    )


def _verdicts(ui: _UIMessage, where: str) -> dict[str, Verdict]:
    """The decisions of a person on the tool calls of the message (``addToolApprovalResponse``), each answering
    the approval request this server sent for that call, by its id."""
    decided = {}
    for index, part in enumerate(ui.parts):
        approval = part.approval
        if _tool_name(part) and part.state == "approval-responded" and approval is not None:
            if approval.id != approval_id(part.toolCallId):
                detail = f"{where}.parts.{index}.approval.id: not the id of the approval request for {part.toolCallId}"
                raise RequestError(400, "invalid_request", detail)
            decided[part.toolCallId] = Verdict(approval.approved is True, approval.reason)
    return decided


def _to_messages(ui: _UIMessage, found: Attachments, where: str) -> list[BaseMessage]:
    id = ui.id or None
    files = [(index, part) for index, part in enumerate(ui.parts) if part.type == "file"]
    if files and ui.role != "user":
        raise RequestError(400, "invalid_request", f"{where}.parts.{files[0][0]}: only a user's message has files")
    if ui.role != "assistant":
        text = _text(ui.parts)
        if ui.role != "user":
            return [SystemMessage(text, id=id)]
        return [found.message(text, [_file(part, found, f"{where}.parts.{index}") for index, part in files], id)]
    steps: list[list[_Part]] = [[]]
    for part in ui.parts:  # each step is a model's reply, then the results of the tools it called
        if part.type == "step-start":
            steps.append([])
        else:
            steps[-1].append(part)
    messages: list[BaseMessage] = []
    for step in (step for step in steps if step):
        messages += _step_messages(step, f"{ui.id}-{len(messages)}" if messages else id)
    return messages


def _file(part: _Part, found: Attachments, where: str) -> dict[str, Any]:
    """A ``file`` part ``{mediaType, url, filename?}``: ``url`` a data URL (a ``FileList`` read by ``useChat``)
    or a hosted one; ``ai`` 7 may name only the kind (``mediaType: "image"``)."""
    if part.url is None:
        raise RequestError(400, "invalid_request", f"{where}: a file part needs its url")
    kind = part.mediaType if part.mediaType in ("image", "audio", "video") else None
    return found.url(part.url, where, part.filename, mime_type=part.mediaType, kind=kind)


def _step_messages(parts: list[_Part], id: str | None) -> list[BaseMessage]:
    text = _text(parts)
    tools = [part for part in parts if _tool_name(part)]
    if not text and not tools:
        return []
    calls = [
        {"name": _tool_name(p), "args": p.input if isinstance(p.input, dict) else {}, "id": p.toolCallId} for p in tools
    ]
    results: list[BaseMessage] = [
        ToolMessage(_content(p.output if p.state == "output-available" else p.errorText), tool_call_id=p.toolCallId)
        for p in tools
        if p.state in ("output-available", "output-error")
    ]
    return [AIMessage(text, tool_calls=calls, id=id), *results]


def _text(parts: list[_Part]) -> str:
    return "".join(part.text or "" for part in parts if part.type == "text")


def _tool_name(part: _Part) -> str | None:
    if part.type == "dynamic-tool":
        return part.toolName or ""
    return part.type[len("tool-") :] if part.type.startswith("tool-") else None


def _content(value: Any) -> str:
    return value if isinstance(value, str) else to_json(value)


def to_ui_messages(messages: list[dict[str, Any]], interrupts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A thread's messages (plain: :class:`~quart_llmstream.events.MessagesSnapshot`) as ``useChat`` holds them:
    the model's replies up to the next user message are one assistant message, a step each, every tool call a
    part in its final state, as the stream left it — its output once the thread has its result (``output-denied``
    when a person rejected it, ``output-error`` when it failed), ``approval-requested`` while a person's decision is
    pending, else ``input-available`` (the client's to run)."""
    awaiting = {
        action["tool_call_id"]
        for interrupt in interrupts
        for action in interrupt.get("actions", ())
        if action.get("tool_call_id")
    }
    results = {message["tool_call_id"]: message for message in messages if message["role"] == "tool"}
    out: list[dict[str, Any]] = []
    answer: dict[str, Any] | None = None  # the assistant message the model's replies go in
    for message in messages:
        if message["role"] == "tool":
            continue
        if message["role"] != "assistant":
            files = [_file_part(found) for found in message.get("attachments", ())]
            out.append(
                {"id": message["id"], "role": message["role"], "parts": [*files, _text_part(message["content"])]}
            )
            answer = None
            continue
        if answer is None:
            answer = {"id": message["id"], "role": "assistant", "parts": []}
            out.append(answer)
        answer["parts"].append({"type": "step-start"})
        if message["content"]:
            answer["parts"].append(_text_part(message["content"]))
        for call in message.get("tool_calls", ()):
            answer["parts"].append(_tool_part(call, results.get(call["id"]), call["id"] in awaiting))
    return out


def _file_part(found: dict[str, Any]) -> dict[str, Any]:
    """An attachment as ``sendMessage({files})`` made it (the files come before the text)."""
    part = {"type": "file", "mediaType": found["mime_type"] or found["type"], "url": data_url(found)}
    return part | ({"filename": found["filename"]} if "filename" in found else {})


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text, "state": "done"}


def _tool_part(call: dict[str, Any], result: dict[str, Any] | None, awaiting: bool) -> dict[str, Any]:
    """A call as the stream left it: denied (a person rejected it), failed, answered, awaiting approval, or the
    client's to run."""
    part: dict[str, Any] = {"type": f"tool-{call['name']}", "toolCallId": call["id"], "input": call["args"]}
    if result is not None and result.get("decision") == "reject":
        approval = {"id": approval_id(call["id"]), "approved": False}
        if reason := _reason(call["name"], result["content"]):
            approval["reason"] = reason
        return part | {"state": "output-denied", "approval": approval}
    if result is not None and result.get("status") == "error":
        return part | {"state": "output-error", "errorText": result["content"]}
    if result is not None:
        return part | {"state": "output-available", "output": result["content"]}
    if awaiting:
        return part | {"state": "approval-requested", "approval": {"id": approval_id(call["id"])}}
    return part | {"state": "input-available"}


def _reason(tool: str, result: str) -> str | None:
    """The reason a person gave with a rejection (``addToolApprovalResponse``'s ``reason``), read back from the
    result ``HumanInTheLoopMiddleware`` wrote in the tool's place: its text says it after a set opening."""
    opening = f"User rejected the tool call for `{tool}` with reason: "
    return result.removeprefix(opening) if result.startswith(opening) else None
