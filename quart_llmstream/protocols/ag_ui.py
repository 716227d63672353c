"""AG-UI (CopilotKit and other agent front ends; npm ``@ag-ui/client``'s ``HttpAgent``, protocol 1.0).

Request: ``RunAgentInput`` ``{threadId, runId, state, messages, tools, context, forwardedProps}``, read by
:mod:`.ag_ui_messages`.

Response: one ``data: <event JSON>`` frame per event: ``RUN_STARTED`` first (a resumed run then sends the
thread's ``MESSAGES_SNAPSHOT``); text messages, tool calls and their results, reasoning and ``CUSTOM``
events; ``RUN_FINISHED`` last (with ``outcome: {type: "interrupt", interrupts}`` when the thread waits for a
decision), or ``RUN_ERROR``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.datastructures import Headers

from .. import events
from ..payloads import to_json
from ..request import ChatRequest
from ..settings import Settings
from .ag_ui_messages import connect_ids, read_run_input, to_ag_ui
from .base import Encoder, Protocol
from .sse import encode_event
from .tool_calls import Call, ToolCalls, awaiting_approval

__all__ = ["AgUiProtocol"]


class AgUiProtocol(Protocol):
    name = "ag-ui"
    parts = ("content", "toolCalls")

    def read(
        self, body: dict[str, Any], headers: Headers, settings: Settings, path: Mapping[str, str] | None = None
    ) -> ChatRequest:
        return read_run_input(body, headers, settings)

    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        return AgUiEncoder(stream_id, ids.get("thread_id", stream_id), ids.get("run_id", stream_id))

    def answer_ids(self, stream_id: str, ids: Mapping[str, str]) -> tuple[str, ...]:
        return (ids.get("run_id", stream_id),)  # the client's ``runId``

    connects = True  # ``connectAgent()``: CopilotKit's runtime serves it, so do we

    def connect_ids(self, body: dict[str, Any]) -> Mapping[str, str]:
        return connect_ids(body)

    def thread_messages(self, messages: list[dict[str, Any]], interrupts: list[dict[str, Any]]) -> list[Any]:
        """``Message[]``, for ``HttpAgent({initialMessages})``."""
        return to_ag_ui(messages)

    def thread_interrupts(self, interrupts: list[dict[str, Any]]) -> list[Any]:
        """As ``RUN_FINISHED``'s interrupt outcome lists them."""
        return [_interrupt(interrupt, interrupt.get("actions")) for interrupt in interrupts]


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
        self._interrupts: list[dict[str, Any]] = []  # what the run's RUN_FINISHED says it waits on

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

    def on_text_start(self, event: events.Event) -> bytes:
        self._step_message = message_id = self._new_message()
        return self._end_calls() + _event(type="TEXT_MESSAGE_START", messageId=message_id, role="assistant")

    def on_text_end(self, event: events.Event) -> bytes:
        return _event(type="TEXT_MESSAGE_END", messageId=self._message_id)

    def on_text_delta(self, event: events.TextDelta) -> bytes:
        return encode_event(
            to_json({"type": "TEXT_MESSAGE_CONTENT", "messageId": self._message_id, "delta": event.text})
        )

    def on_reasoning_start(self, event: events.Event) -> bytes:
        message_id = self._new_message()
        return (
            self._end_calls()
            + _event(type="REASONING_START", messageId=message_id)
            + _event(type="REASONING_MESSAGE_START", messageId=message_id, role="reasoning")
        )

    def on_reasoning_delta(self, event: events.ReasoningDelta) -> bytes:
        return _event(type="REASONING_MESSAGE_CONTENT", messageId=self._message_id, delta=event.text)

    def on_reasoning_end(self, event: events.Event) -> bytes:
        message_id = self._message_id
        return _event(type="REASONING_MESSAGE_END", messageId=message_id) + _event(
            type="REASONING_END", messageId=message_id
        )

    def on_tool_call_started(self, event: events.ToolCallStarted) -> bytes:
        call = self._calls.started(event)
        self._unended.append(call)
        parent = self._step_message or self._new_message()
        self._step_message = parent
        return _event(type="TOOL_CALL_START", toolCallId=call.id, toolCallName=call.name, parentMessageId=parent)

    def on_tool_call_args(self, event: events.ToolCallArgs) -> bytes:
        call = self._calls.args(event)
        return _event(type="TOOL_CALL_ARGS", toolCallId=call.id, delta=event.delta)

    def on_tool_started(self, event: events.ToolStarted) -> bytes:
        frames = self._end_calls()
        call, announced = self._calls.tool_started(event)
        if announced:
            return frames
        return frames + self._whole_call(call.id, call.name, to_json(call.input))

    def on_tool_call_pending(self, event: events.ToolCallPending) -> bytes:
        """A call the client runs: announced already, it ends with the run; else it is sent whole."""
        call, announced = self._calls.pending(event)
        if announced:
            return b""
        return self._whole_call(call.id, call.name, to_json(event.args))

    def _whole_call(self, call_id: str, name: str, args: str) -> bytes:
        parent = self._step_message or self._new_message()
        self._step_message = parent
        return (
            _event(type="TOOL_CALL_START", toolCallId=call_id, toolCallName=name, parentMessageId=parent)
            + _event(type="TOOL_CALL_ARGS", toolCallId=call_id, delta=args)
            + _event(type="TOOL_CALL_END", toolCallId=call_id)
        )

    def on_interrupted(self, event: events.Interrupted) -> bytes:
        """The interrupts go in ``RUN_FINISHED``'s outcome; a call awaiting approval must be the client's whole."""
        frames = b""
        for interrupt in event.interrupts:
            for call in awaiting_approval(interrupt):
                frames += self.on_tool_call_pending(call)
            self._interrupts.append(_interrupt(interrupt, interrupt.get("actions")))
        return frames

    def on_messages_snapshot(self, event: events.MessagesSnapshot) -> bytes:
        """The thread's messages (a resumed run's start, a run's end): the calls streamed so far end first."""
        return self._end_calls() + _event(type="MESSAGES_SNAPSHOT", messages=to_ag_ui(event.messages))

    def on_tool_call_decided(self, event: events.ToolCallDecided) -> bytes:
        """A resumed run: an approved call runs under its own id; a rejected one gets the rejection as result."""
        call = self._calls.decided(event)
        return b"" if event.approved else self._tool_result(call, event.message)

    def _tool_result(self, call: Call, content: Any) -> bytes:
        self._step_message = None  # the model's next words are a new assistant message
        text = content if isinstance(content, str) else to_json(content)
        message_id = self._new_message()
        return _event(type="TOOL_CALL_RESULT", messageId=message_id, toolCallId=call.id, content=text, role="tool")

    def on_tool_ended(self, event: events.ToolEnded) -> bytes:
        return self._end_calls() + self._tool_result(self._calls.tool_ended(event.run_id, event.call_id), event.output)

    def on_tool_failed(self, event: events.ToolFailed) -> bytes:
        return self._end_calls() + self._tool_result(self._calls.tool_ended(event.run_id, event.call_id), event.error)

    def on_state_changed(self, event: events.StateChanged) -> bytes:
        if event.patch is None:
            return _event(type="STATE_SNAPSHOT", snapshot=event.values)
        return _event(type="STATE_DELTA", delta=event.patch)

    def on_state_predicted(self, event: events.StatePredicted) -> bytes:
        return _event(type="CUSTOM", name="PredictState", value=event.predictions)

    def on_custom(self, event: events.Custom) -> bytes:
        return _event(type="CUSTOM", name=event.name, value=event.value)

    def on_run_ended(self, event: events.RunEnded) -> bytes:
        frames = self._end_calls()
        if event.error:
            return frames + _event(type="RUN_ERROR", message=event.message, code=event.error)
        finished: dict[str, Any] = {"threadId": self._thread_id, "runId": self._run_id}
        if event.run_id is not None:  # the server's id of the run, which feedback on the answer names
            finished["result"] = {"run_id": event.run_id}
        if self._interrupts:
            finished["outcome"] = {"type": "interrupt", "interrupts": self._interrupts}
        return frames + _event(type="RUN_FINISHED", **finished)


def _interrupt(interrupt: dict[str, Any], actions: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A LangGraph interrupt as AG-UI's: calls awaiting approval are a ``tool_call`` (the call named when it is
    one), anything else ``langgraph:interrupt``; the value stays whole in ``metadata``."""
    value = interrupt["value"]
    described: dict[str, Any] = {"id": interrupt["id"], "metadata": {"langgraph": {"value": value}}}
    if actions is None:
        message = value if isinstance(value, str) else value.get("message") if isinstance(value, dict) else None
        return (
            described | {"reason": "langgraph:interrupt"} | ({"message": message} if isinstance(message, str) else {})
        )
    described |= {"reason": "tool_call", "message": "\n\n".join(action["description"] for action in actions)}
    described["metadata"]["actions"] = actions
    return described | ({"toolCallId": actions[0]["tool_call_id"]} if len(actions) == 1 else {})
