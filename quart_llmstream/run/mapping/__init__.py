"""Mapping: LangChain's v2 events to the stream's typed events (:mod:`...events`), for one stream at a time.

:mod:`.mapper` keeps what one blueprint maps and makes a :class:`StreamMapper` per stream: tokens, reasoning,
tools, custom events, block boundaries; :mod:`.graphs` adds a LangGraph graph's handlers (interrupts, its state,
predicted state), :mod:`.state` the shared state a stream sends, :mod:`.tally` what its end reports, and
:mod:`.endings` what a run leaves waiting; with metrics on, :mod:`.timing`'s :class:`TimedTally` times it.
The event hook's view is :mod:`.hook`.
"""

from .hook import EventHook
from .mapper import Mapper, StreamMapper
from .state import emit_state
from .timing import TimedTally

__all__ = ["EventHook", "Mapper", "StreamMapper", "TimedTally", "emit_state"]
