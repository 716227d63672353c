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

from .. import events
from ..payloads import to_json
from ..request import ChatRequest
from ..settings import Settings
from .ai_sdk_messages import approval_id, read_chat, to_ui_messages
from .base import SSE_HEADERS, Encoder, Protocol
from .sse import encode_event
from .tool_calls import ToolCalls, awaiting_approval

__all__ = ["AiSdkProtocol"]

_DONE = encode_event("[DONE]")
_FINISH_REASONS = {"stop": "stop", "tool_calls": "tool-calls", "length": "length", "content_filter": "content-filter"}


class AiSdkProtocol(Protocol):
    name = "ai-sdk"
    parts = ("parts",)
    headers: ClassVar[Mapping[str, str]] = {**SSE_HEADERS, "x-vercel-ai-ui-message-stream": "v1"}
    replays_finished = False  # useChat({resume}) asks on every page load: a finished answer it has already

    def read(
        self, body: dict[str, Any], headers: Headers, settings: Settings, path: Mapping[str, str] | None = None
    ) -> ChatRequest:
        return read_chat(body, headers, settings)

    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        return AiSdkEncoder(stream_id, ids.get("message_id") or f"msg-{stream_id}")

    def answer_ids(self, stream_id: str, ids: Mapping[str, str]) -> tuple[str, ...]:
        return (ids.get("message_id") or f"msg-{stream_id}",)  # the answer's ``UIMessage`` id

    def thread_messages(self, messages: list[dict[str, Any]], interrupts: list[dict[str, Any]]) -> list[Any]:
        """``UIMessage[]``, for ``useChat({messages})`` (approvals pending as ``approval-requested`` parts)."""
        return to_ui_messages(messages, interrupts)


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

    def opening(self) -> bytes:
        return _chunk(type="start", messageId=self._message_id) + _chunk(type="start-step")

    def on_run_started(self, event: events.RunStarted) -> bytes:
        """The run's id, in the answer's metadata (``message.metadata.run_id``), for feedback on it."""
        return _chunk(type="message-metadata", messageMetadata={"run_id": event.run_id})

    def _step(self) -> bytes:
        """A ``start-step`` when the model speaks again after a tool result."""
        if self._step_open:
            return b""
        self._step_open = True
        return _chunk(type="start-step")

    def on_text_start(self, event: events.Event) -> bytes:
        self._blocks += 1
        kind = "text" if type(event) is events.TextStart else "reasoning"
        return self._step() + _chunk(type=f"{kind}-start", id=f"{kind}-{self._blocks}")

    on_reasoning_start = on_text_start

    def on_text_end(self, event: events.Event) -> bytes:
        kind = "text" if type(event) is events.TextEnd else "reasoning"
        return _chunk(type=f"{kind}-end", id=f"{kind}-{self._blocks}")

    def on_text_delta(self, event: events.TextDelta) -> bytes:
        return encode_event(to_json({"type": "text-delta", "id": f"text-{self._blocks}", "delta": event.text}))

    on_reasoning_end = on_text_end

    def on_reasoning_delta(self, event: events.ReasoningDelta) -> bytes:
        return _chunk(type="reasoning-delta", id=f"reasoning-{self._blocks}", delta=event.text)

    def on_tool_call_started(self, event: events.ToolCallStarted) -> bytes:
        call = self._calls.started(event)
        return self._step() + _chunk(type="tool-input-start", toolCallId=call.id, toolName=call.name)

    def on_tool_call_args(self, event: events.ToolCallArgs) -> bytes:
        call = self._calls.args(event)
        return _chunk(type="tool-input-delta", toolCallId=call.id, inputTextDelta=event.delta)

    def on_tool_started(self, event: events.ToolStarted) -> bytes:
        call, announced = self._calls.tool_started(event)
        if call.known:  # an approved call, running now: the client's part has it whole
            return self._step()
        start = b"" if announced else _chunk(type="tool-input-start", toolCallId=call.id, toolName=call.name)
        available = _chunk(type="tool-input-available", toolCallId=call.id, toolName=call.name, input=call.input)
        return self._step() + start + available

    def on_tool_call_pending(self, event: events.ToolCallPending) -> bytes:
        """A call the client runs: its part made whole (``tool-input-available``), which fires ``onToolCall``."""
        return self._whole_call(event)[1]

    def _whole_call(self, event: events.ToolCallPending) -> tuple[str, bytes]:
        call, announced = self._calls.pending(event)
        start = b"" if announced else _chunk(type="tool-input-start", toolCallId=call.id, toolName=call.name)
        available = _chunk(type="tool-input-available", toolCallId=call.id, toolName=call.name, input=event.args)
        return call.id, self._step() + start + available

    def on_interrupted(self, event: events.Interrupted) -> bytes:
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

    def on_tool_call_decided(self, event: events.ToolCallDecided) -> bytes:
        """A resumed run: an approved call runs (its output follows), a rejected one is denied."""
        self._calls.decided(event)
        return b"" if event.approved else _chunk(type="tool-output-denied", toolCallId=event.id)

    def on_tool_ended(self, event: events.ToolEnded) -> bytes:
        call = self._calls.tool_ended(event.run_id, event.call_id)
        return _chunk(type="tool-output-available", toolCallId=call.id, output=event.output) + self._end_step()

    def on_tool_failed(self, event: events.ToolFailed) -> bytes:
        call = self._calls.tool_ended(event.run_id, event.call_id)
        return _chunk(type="tool-output-error", toolCallId=call.id, errorText=event.error) + self._end_step()

    def _end_step(self) -> bytes:
        if not self._step_open:
            return b""
        self._step_open = False
        return _chunk(type="finish-step")

    def on_state_changed(self, event: events.StateChanged) -> bytes:
        return _chunk(type="data-state", id="state", data=event.values)  # one part, replaced in place

    def on_custom(self, event: events.Custom) -> bytes:
        return _chunk(type=f"data-{event.name}", data=event.value)

    def on_run_ended(self, event: events.RunEnded) -> bytes:
        frames = self._end_step()
        if event.error:
            frames += _chunk(type="error", errorText=event.message)
        if event.status == "interrupted":
            reason = "tool-calls" if self._approvals else "other"
        else:
            reason = _FINISH_REASONS.get(event.finish_reason, "other") if event.status == "completed" else "error"
        return frames + _chunk(type="finish", finishReason=reason) + _DONE
