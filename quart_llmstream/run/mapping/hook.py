"""The event hook's view of the stream: each selected event as ``StreamEvent(kind, data)``, and back.

``hook(event, source)`` sees the event with the v2 event it came from and returns it, a rewritten one
(``event._replace(data=...)``), or None to drop it; a rewritten event becomes the typed event of its kind.
It sees the events of the kinds in :data:`HOOKED`; the others (a graph's state, whose patches each build on
the one before; what a run leaves waiting; the end) pass it by.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ...events import (
    Custom,
    Event,
    ReasoningDelta,
    RunStarted,
    StreamEvent,
    TextDelta,
    ToolCallArgs,
    ToolCallStarted,
    ToolEnded,
    ToolFailed,
    ToolStarted,
)

__all__ = ["HOOKED", "EventHook", "StreamEvent", "from_stream_event", "hooked", "to_stream_event"]


EventHook = Callable[[StreamEvent, Mapping[str, Any]], "StreamEvent | None"]
"""Sees each mapped event with the v2 event it came from; returns it, a rewritten one, or None to drop it."""

_HOOKED = (
    RunStarted,
    TextDelta,
    ReasoningDelta,
    ToolCallStarted,
    ToolCallArgs,
    ToolStarted,
    ToolEnded,
    ToolFailed,
    Custom,
)
HOOKED = frozenset(_HOOKED)
"""The events the hook sees: what the mapping makes of v2 events, but a graph's state."""
_KINDS = {cls.kind: cls for cls in _HOOKED}


def to_stream_event(event: Event) -> StreamEvent:
    return StreamEvent(event.kind, event.data)


def from_stream_event(item: StreamEvent) -> Event:
    """The typed event for what an event hook returned; ``ValueError`` for a kind or payload that has none."""
    cls = _KINDS.get(item.kind)
    if cls is None:
        raise ValueError(f"the event hook returned an unknown kind of event: {item.kind!r}")
    return cls.from_data(item.data)


def hooked(hook: EventHook, mapped: tuple[Event, ...], source: Mapping[str, Any]) -> tuple[Event, ...]:
    """``mapped`` as ``hook`` keeps, rewrites or drops it; events it does not see pass it by."""
    out = []
    for event in mapped:
        if type(event) not in HOOKED:
            out.append(event)
        elif (result := hook(item := to_stream_event(event), source)) is not None:
            out.append(event if result == item else from_stream_event(result))
    return tuple(out)
