"""LangGraph's server API as the test client speaks it: a run streamed on a thread (made if it is not there) in the
``values`` and ``messages-tuple`` modes, and a decision as ``command.resume``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .wire import Approval, Reply, Wire, decisions

__all__ = ["LangGraphWire"]

_MODES = ["values", "messages-tuple"]


class LangGraphWire(Wire):
    route = ""  # the blueprint's prefix: its routes are LangGraph's under it
    has_thread_routes = False

    def path(self, route: str, thread_id: str | None) -> str:
        return f"{route}/threads/{thread_id}/runs/stream" if thread_id else f"{route}/runs/stream"

    def ask(self, question: str, thread_id: str | None, extra: Mapping[str, Any]) -> dict[str, Any]:
        created = {"if_not_exists": "create"} if thread_id else {}
        question_input = {"messages": [{"role": "user", "content": question}]}
        return {"input": question_input, "stream_mode": _MODES, **created, **extra}

    def decide(self, reply: Reply, approved: bool, message: str | None) -> dict[str, Any]:
        return {"command": {"resume": decisions(reply, approved, message)}, "stream_mode": _MODES}

    def read(self, frames: list[tuple[str, Any]], reply: Reply) -> None:
        values: dict[str, Any] | None = None
        before: set[str] | None = None  # the ids of the messages the thread held as the run began: its first values
        interrupts: dict[str, Any] = {}  # by id: parallel interrupts (per_call mode's) come a chunk each
        for event, data in frames:
            kind = event.partition("|")[0]
            if kind == "metadata":
                reply.run_id = data.get("run_id")
            elif kind == "messages" and event == kind:
                chunk = data[0] if isinstance(data, list) and data else {}
                if chunk.get("type") in ("AIMessageChunk", "ai"):
                    reply.text += _text(chunk.get("content"))
            elif kind == "values" and event == kind:
                values = data
                if before is None:
                    before = {str(message.get("id")) for message in data.get("messages", ())}
                interrupts |= {str(i.get("id")): i for i in data.get("__interrupt__", ()) if isinstance(i, dict)}
            elif kind == "error":
                reply.error = {"code": data.get("error"), "message": data.get("message")}
        if values is None:
            return
        reply.final, held = values, before or set()
        turn = [message for message in values.get("messages", []) if str(message.get("id")) not in held]
        reply.state = {key: value for key, value in values.items() if key not in ("messages", "__interrupt__")}
        calls = [call for message in turn if message.get("type") == "ai" for call in message.get("tool_calls", ())]
        reply.tool_calls = [{"id": call["id"], "name": call["name"], "args": call["args"]} for call in calls]
        results = [message for message in turn if message.get("type") == "tool"]
        reply.tool_results = {message["tool_call_id"]: message.get("content") for message in results}
        reply.interrupts = list(interrupts.values()) if values.get("__interrupt__") else []
        answered = set(reply.tool_results)
        waiting = [call for call in reply.tool_calls if call["id"] not in answered]
        for interrupt in reply.interrupts:
            value = (interrupt.get("value") or {}) if isinstance(interrupt, dict) else {}
            if value.get("type") == "tool_approval":  # per_call mode: the interrupt names its call
                reply.approvals.append(Approval(interrupt["id"], value["tool_call_id"], value["name"], value["args"]))
            for request in value.get("action_requests", ()):
                call = next((c for c in waiting if (c["name"], c["args"]) == (request["name"], request["args"])), None)
                call_id = call["id"] if call else ""
                reply.approvals.append(Approval(interrupt["id"], call_id, request["name"], request["args"]))
        reply.finish_reason = "interrupt" if reply.interrupts else "error" if reply.error else "stop"


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content or () if isinstance(block, dict))
