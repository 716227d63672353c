"""What a stream log is: the run appends a stream's events, responses read them, from any position.

Events are numbered from 1 in the order they were appended; a reader starts after a position (0: from
the start) and follows the log until its last event, :class:`~quart_llmstream.events.RunEnded`, which
:meth:`StreamLog.close` appends. Keeping the run and its readers apart is what lets a response end (its
client gone) while the run goes on, and a second response follow the same run. The first log lives in
memory; a shared store implements the same interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

from ..events import Event

__all__ = ["LogReader", "StreamLog"]

Entries = list[tuple[int, Event]]


class LogReader(ABC):
    """One response's place in a log."""

    position: int
    """The number of the last event read."""
    ended: bool
    """The final event has been read."""

    @abstractmethod
    async def read(self) -> Entries:
        """The events after ``position``, waiting for at least one; ``[]`` when :meth:`interrupt` woke it."""

    @abstractmethod
    def interrupt(self) -> None:
        """Make a waiting :meth:`read` return ``[]`` now (time for a heartbeat)."""

    @property
    @abstractmethod
    def behind(self) -> int:
        """How many events were appended that this reader has not read."""

    @property
    @abstractmethod
    def holds_up_run(self) -> bool:
        """The run waits for this reader: it is the log's ``bound`` behind."""

    @abstractmethod
    def close(self) -> None:
        """The reader leaves: the run no longer waits for it."""


class StreamLog(ABC):
    bound: int
    """Events a reader may fall behind before :meth:`append` waits for it (back-pressure)."""

    @abstractmethod
    async def append(self, event: Event) -> None:
        """Add an event; waits while a reader is ``bound`` events behind."""

    @abstractmethod
    def close(self, final: Iterable[Event]) -> None:
        """Add the final events, without waiting for readers: the log is complete."""

    @abstractmethod
    def reader(self, after: int = 0) -> LogReader:
        """A reader of the events after position ``after``."""

    @abstractmethod
    def request_cancel(self) -> None:
        """Ask the run that writes this log to stop: a client cancelled it (wherever the cancel came in); asked
        before the run attached, it reaches the run when it does."""

    @abstractmethod
    def attach(self, on_cancel: Callable[[], None]) -> None:
        """The run that writes this log: how a cancel reaches it."""
