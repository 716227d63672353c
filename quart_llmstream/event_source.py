"""Event sources: run a runnable and hand each of its v2 events to the stream, as it happens.

A source is pushed-based: ``await source(runnable, chat_request, config, emit, **filters)`` runs the
run to its end in the caller's task, awaiting ``emit(event)`` for each event. Cancelling the task
cancels the run, and an ``emit`` that waits (a slow reader) makes the run wait.

The default source is LangChain's own ``Runnable.astream_events(version="v2")``, which sees every
step of any runnable (chains, agents, LangGraph graphs). The lean source (``callback_source``) gives
the same events for models, tools and custom events at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from .chat_request import ChatRequest

__all__ = ["EVENT_SOURCES", "Emit", "EventSource", "astream_events"]

Emit = Callable[[Mapping[str, Any]], Awaitable[None]]
"""Receives each v2 event of a run."""
EventSource = Callable[..., Awaitable[None]]
"""``source(runnable, chat_request, config, emit, **filters)``: runs the run, emitting its events."""


async def astream_events(
    runnable: Runnable[Any, Any],
    chat_request: ChatRequest,
    config: RunnableConfig | None,
    emit: Emit,
    **filters: Any,
) -> None:
    """Emit the run's events from ``astream_events``; ``filters`` are its include/exclude arguments."""
    events = runnable.astream_events(chat_request.runnable_input(), config, version="v2", **filters)
    async with aclosing(events):  # type: ignore[type-var]  # closing it cancels the run
        async for event in events:
            await emit(event)


def _sources() -> dict[str, EventSource]:
    from .callback_source import callback_events

    return {"astream_events": astream_events, "callbacks": callback_events}


EVENT_SOURCES = _sources()
"""The event sources by the name the ``event_source`` option gives them."""
