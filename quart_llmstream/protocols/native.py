"""The native protocol: the format of the hand-written pattern this library replaces.

Request: ``{"question": str, "chat_history": [{"role", "content", "id"?} | [role, content], ...], "id"?: str,
"thread_id"?: str, "tools"?: [...], "attachments"?: [{"url", "mime_type"?, "filename"?}]}`` (user history
items take ``attachments`` too) (``id`` names the stream, for resume; ``thread_id`` the conversation).
History items may be an assistant's ``{"role": "assistant", "content", "tool_calls": [{"id", "name", "args"}]}``
and a tool result ``{"role": "tool", "tool_call_id", "content"}``; ``question`` may be left out when the
history ends with tool results (a continuation), or when the body ``resume``s the interrupts the thread
waits on (an ``interrupt`` named event ``{"thread_id", "interrupts": [{"id", "value", "actions"?}]}`` said
which).
Tokens are unnamed ``data: {"token": "..."}`` messages; an error is ``data: {"error": "...", "code":
"..."}``; the last frame is ``data: [DONE]``. Every other kind of event goes out as a *named* event
(``event: <kind>``), which a client that handles only unnamed messages ignores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, StrictStr, field_validator, model_validator
from werkzeug.datastructures import Headers

from .. import events
from ..errors import RequestError
from ..payloads import to_json
from ..request import ChatRequest, Resume, RunOptions, conversation
from ..request.attachments import Attachments, data_url
from ..request.client_tools import client_tools
from ..request.validation import validated
from ..settings import Settings
from .base import Encoder, Protocol
from .sse import encode_event

__all__ = ["NativeProtocol"]

_ROLES = {"human": "user", "ai": "assistant"}
_DONE = encode_event("[DONE]")


class _ToolCall(BaseModel):
    id: StrictStr
    name: StrictStr
    args: dict[str, Any] = {}


class _Attachment(BaseModel):
    url: StrictStr  # a data: URL, or an https URL (passed to the model's provider, never fetched here)
    mime_type: StrictStr | None = None
    filename: StrictStr | None = None


class _HistoryItem(BaseModel):
    role: Literal["user", "assistant", "system", "tool", "human", "ai"]
    content: StrictStr = ""
    id: StrictStr | None = None
    attachments: list[_Attachment] = []  # a user's
    tool_calls: list[_ToolCall] = []  # an assistant's
    tool_call_id: StrictStr | None = None  # a tool result's: the call it answers

    @model_validator(mode="before")
    @classmethod
    def _accept_pairs(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) != 2:
                raise ValueError("a history pair must be [role, content]")
            return {"role": value[0], "content": value[1]}
        return value

    @model_validator(mode="after")
    def _tool_results_name_their_call(self) -> _HistoryItem:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool result needs the tool_call_id of the call it answers")
        return self

    def message(self, found: Attachments, where: str) -> BaseMessage:
        role, id = _ROLES.get(self.role, self.role), self.id
        if self.attachments and role != "user":
            raise RequestError(400, "invalid_request", f"{where}.attachments: only a user's message has attachments")
        if role == "user":
            return found.message(self.content, _attached(self.attachments, found, f"{where}.attachments"), id)
        if role == "system":
            return SystemMessage(self.content, id=id)
        if role == "tool":
            return ToolMessage(self.content, tool_call_id=self.tool_call_id or "", id=id)
        calls = [{"id": call.id, "name": call.name, "args": call.args} for call in self.tool_calls]
        return AIMessage(self.content, tool_calls=calls, id=id)


class _ChatBody(BaseModel):
    question: StrictStr | None = None  # left out when the history ends with tool results
    chat_history: list[_HistoryItem] = []
    id: StrictStr | None = None  # the stream's id, for resume
    thread_id: StrictStr | None = None
    tools: list[Any] | None = None
    resume: Any = None  # the answer to the interrupts the thread waits on
    attachments: list[_Attachment] = []  # the question's

    @field_validator("question")
    @classmethod
    def _question_has_text(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value


class NativeProtocol(Protocol):
    name = "native"
    parts = ("tool_calls", "attachments")
    conversation = ("chat_history", 0)  # the question is apart

    def read(
        self, body: dict[str, Any], headers: Headers, settings: Settings, path: Mapping[str, str] | None = None
    ) -> ChatRequest:
        parsed = validated(_ChatBody, body)
        found = Attachments(settings)
        messages = [item.message(found, f"chat_history.{i}") for i, item in enumerate(parsed.chat_history)]
        resume = Resume(value=parsed.resume, has_value=True) if "resume" in body else None
        if parsed.question is not None:
            messages.append(found.message(parsed.question, _attached(parsed.attachments, found, "attachments")))
        elif resume is None and not (messages and isinstance(messages[-1], ToolMessage)):
            detail = "question: required unless the history ends with tool results, or the body resumes"
            raise RequestError(400, "invalid_request", detail)
        return conversation(
            messages,
            body,
            headers,
            settings,
            thread_id=parsed.thread_id,
            tools=client_tools(parsed.tools, settings),
            resume=resume,
            attachments=found,
            state=body.get("state"),
            run_options=RunOptions(stream_id=parsed.id),
            what="chat_history",
        )

    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        return NativeEncoder(events)

    def thread_messages(self, messages: list[dict[str, Any]], interrupts: list[dict[str, Any]]) -> list[Any]:
        """History items, a user's ``attachments`` as the body takes them (``{url, mime_type, filename?}``)."""
        return [_with_urls(message) if "attachments" in message else message for message in messages]


def _with_urls(message: dict[str, Any]) -> dict[str, Any]:
    attachments = [
        {"url": data_url(found), "mime_type": found["mime_type"]}
        | ({"filename": found["filename"]} if "filename" in found else {})
        for found in message["attachments"]
    ]
    return message | {"attachments": attachments}


def _attached(attachments: list[_Attachment], found: Attachments, where: str) -> list[dict[str, Any]]:
    return [
        found.url(item.url, f"{where}.{index}", item.filename, mime_type=item.mime_type)
        for index, item in enumerate(attachments)
    ]


class NativeEncoder(Encoder):
    """Named events as their kinds; a call left to the client is sent as ``tool_call`` and ``tool_args`` unless
    they streamed already."""

    def __init__(self, events: frozenset[str]) -> None:
        self._start, self._end = "start" in events, "end" in events
        self._announced: set[str | None] = set()  # ids of the calls a model streamed
        self._pending = 0

    def otherwise(self, event: events.Event) -> bytes:
        """Every other event is a named event of its kind."""
        return encode_event(to_json(event.data), event=event.kind)

    on_text_start = on_text_end = on_reasoning_start = on_reasoning_end = Encoder.otherwise  # no frame
    on_messages_snapshot = on_state_predicted = Encoder.otherwise

    def on_text_delta(self, event: events.TextDelta) -> bytes:
        """A token: the unnamed message the hand-written pattern sends."""
        return encode_event(to_json({"token": event.text}))

    def on_tool_call_started(self, event: events.ToolCallStarted) -> bytes:
        self._announced.add(event.id)
        return self.otherwise(event)

    def on_tool_call_pending(self, event: events.ToolCallPending) -> bytes:
        if event.id in self._announced:
            return b""
        index, self._pending = self._pending, self._pending + 1
        return self.otherwise(events.ToolCallStarted(index, event.id, event.name)) + self.otherwise(
            events.ToolCallArgs(index, event.id, to_json(event.args))
        )

    def on_tool_call_decided(self, event: events.ToolCallDecided) -> bytes:
        """A resumed run starts with what became of each call that waited, as the interrupt was sent: whatever
        ``events`` selects (a rejected call never runs: no ``tool_end`` would settle it on the client's page)."""
        return self.otherwise(event)

    def on_run_started(self, event: events.RunStarted) -> bytes:
        return self.otherwise(event) if self._start else b""

    def on_run_ended(self, event: events.RunEnded) -> bytes:
        frames = encode_event(to_json({"error": event.message, "code": event.error})) if event.error else b""
        if self._end:
            frames += self.otherwise(event)
        return frames + _DONE
