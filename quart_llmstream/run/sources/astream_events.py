"""The default event source: LangChain's ``Runnable.astream_events(version="v2")``."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from .base import Emit

__all__ = ["astream_events"]


async def astream_events(
    runnable: Runnable[Any, Any],
    inputs: Any,
    config: RunnableConfig | None,
    emit: Emit,
    **filters: Any,
) -> None:
    """Emit the run's events from ``astream_events``; ``filters`` are its include/exclude arguments."""
    events = runnable.astream_events(inputs, config, version="v2", **filters)
    async with aclosing(events):  # type: ignore[type-var]  # closing it cancels the run
        async for event in events:
            await emit(event)
