"""Event sources: where the v2 events of a run come from.

The default source is LangChain's own ``Runnable.astream_events(version="v2")``, which sees every
step of any runnable (chains, agents, LangGraph graphs). The lean source (``callback_source``) gives
the same events for models, tools and custom events at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any, cast

from langchain_core.runnables import Runnable, RunnableConfig

from .chat_request import ChatRequest

__all__ = ["EVENT_SOURCES", "EventStream", "astream_events"]

EventStream = AsyncGenerator[Mapping[str, Any], None]
"""v2 events of one run; closing it cancels the run."""


def astream_events(
    runnable: Runnable[Any, Any],
    chat_request: ChatRequest,
    config: RunnableConfig | None = None,
    **filters: Any,
) -> EventStream:
    """The run's v2 events. Close the iterator (``aclosing``) to cancel the run.

    ``filters`` are ``astream_events``' own ``include_names``/``include_types``/``include_tags`` and
    ``exclude_*`` arguments.
    """
    events = runnable.astream_events(chat_request.runnable_input(), config, version="v2", **filters)
    return cast(EventStream, events)


def _sources() -> dict[str, Callable[..., EventStream]]:
    from .callback_source import callback_events

    return {"astream_events": astream_events, "callbacks": callback_events}


EVENT_SOURCES = _sources()
"""The event sources by the name the ``event_source`` option gives them."""
