"""Event sources, by the name the ``event_source`` option gives them.

The default is LangChain's own ``Runnable.astream_events(version="v2")``, which sees every step of any
runnable (chains, agents, LangGraph graphs). The lean ``callbacks`` source gives the same events for
models, tools and custom events at a fraction of the cost. The ``graph`` source is the LangGraph protocol's:
a graph's own stream modes, which only the graph makes.
"""

from __future__ import annotations

from .astream_events import astream_events
from .base import Emit, EventSource
from .callbacks import callback_events
from .graph_stream import graph_stream

__all__ = ["EVENT_SOURCES", "Emit", "EventSource", "astream_events", "callback_events", "graph_stream"]

EVENT_SOURCES: dict[str, EventSource] = {
    "astream_events": astream_events,
    "callbacks": callback_events,
    "graph": graph_stream,  # a protocol's choice (LangGraph's), not an option
}
