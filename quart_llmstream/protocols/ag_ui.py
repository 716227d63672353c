"""AG-UI (CopilotKit and other agent front ends; npm ``@ag-ui/client``'s ``HttpAgent``, protocol 1.0).

Request: ``RunAgentInput`` ``{threadId, runId, state, messages, tools, context, forwardedProps}``; the
last user message is the question, the messages before it the history.

Response: one ``data: <event JSON>`` frame per event: ``RUN_STARTED`` first; text messages, tool calls
and their results, reasoning and ``CUSTOM`` events; ``RUN_FINISHED`` last, or ``RUN_ERROR``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError
from werkzeug.datastructures import Headers

from ..chat_request import ChatRequest, describe_validation_error, from_messages
from ..errors import RequestError
from ..events import (
    Custom,
    Event,
    ReasoningDelta,
    ReasoningEnd,
    ReasoningStart,
    RunEnded,
    RunStarted,
    TextDelta,
    TextEnd,
    TextStart,
    ToolCallArgs,
    ToolCallStarted,
    ToolEnded,
    ToolFailed,
    ToolStarted,
)
from ..payloads import to_json
from ..settings import Settings
from ..sse import encode_event
from .base import Encoder, Protocol
from .tool_calls import Call, ToolCalls

__all__ = ["AgUiProtocol"]


class _FunctionCall(BaseModel):
    name: StrictStr
    arguments: StrictStr


class _ToolCall(BaseModel):
    id: StrictStr
    function: _FunctionCall


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: StrictStr = ""
    role: Literal["user", "assistant", "system", "developer", "tool"]
    content: StrictStr | list[dict[str, Any]] | None = None
    toolCalls: list[_ToolCall] | None = None
    toolCallId: StrictStr | None = None


class _RunAgentInput(BaseModel):
    model_config = ConfigDict(extra="allow")

    threadId: StrictStr
    runId: StrictStr
    messages: list[_Message]


class AgUiProtocol(Protocol):
    name = "ag-ui"

    def read(self, body: dict[str, Any], headers: Headers, settings: Settings) -> ChatRequest:
        try:
            parsed = _RunAgentInput.model_validate(body)
            messages = [_to_message(message) for message in parsed.messages]
        except (ValidationError, ValueError) as exc:
            detail = describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
            raise RequestError(400, "invalid_request", detail) from None
        ids = {"thread_id": parsed.threadId, "run_id": parsed.runId, "stream_id": parsed.runId}
        return from_messages(messages, body, headers, settings, ids)

    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        return AgUiEncoder(stream_id, ids.get("thread_id", stream_id), ids.get("run_id", stream_id))


def _to_message(message: _Message) -> BaseMessage:
    content = message.content
    text = content if isinstance(content, str) else "".join(p.get("text") or "" for p in content or ())
    if message.role == "user":
        return HumanMessage(text)
    if message.role in ("system", "developer"):
        return SystemMessage(text)
    if message.role == "tool":
        if not message.toolCallId:
            raise ValueError("messages: a tool message needs its toolCallId")
        return ToolMessage(text, tool_call_id=message.toolCallId)
    calls = [
        {"name": call.function.name, "args": _arguments(call.function.arguments), "id": call.id}
        for call in message.toolCalls or ()
    ]
    return AIMessage(text, tool_calls=calls)


def _arguments(arguments: str) -> dict[str, Any]:
    try:
        parsed = json.loads(arguments) if arguments else {}
    except ValueError:
        raise ValueError("messages: a tool call's arguments must be a JSON object") from None
    if not isinstance(parsed, dict):
        raise ValueError("messages: a tool call's arguments must be a JSON object")
    return parsed


def _event(**fields: Any) -> bytes:
    return encode_event(to_json(fields))


class AgUiEncoder(Encoder):
    """Each text block is an assistant message; tool calls hang on the assistant message of their step;
    a call's arguments end (``TOOL_CALL_END``) when the model moves on."""

    def __init__(self, stream_id: str, thread_id: str, run_id: str) -> None:
        self._prefix = f"msg-{stream_id}-"
        self._thread_id, self._run_id = thread_id, run_id
        self._messages = 0
        self._message_id = ""  # the text or reasoning message being written
        self._step_message: str | None = None  # the assistant message this step's tool calls belong to
        self._unended: list[Call] = []  # calls whose arguments may still stream
        self._calls = ToolCalls(stream_id)
        self.encoders = {
            RunStarted: lambda _: b"",
            TextStart: self._text_start,
            TextDelta: self._text_delta,
            TextEnd: lambda _: _event(type="TEXT_MESSAGE_END", messageId=self._message_id),
            ReasoningStart: self._reasoning_start,
            ReasoningDelta: self._reasoning_delta,
            ReasoningEnd: self._reasoning_end,
            ToolCallStarted: self._tool_call_started,
            ToolCallArgs: self._tool_call_args,
            ToolStarted: self._tool_started,
            ToolEnded: self._tool_ended,
            ToolFailed: self._tool_failed,
            Custom: self._custom,
            RunEnded: self._run_ended,
        }

    def opening(self) -> bytes:
        return _event(type="RUN_STARTED", threadId=self._thread_id, runId=self._run_id)

    def _new_message(self) -> str:
        self._messages += 1
        self._message_id = f"{self._prefix}{self._messages}"
        return self._message_id

    def _end_calls(self) -> bytes:
        """``TOOL_CALL_END`` for the calls whose arguments are complete: the model has moved on."""
        frames = b"".join(_event(type="TOOL_CALL_END", toolCallId=call.id) for call in self._unended)
        self._unended.clear()
        return frames

    def _text_start(self, event: Event) -> bytes:
        self._step_message = message_id = self._new_message()
        return self._end_calls() + _event(type="TEXT_MESSAGE_START", messageId=message_id, role="assistant")

    def _text_delta(self, event: TextDelta) -> bytes:
        return encode_event(
            to_json({"type": "TEXT_MESSAGE_CONTENT", "messageId": self._message_id, "delta": event.text})
        )

    def _reasoning_start(self, event: Event) -> bytes:
        message_id = self._new_message()
        return (
            self._end_calls()
            + _event(type="REASONING_START", messageId=message_id)
            + _event(type="REASONING_MESSAGE_START", messageId=message_id, role="reasoning")
        )

    def _reasoning_delta(self, event: ReasoningDelta) -> bytes:
        return _event(type="REASONING_MESSAGE_CONTENT", messageId=self._message_id, delta=event.text)

    def _reasoning_end(self, event: Event) -> bytes:
        message_id = self._message_id
        return _event(type="REASONING_MESSAGE_END", messageId=message_id) + _event(
            type="REASONING_END", messageId=message_id
        )

    def _tool_call_started(self, event: ToolCallStarted) -> bytes:
        call = self._calls.started(event)
        self._unended.append(call)
        parent = self._step_message or self._new_message()
        self._step_message = parent
        return _event(type="TOOL_CALL_START", toolCallId=call.id, toolCallName=call.name, parentMessageId=parent)

    def _tool_call_args(self, event: ToolCallArgs) -> bytes:
        call = self._calls.args(event)
        return _event(type="TOOL_CALL_ARGS", toolCallId=call.id, delta=event.delta)

    def _tool_started(self, event: ToolStarted) -> bytes:
        frames = self._end_calls()
        call, announced = self._calls.tool_started(event)
        if announced:
            return frames
        parent = self._step_message or self._new_message()
        self._step_message = parent
        return (
            frames
            + _event(type="TOOL_CALL_START", toolCallId=call.id, toolCallName=call.name, parentMessageId=parent)
            + _event(type="TOOL_CALL_ARGS", toolCallId=call.id, delta=to_json(call.input))
            + _event(type="TOOL_CALL_END", toolCallId=call.id)
        )

    def _tool_result(self, call: Call, content: Any) -> bytes:
        self._step_message = None  # the model's next words are a new assistant message
        text = content if isinstance(content, str) else to_json(content)
        message_id = self._new_message()
        return _event(type="TOOL_CALL_RESULT", messageId=message_id, toolCallId=call.id, content=text, role="tool")

    def _tool_ended(self, event: ToolEnded) -> bytes:
        return self._end_calls() + self._tool_result(self._calls.tool_ended(event.run_id, event.call_id), event.output)

    def _tool_failed(self, event: ToolFailed) -> bytes:
        return self._end_calls() + self._tool_result(self._calls.tool_ended(event.run_id, event.call_id), event.error)

    def _custom(self, event: Custom) -> bytes:
        return _event(type="CUSTOM", name=event.name, value=event.value)

    def _run_ended(self, event: RunEnded) -> bytes:
        frames = self._end_calls()
        if event.error:
            return frames + _event(type="RUN_ERROR", message=event.message, code=event.error)
        return frames + _event(type="RUN_FINISHED", threadId=self._thread_id, runId=self._run_id)
