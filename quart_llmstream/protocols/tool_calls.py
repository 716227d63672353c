"""Tool calls as front-end protocols see them: one id per call, from the model's first chunk of it to
the tool's result.

A model names a call (its id and tool) only in its first chunk and streams the arguments after it; the
tool then runs as a run of its own, whose events do not carry the call's id until it ends (when the tool
returns a ``ToolMessage``). This matches each tool run to the oldest announced call of the same tool, and
gives a call that no model announced (a tool a chain runs by itself) an id of its own. A call no tool ran by
the end of the run (:class:`~quart_llmstream.events.ToolCallPending`, the client's to run) is matched by its id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..events import ToolCallArgs, ToolCallDecided, ToolCallPending, ToolCallStarted, ToolStarted

__all__ = ["Call", "ToolCalls", "awaiting_approval"]


def awaiting_approval(interrupt: Mapping[str, Any]) -> list[ToolCallPending]:
    """The tool calls an interrupt holds for a person's approval, which the client must have whole."""
    return [ToolCallPending(a["tool_call_id"] or "", a["name"], a["args"]) for a in interrupt.get("actions", ())]


@dataclass
class Call:
    id: str
    name: str
    announced: bool  # a model streamed it (so its start and arguments were sent)
    args: list[str] = field(default_factory=list)
    input: Any = None
    known: bool = False  # the client has it whole already (a call a person decided on, resumed)


class ToolCalls:
    def __init__(self, stream_id: str) -> None:
        self._prefix = f"call-{stream_id}-"
        self._count = 0
        self._by_index: dict[int, Call] = {}  # the model run's calls, by their index
        self._waiting: list[Call] = []  # announced calls whose tool has not started
        self._by_run: dict[str, Call] = {}  # tool run id -> its call

    def started(self, event: ToolCallStarted) -> Call:
        call = Call(event.id or self._new_id(), event.name, announced=True)
        self._by_index[event.index] = call
        self._waiting.append(call)
        return call

    def args(self, event: ToolCallArgs) -> Call:
        call = self._by_index.get(event.index) or self.started(ToolCallStarted(event.index, event.id, ""))
        call.args.append(event.delta)
        return call

    def tool_started(self, event: ToolStarted) -> tuple[Call, bool]:
        """The call this tool run answers, and whether a model announced it."""
        call = next((c for c in self._waiting if c.name == event.name), None)
        if call is None:
            call = Call(self._new_id(), event.name, announced=False, input=event.input)
        else:
            self._waiting.remove(call)
            call.input = _parsed(call.args, event.input)
        self._by_run[event.run_id] = call
        return call, call.announced

    def pending(self, event: ToolCallPending) -> tuple[Call, bool]:
        """The call a pending one is (the model's, by its id), and whether a model announced it."""
        call = next((c for c in self._waiting if c.id == event.id), None)
        if call is None:
            return Call(event.id or self._new_id(), event.name, announced=False, input=event.args), False
        self._waiting.remove(call)
        call.input = event.args
        return call, True

    def decided(self, event: ToolCallDecided) -> Call:
        """A call a person decided, which the client has whole: an approved one runs now, so its tool's run
        answers it (a rejected one never runs, and must not take an approved call's result)."""
        call = Call(event.id, event.name, announced=True, known=True)
        if event.approved:
            self._waiting.append(call)
        return call

    def tool_ended(self, run_id: str, call_id: str | None) -> Call:
        call = self._by_run.pop(run_id, None)
        return call or Call(call_id or self._new_id(), "", announced=False)

    def _new_id(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count}"


def _parsed(args: list[str], fallback: Any) -> Any:
    """The arguments the model streamed, as JSON; the tool's own input when they do not parse."""
    try:
        return json.loads("".join(args)) if args else fallback
    except ValueError:
        return fallback
