"""The Vercel AI SDK's UI message stream (``useChat`` with ``DefaultChatTransport``, npm ``ai``).

Request, as the transport POSTs it: ``{id, messages: UIMessage[], trigger, messageId, ...extra body}``, read
by :mod:`.ai_sdk_messages`.

Response: ``data: <chunk JSON>`` frames with header ``x-vercel-ai-ui-message-stream: v1``: ``start``,
``start-step``, text and reasoning blocks, tool input and output, ``data-<name>`` for custom events,
``finish-step``, ``finish``, an ``error`` chunk for a failed run, then ``data: [DONE]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from werkzeug.datastructures import Headers

from ..chat_request import ChatRequest
from ..events import (
    Custom,
    Event,
    Interrupted,
    MessagesSnapshot,
    ReasoningDelta,
    ReasoningEnd,
    ReasoningStart,
    RunEnded,
    RunStarted,
    StateChanged,
    StatePredicted,
    TextDelta,
    TextEnd,
    TextStart,
    ToolCallArgs,
    ToolCallDecided,
    ToolCallPending,
    ToolCallStarted,
    ToolEnded,
    ToolFailed,
    ToolStarted,
)
from ..payloads import to_json
from ..settings import Settings
from ..sse import encode_event
from .ai_sdk_messages import approval_id, read_chat
from .base import SSE_HEADERS, Encoder, Protocol
from .tool_calls import ToolCalls, awaiting_approval

__all__ = ["AiSdkProtocol"]

_DONE = encode_event("[DONE]")
_FINISH_REASONS = {"stop": "stop", "tool_calls": "tool-calls", "length": "length", "content_filter": "content-filter"}


class AiSdkProtocol(Protocol):
    name = "ai-sdk"
    headers: ClassVar[Mapping[str, str]] = {**SSE_HEADERS, "x-vercel-ai-ui-message-stream": "v1"}
    replays_finished = False  # useChat({resume}) asks on every page load: a finished answer it has already

    def read(self, body: dict[str, Any], headers: Headers, settings: Settings) -> ChatRequest:
        return read_chat(body, headers, settings)

    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        return AiSdkEncoder(stream_id, ids.get("message_id") or f"msg-{stream_id}")


def _chunk(**fields: Any) -> bytes:
    return encode_event(to_json(fields))


class AiSdkEncoder(Encoder):
    """Numbers the text and reasoning blocks, and keeps tool calls apart by their call id; a model's
    run between tool results is a step."""

    def __init__(self, stream_id: str, message_id: str) -> None:
        self._message_id = message_id
        self._blocks = 0
        self._step_open = True
        self._approvals = 0  # tool calls awaiting a person's approval
        self._calls = ToolCalls(stream_id)
        self.encoders = {
            RunStarted: lambda _: b"",
            TextStart: self._block_start,
            TextDelta: self._text_delta,
            TextEnd: self._block_end,
            ReasoningStart: self._block_start,
            ReasoningDelta: self._reasoning_delta,
            ReasoningEnd: self._block_end,
            ToolCallStarted: self._tool_call_started,
            ToolCallArgs: self._tool_call_args,
            ToolStarted: self._tool_started,
            ToolEnded: self._tool_ended,
            ToolFailed: self._tool_failed,
            ToolCallPending: self._tool_pending,
            Interrupted: self._interrupted,
            ToolCallDecided: self._tool_decided,
            MessagesSnapshot: lambda _: b"",
            StateChanged: lambda event: _chunk(type="data-state", id="state", data=event.values),  # one part
            StatePredicted: lambda _: b"",
            Custom: self._custom,
            RunEnded: self._run_ended,
        }

    def opening(self) -> bytes:
        return _chunk(type="start", messageId=self._message_id) + _chunk(type="start-step")

    def _step(self) -> bytes:
        """A ``start-step`` when the model speaks again after a tool result."""
        if self._step_open:
            return b""
        self._step_open = True
        return _chunk(type="start-step")

    def _block_start(self, event: Event) -> bytes:
        self._blocks += 1
        kind = "text" if type(event) is TextStart else "reasoning"
        return self._step() + _chunk(type=f"{kind}-start", id=f"{kind}-{self._blocks}")

    def _block_end(self, event: Event) -> bytes:
        kind = "text" if type(event) is TextEnd else "reasoning"
        return _chunk(type=f"{kind}-end", id=f"{kind}-{self._blocks}")

    def _text_delta(self, event: TextDelta) -> bytes:
        return encode_event(to_json({"type": "text-delta", "id": f"text-{self._blocks}", "delta": event.text}))

    def _reasoning_delta(self, event: ReasoningDelta) -> bytes:
        return _chunk(type="reasoning-delta", id=f"reasoning-{self._blocks}", delta=event.text)

    def _tool_call_started(self, event: ToolCallStarted) -> bytes:
        call = self._calls.started(event)
        return self._step() + _chunk(type="tool-input-start", toolCallId=call.id, toolName=call.name)

    def _tool_call_args(self, event: ToolCallArgs) -> bytes:
        call = self._calls.args(event)
        return _chunk(type="tool-input-delta", toolCallId=call.id, inputTextDelta=event.delta)

    def _tool_started(self, event: ToolStarted) -> bytes:
        call, announced = self._calls.tool_started(event)
        if call.known:  # an approved call, running now: the client's part has it whole
            return self._step()
        start = b"" if announced else _chunk(type="tool-input-start", toolCallId=call.id, toolName=call.name)
        available = _chunk(type="tool-input-available", toolCallId=call.id, toolName=call.name, input=call.input)
        return self._step() + start + available

    def _tool_pending(self, event: ToolCallPending) -> bytes:
        """A call the client runs: its part made whole (``tool-input-available``), which fires ``onToolCall``."""
        return self._whole_call(event)[1]

    def _whole_call(self, event: ToolCallPending) -> tuple[str, bytes]:
        call, announced = self._calls.pending(event)
        start = b"" if announced else _chunk(type="tool-input-start", toolCallId=call.id, toolName=call.name)
        available = _chunk(type="tool-input-available", toolCallId=call.id, toolName=call.name, input=event.args)
        return call.id, self._step() + start + available

    def _interrupted(self, event: Interrupted) -> bytes:
        """Tool calls awaiting approval become approval requests (``addToolApprovalResponse`` answers them);
        any other interrupt a ``data-interrupt`` part, which the next request's ``resume`` answers."""
        frames = b""
        for interrupt in event.interrupts:
            if "actions" not in interrupt:
                data = {"id": interrupt["id"], "value": interrupt["value"]}
                frames += _chunk(type="data-interrupt", id=interrupt["id"], data=data)
            for call in awaiting_approval(interrupt):
                call_id, whole = self._whole_call(call)
                frames += whole + _chunk(
                    type="tool-approval-request", approvalId=approval_id(call_id), toolCallId=call_id
                )
                self._approvals += 1
        return frames

    def _tool_decided(self, event: ToolCallDecided) -> bytes:
        """A resumed run: an approved call runs (its output follows), a rejected one is denied."""
        self._calls.decided(event)
        return b"" if event.approved else _chunk(type="tool-output-denied", toolCallId=event.id)

    def _tool_ended(self, event: ToolEnded) -> bytes:
        call = self._calls.tool_ended(event.run_id, event.call_id)
        return _chunk(type="tool-output-available", toolCallId=call.id, output=event.output) + self._end_step()

    def _tool_failed(self, event: ToolFailed) -> bytes:
        call = self._calls.tool_ended(event.run_id, event.call_id)
        return _chunk(type="tool-output-error", toolCallId=call.id, errorText=event.error) + self._end_step()

    def _end_step(self) -> bytes:
        if not self._step_open:
            return b""
        self._step_open = False
        return _chunk(type="finish-step")

    def _custom(self, event: Custom) -> bytes:
        return _chunk(type=f"data-{event.name}", data=event.value)

    def _run_ended(self, event: RunEnded) -> bytes:
        frames = self._end_step()
        if event.error:
            frames += _chunk(type="error", errorText=event.message)
        if event.status == "interrupted":
            reason = "tool-calls" if self._approvals else "other"
        else:
            reason = _FINISH_REASONS.get(event.finish_reason, "other") if event.status == "completed" else "error"
        return frames + _chunk(type="finish", finishReason=reason) + _DONE
