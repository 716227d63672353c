"""Stream logs: where a run's events wait for the responses that read them."""

from .base import LogReader, StreamLog
from .memory import MemoryLog

__all__ = ["LogReader", "MemoryLog", "StreamLog"]
