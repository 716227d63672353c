"""How a stream ends: what a run leaves waiting, then the final event.

A run that completed may leave tool calls to the client (calls of the last model that no tool answered:
:class:`~.events.ToolCallPending`); a run whose LangGraph thread waits for decisions ends
:class:`~.events.Interrupted`. Either is sent whatever the ``events`` option selects — the client has to act —
just before :class:`~.events.RunEnded`, whose finish reason says which.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

from ...events import Event, Interrupted, RunEnded, ToolCallPending
from ...lifecycle import Status
from .tally import Tally

__all__ = ["Ending", "final_events"]


class Ending(NamedTuple):
    """How a run ended: its status, and a failure's error code and public message."""

    status: Status
    error: str | None = None
    message: str | None = None


def final_events(
    tally: Tally,
    ended: Ending,
    client_tools: Collection[str],
    thread_id: str | None,
    payload: Callable[[Any], Any],
    run_id: str | None = None,
) -> tuple[Event, ...]:
    """The events after the run's last one: what it leaves waiting, then :class:`RunEnded`. ``ended`` is how the
    run ended; ``client_tools`` the tools the client declared, and
    ``payload`` makes tool arguments plain data; ``run_id`` is the run's id, which the final event names."""
    status, error, message = ended
    if status == "interrupted":
        ending = RunEnded(status, "interrupt", tally.usage, error, message, run_id=run_id)
        return Interrupted(thread_id, tally.interrupts), ending
    pending = tuple(_pending(call, client_tools, payload) for call in tally.pending()) if status == "completed" else ()
    reason: str
    if status != "completed":
        reason = status
    elif pending:
        reason = "tool_calls"  # whatever the model reported: the client has calls to run
    else:
        reason = tally.finish_reason if tally.finish_reason not in (None, "tool_calls") else "stop"
    return (*pending, RunEnded(status, reason, tally.usage, error, message, run_id=run_id))


def _pending(call: Mapping[str, Any], client_tools: Collection[str], payload: Callable[[Any], Any]) -> Event:
    name = call.get("name") or ""
    return ToolCallPending(call.get("id") or "", name, payload(call.get("args") or {}), name in client_tools)
