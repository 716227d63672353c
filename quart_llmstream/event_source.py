"""Event sources: where the v2 events of a run come from.

The default source is LangChain's own ``Runnable.astream_events(version="v2")``, which sees every
step of any runnable (chains, agents, LangGraph graphs).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import Any, cast

from langchain_core.runnables import Runnable, RunnableConfig

from .chat_request import ChatRequest

__all__ = ["EventStream", "astream_events"]

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
