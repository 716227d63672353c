"""What a mapping handler is, named once for the mapper and the graph handlers beside it.

A handler turns one v2 event into the stream's events (none, one or several), given the stream's mapping
(:class:`~.mapper.StreamMapper`): what it reads of it is :class:`MappingState`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ...events import Event

if TYPE_CHECKING:
    from .state import StateStream
    from .tally import Tally

__all__ = ["NOTHING", "Events", "Handler", "MappingState", "V2Event"]

Events = tuple[Event, ...]
V2Event = Mapping[str, Any]
Handler = Callable[[Any, V2Event], Events]
"""``handler(mapping, event)``: ``mapping`` is the stream's :class:`~.mapper.StreamMapper`."""
NOTHING: Events = ()


class MappingState(Protocol):
    """What a graph handler reads of a stream's mapping."""

    tally: Tally
    state: StateStream | None
    expose_errors: bool

    @property
    def events(self) -> frozenset[str]: ...

    def payload(self, value: Any) -> Any: ...
