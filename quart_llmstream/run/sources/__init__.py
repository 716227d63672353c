"""Event sources, by the name the ``event_source`` option gives them.

The default is LangChain's own ``Runnable.astream_events(version="v2")``, which sees every step of any
runnable (chains, agents, LangGraph graphs). The lean ``callbacks`` source gives the same events for
models, tools and custom events at a fraction of the cost.
"""

from __future__ import annotations

from .astream_events import astream_events
from .base import Emit, EventSource
from .callbacks import callback_events

__all__ = ["EVENT_SOURCES", "Emit", "EventSource", "astream_events", "callback_events"]

EVENT_SOURCES: dict[str, EventSource] = {"astream_events": astream_events, "callbacks": callback_events}
