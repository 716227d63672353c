"""The event hook's view of the stream: each selected event as ``StreamEvent(kind, data)``, and back.

``hook(event, source)`` sees the event with the v2 event it came from and returns it, a rewritten one
(``event._replace(data=...)``), or None to drop it; a rewritten event becomes the typed event of its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .events import (
    Custom,
    Event,
    ReasoningDelta,
    RunStarted,
    TextDelta,
    ToolCallArgs,
    ToolCallStarted,
    ToolEnded,
    ToolFailed,
    ToolStarted,
)

__all__ = ["EventHook", "StreamEvent", "from_stream_event", "to_stream_event"]


class StreamEvent(NamedTuple):
    """An event as the event hook sees it: its kind (``token``, ``tool_call``, ...) and its JSON payload."""

    kind: str
    data: Any


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
_KINDS = {cls.kind: cls for cls in _HOOKED}  # what the mapping makes of v2 events, not what a run's end makes


def to_stream_event(event: Event) -> StreamEvent:
    return StreamEvent(event.kind, event.data)


def from_stream_event(item: StreamEvent) -> Event:
    """The typed event for what an event hook returned; ``ValueError`` for a kind or payload that has none."""
    cls = _KINDS.get(item.kind)
    if cls is None:
        raise ValueError(f"the event hook returned an unknown kind of event: {item.kind!r}")
    return cls.from_data(item.data)
