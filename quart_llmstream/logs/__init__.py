"""Stream logs: the seam between a run and the responses that read it.

The run appends a stream's events to its log (:mod:`.base`); responses read it from any position. A log lives
in memory (:mod:`.memory`), or, for streams a client can come back to, in a store (:mod:`.store`; Redis:
:mod:`.redis`); :mod:`.streams` opens the stream of a new run.
"""

from .base import LogReader, StreamLog
from .memory import MemoryLog
from .streams import Stream, open_stream

__all__ = ["LogReader", "MemoryLog", "Stream", "StreamLog", "open_stream"]
