"""Each protocol as a client speaks it: the body of a question and of a decision, and a stream's frames read into
one :class:`Reply` (the text, tool calls, what waits for a decision, the state, the error, the final frame)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import jsonpatch

__all__ = ["AgUiWire", "AiSdkWire", "Approval", "NativeWire", "OpenAIWire", "Reply", "Wire", "decisions"]


@dataclass(frozen=True, slots=True)
class Approval:
    """A tool call that waits for a person's decision: the id the protocol answers it by (an interrupt's, or the
    AI SDK's approval id), the call's id, tool and arguments."""

    id: str
    tool_call_id: str
    name: str
    args: Any


@dataclass
class Reply:
    """What a test asserts on, the same in every protocol."""

    status_code: int
    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    """``{"id", "name", "args"}``, as the model made them."""
    tool_results: dict[str, Any] = field(default_factory=dict)
    """The output of each call the server ran, by call id."""
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    """What the run waits on, as the protocol carries it."""
    approvals: list[Approval] = field(default_factory=list)
    state: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    """``{"code", "message"}`` of the error frame, or the JSON of a refusal (a status other than 200)."""
    final: Any = None
    """The final frame, parsed (the native ``end``, AI SDK ``finish``, AG-UI ``RUN_FINISHED``, ...)."""
    finish_reason: str | None = None
    """``interrupt`` when the run paused for a decision, in every protocol; else as the protocol says why it ended
    (``stop``, ...)."""
    run_id: str | None = None
    thread_id: str | None = None
    message_id: str | None = None
    frames: list[tuple[str, Any]] = field(default_factory=list)
    """Every frame: its SSE event name (``message`` when unnamed) and its data, parsed."""


class Wire:
    """A protocol as its client speaks it."""

    route = "/chat"
    """Where its blueprint's chat route is by default (under the blueprint's prefix)."""
    decides = True
    """Whether a decision can be carried back (OpenAI's cannot)."""
    has_thread_routes = True
    """Whether its threads are the blueprint's thread routes (LangGraph's are its server's API)."""

    def path(self, route: str, thread_id: str | None) -> str:
        return route

    def headers(self, thread_id: str | None) -> dict[str, str]:
        """Headers a request on ``thread_id`` carries (OpenAI's names its thread there)."""
        return {}

    def ask(self, question: str, thread_id: str | None, extra: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def decide(self, reply: Reply, approved: bool, message: str | None) -> dict[str, Any]:
        """The body answering every approval ``reply`` waits on."""
        raise NotImplementedError(f"{type(self).__name__} cannot carry a decision")

    def read(self, frames: list[tuple[str, Any]], reply: Reply) -> None:
        raise NotImplementedError


class NativeWire(Wire):
    def ask(self, question: str, thread_id: str | None, extra: Mapping[str, Any]) -> dict[str, Any]:
        return {"question": question, **({"thread_id": thread_id} if thread_id else {}), **extra}

    def decide(self, reply: Reply, approved: bool, message: str | None) -> dict[str, Any]:
        return {"thread_id": reply.thread_id, "resume": decisions(reply, approved, message)}

    def read(self, frames: list[tuple[str, Any]], reply: Reply) -> None:
        calls: dict[Any, dict[str, Any]] = {}
        for event, data in frames:
            if event == "message" and isinstance(data, dict):
                if "token" in data:
                    reply.text += data["token"]
                elif "code" in data:
                    reply.error = {"code": data["code"], "message": data.get("error")}
            elif event == "tool_call":
                calls[data["id"] or data["index"]] = {"id": data["id"], "name": data["name"], "args": ""}
            elif event == "tool_args":
                calls[data["id"] or data["index"]]["args"] += data["delta"]
            elif event == "tool_end":
                reply.tool_results[data.get("call_id") or data["run_id"]] = data.get("output")
            elif event == "tool_decided" and not data["approved"]:  # rejected, or answered by a person
                reply.tool_results[data["id"]] = data["message"]
            elif event == "interrupt":
                reply.interrupts = data["interrupts"]
                reply.approvals = _approvals(data["interrupts"])
            elif event == "state" and "snapshot" in data:
                reply.state = data["snapshot"]
            elif event == "state":  # each patch builds on the state before it
                reply.state = jsonpatch.apply_patch(reply.state or {}, data["patch"])
            elif event in ("start", "end"):
                reply.run_id = data.get("run_id", reply.run_id)
                if event == "end":
                    reply.final, reply.finish_reason = data, data.get("finish_reason")
        reply.tool_calls = _parsed(calls)


class AiSdkWire(Wire):
    def ask(self, question: str, thread_id: str | None, extra: Mapping[str, Any]) -> dict[str, Any]:
        message = {"id": f"u-{uuid4().hex}", "role": "user", "parts": [{"type": "text", "text": question}]}
        return {"id": thread_id or uuid4().hex, "messages": [message], "trigger": "submit-message", **extra}

    def decide(self, reply: Reply, approved: bool, message: str | None) -> dict[str, Any]:
        parts = [
            {
                "type": f"tool-{approval.name}",
                "toolCallId": approval.tool_call_id,
                "state": "approval-responded",
                "input": approval.args,
                "approval": {"id": approval.id, "approved": approved, **({"reason": message} if message else {})},
            }
            for approval in reply.approvals
        ]
        answer = {"id": reply.message_id, "role": "assistant", "parts": parts}
        return {"id": reply.thread_id, "messages": [answer], "trigger": "submit-message"}

    def read(self, frames: list[tuple[str, Any]], reply: Reply) -> None:
        calls: dict[str, dict[str, Any]] = {}
        for _, part in frames:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text-delta":
                reply.text += part["delta"]
            elif kind == "start":
                reply.message_id = part.get("messageId")
            elif kind == "message-metadata":
                reply.run_id = part["messageMetadata"].get("run_id", reply.run_id)
            elif kind == "tool-input-available":
                calls[part["toolCallId"]] = {"id": part["toolCallId"], "name": part["toolName"], "args": part["input"]}
            elif kind == "tool-output-available":
                reply.tool_results[part["toolCallId"]] = part["output"]
            elif kind == "tool-approval-request":
                call = calls[part["toolCallId"]]
                reply.approvals.append(Approval(part["approvalId"], call["id"], call["name"], call["args"]))
                reply.interrupts.append(part)
            elif kind == "data-interrupt":
                reply.interrupts.append(part["data"])
            elif kind == "data-state":
                reply.state = part["data"]
            elif kind == "error":
                reply.error = {"code": None, "message": part["errorText"]}
            elif kind == "finish":
                reply.final, reply.finish_reason = part, part.get("finishReason")
        reply.tool_calls = list(calls.values())
        if reply.interrupts:  # paused for a decision: "tool-calls" (an approval) or "other" on the wire
            reply.finish_reason = "interrupt"


class AgUiWire(Wire):
    def ask(self, question: str, thread_id: str | None, extra: Mapping[str, Any]) -> dict[str, Any]:
        message = {"id": f"u-{uuid4().hex}", "role": "user", "content": question}
        return self._run(thread_id or uuid4().hex, [message]) | dict(extra)

    def decide(self, reply: Reply, approved: bool, message: str | None) -> dict[str, Any]:
        payload = {"approved": approved, **({"message": message} if message else {})}
        resume = [{"interruptId": i["id"], "status": "resolved", "payload": payload} for i in reply.interrupts]
        return self._run(reply.thread_id or "", []) | {"resume": resume}

    @staticmethod
    def _run(thread_id: str, messages: list[Any]) -> dict[str, Any]:
        ids = {"threadId": thread_id, "runId": uuid4().hex}
        return ids | {"messages": messages, "tools": [], "context": [], "state": {}, "forwardedProps": {}}

    def read(self, frames: list[tuple[str, Any]], reply: Reply) -> None:
        calls: dict[str, dict[str, Any]] = {}
        for _, event in frames:
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "TEXT_MESSAGE_CONTENT":
                reply.text += event["delta"]
            elif kind == "TOOL_CALL_START":
                calls[event["toolCallId"]] = {"id": event["toolCallId"], "name": event["toolCallName"], "args": ""}
            elif kind == "TOOL_CALL_ARGS":
                calls[event["toolCallId"]]["args"] += event["delta"]
            elif kind == "TOOL_CALL_RESULT":
                reply.tool_results[event["toolCallId"]] = event["content"]
            elif kind == "STATE_SNAPSHOT":
                reply.state = event["snapshot"]
            elif kind == "STATE_DELTA":
                reply.state = jsonpatch.apply_patch(reply.state or {}, event["delta"])
            elif kind == "RUN_ERROR":
                reply.error = {"code": event.get("code"), "message": event["message"]}
            elif kind == "RUN_STARTED":
                reply.thread_id = event["threadId"]
            elif kind == "RUN_FINISHED":
                reply.final, reply.run_id = event, (event.get("result") or {}).get("run_id")
                reply.interrupts = (event.get("outcome") or {}).get("interrupts", [])
                reply.approvals = _approvals(reply.interrupts, lambda interrupt: interrupt.get("metadata", {}))
                reply.finish_reason = "interrupt" if reply.interrupts else "stop"
        reply.tool_calls = _parsed(calls)


class OpenAIWire(Wire):
    route, decides = "", False  # the blueprint's prefix: its route is /chat/completions under it

    def path(self, route: str, thread_id: str | None) -> str:
        return f"{route}/chat/completions"

    def headers(self, thread_id: str | None) -> dict[str, str]:
        return {"X-Thread-Id": thread_id} if thread_id else {}

    def ask(self, question: str, thread_id: str | None, extra: Mapping[str, Any]) -> dict[str, Any]:
        return {"model": "any", "messages": [{"role": "user", "content": question}], "stream": True, **extra}

    def read(self, frames: list[tuple[str, Any]], reply: Reply) -> None:
        calls: dict[int, dict[str, Any]] = {}
        for _, chunk in frames:
            if not isinstance(chunk, dict):
                continue
            if "error" in chunk:
                reply.error = {"code": chunk["error"].get("code"), "message": chunk["error"].get("message")}
                continue
            reply.message_id = chunk.get("id", reply.message_id)  # chatcmpl-<the run's id>
            reply.run_id = (reply.message_id or "").removeprefix("chatcmpl-") or None
            for choice in chunk.get("choices", ()):
                delta = choice.get("delta") or {}
                reply.text += delta.get("content") or ""
                for call in delta.get("tool_calls") or ():
                    made = calls.setdefault(call["index"], {"id": call.get("id"), "name": "", "args": ""})
                    made["name"] += (call.get("function") or {}).get("name") or ""
                    made["args"] += (call.get("function") or {}).get("arguments") or ""
                if choice.get("finish_reason"):
                    reply.final, reply.finish_reason = chunk, choice["finish_reason"]
        reply.tool_calls = _parsed(calls)


def decisions(reply: Reply, approved: bool, message: str | None) -> Any:
    """``HumanInTheLoopMiddleware``'s answer to every call ``reply`` waits on (approve them all, or reject them): an
    interrupt's value (``{"decisions": [...]}``, one per call; in ``per_call`` mode the one decision), or with
    several interrupts pending, a map of their ids to their values."""
    decision = {"type": "approve"} if approved else {"type": "reject", **({"message": message} if message else {})}
    per_call = {interrupt.get("id") for interrupt in reply.interrupts if _per_call(interrupt)}
    values: dict[str, Any] = {}
    for approval in reply.approvals:
        if approval.id in per_call:
            values[approval.id] = decision
        else:
            values.setdefault(approval.id, {"decisions": []})["decisions"].append(decision)
    return next(iter(values.values())) if len(values) == 1 else values


def _per_call(interrupt: Any) -> bool:
    """An interrupt of ``HumanInTheLoopMiddleware(interrupt_mode="per_call")``: one call, one decision."""
    value = interrupt.get("value") if isinstance(interrupt, dict) else None
    return isinstance(value, dict) and value.get("type") == "tool_approval"


def _approvals(
    interrupts: list[dict[str, Any]], holder: Callable[[dict[str, Any]], dict[str, Any]] = lambda interrupt: interrupt
) -> list[Approval]:
    """The calls awaiting approval among interrupts (``HumanInTheLoopMiddleware``'s ``actions``, which ``holder``
    of each interrupt holds)."""
    return [
        Approval(interrupt["id"], action["tool_call_id"], action["name"], action["args"])
        for interrupt in interrupts
        for action in holder(interrupt).get("actions") or ()
    ]


def _parsed(calls: dict[Any, dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool calls whose arguments came as JSON in pieces, with their arguments parsed."""
    return [{**call, "args": _json(call["args"])} for call in calls.values()]


def _json(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text
