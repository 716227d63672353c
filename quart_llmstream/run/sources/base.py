"""What an event source is: run a runnable and hand each of its v2 events to the stream, as it happens.

A source is push-based: ``await source(runnable, inputs, config, emit, **filters)`` runs the run to its
end in the caller's task, awaiting ``emit(event)`` for each event. Cancelling the task cancels the run,
and an ``emit`` that waits (a slow reader) makes the run wait. ``filters`` are ``astream_events``'
include/exclude arguments.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from langchain_core.runnables import Runnable, RunnableConfig

__all__ = ["Emit", "EventSource"]

Emit = Callable[[Mapping[str, Any]], Awaitable[None]]
"""Receives each v2 event of a run."""


class EventSource(Protocol):
    def __call__(
        self,
        runnable: Runnable[Any, Any],
        inputs: Any,
        config: RunnableConfig | None,
        emit: Emit,
        **filters: Any,
    ) -> Awaitable[None]: ...
