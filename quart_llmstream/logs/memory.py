"""A stream log in this process's memory, with bounded back-pressure.

Without ``keep`` it holds only what some reader has not read yet: a reader that falls ``bound`` events
behind makes the run wait for it, so a slow client bounds memory instead of growing it, and events go
as soon as every reader has them. With ``keep`` it holds the whole stream, for readers that join later.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

from ..events import Event
from .base import Entries, LogReader, StreamLog

__all__ = ["MemoryLog"]


class MemoryLog(StreamLog):
    def __init__(self, bound: int = 64, *, keep: bool = False, max_events: int | None = None) -> None:
        self.bound = bound
        self._keep = keep
        self._max_events = max_events
        self._events: list[Event] = []
        self._first = 1  # the number of self._events[0]
        self._last = 0  # the number of the last event appended
        self._readers: list[_MemoryReader] = []
        self._space: asyncio.Future[None] | None = None  # the run, waiting for a slow reader
        self.closed = False
        self._on_cancel: Callable[[], None] | None = None
        self._cancel_asked = False  # before the run attached
        self.on_close: Callable[[], object] | None = None
        self.on_idle: Callable[[], object] | None = None  # called when its last reader leaves

    async def append(self, event: Event) -> None:
        self._events.append(event)
        self._last += 1
        if self._max_events is not None and len(self._events) > self._max_events:
            del self._events[0]  # a kept log past its cap forgets its oldest event
            self._first += 1
        for reader in self._readers:
            if reader.waiter is not None:
                reader.wake()
        while self._readers and self._last - self._slowest() >= self.bound:
            self._space = asyncio.get_running_loop().create_future()
            await self._space

    def close(self, final: Iterable[Event]) -> None:
        for event in final:
            self._events.append(event)
            self._last += 1
        self.closed = True
        for reader in self._readers:
            reader.wake()
        if self.on_close is not None:
            self.on_close()

    def reader(self, after: int = 0) -> LogReader:
        """A reader after ``after``; if the log no longer holds the events after it, the reader starts at
        the oldest held, and the jump in numbers tells its response (``trimmed``)."""
        reader = _MemoryReader(self, after)
        self._readers.append(reader)
        return reader

    @property
    def last(self) -> int:
        """The number of the last event appended."""
        return self._last

    def skip_to(self, position: int) -> None:
        """Number the next event ``position + 1``: a copy of a stream whose start is gone."""
        assert not self._events, "only an empty log may skip"
        self._first, self._last = position + 1, position

    def request_cancel(self) -> None:
        if self.closed:
            return
        if self._on_cancel is None:
            self._cancel_asked = True
        else:
            self._on_cancel()

    def attach(self, on_cancel: Callable[[], None]) -> None:
        self._on_cancel = on_cancel
        if self._cancel_asked:
            self.request_cancel()

    def _slowest(self) -> int:
        readers = self._readers
        return readers[0].position if len(readers) == 1 else min(reader.position for reader in readers)

    def _read(self, reader: _MemoryReader) -> Entries:
        start = max(reader.position + 1, self._first)
        events = self._events[start - self._first :]
        reader.position = self._last
        if self._keep:
            self._make_space()  # it keeps every event, but a run waiting for this reader goes on
        else:
            self._trim()
        return list(enumerate(events, start))

    def _trim(self) -> None:
        """Drop what every reader has read, and let the run go on if it waited."""
        slowest = self._slowest() if self._readers else self._last
        if slowest >= self._first:
            del self._events[: slowest - self._first + 1]
            self._first = slowest + 1
        self._make_space()

    def _make_space(self) -> None:
        space = self._space
        if space is not None and not space.done() and (not self._readers or self._last - self._slowest() < self.bound):
            space.set_result(None)
            self._space = None

    def _leave(self, reader: _MemoryReader) -> None:
        self._readers.remove(reader)
        if not self._keep:
            self._trim()
        self._make_space()
        if not self._readers and self.on_idle is not None:
            self.on_idle()


class _MemoryReader(LogReader):
    __slots__ = ("_log", "ended", "position", "waiter")

    def __init__(self, log: MemoryLog, after: int) -> None:
        self._log = log
        self.position = after
        self.ended = False
        self.waiter: asyncio.Future[None] | None = None

    async def read(self) -> Entries:
        log = self._log
        if self.position >= log._last and not log.closed:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        entries = log._read(self)
        if log.closed:
            self.ended = True
        return entries

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    interrupt = wake

    @property
    def behind(self) -> int:
        return self._log._last - self.position

    @property
    def holds_up_run(self) -> bool:
        return self._log._last - self.position >= self._log.bound

    def close(self) -> None:
        if self in self._log._readers:
            self._log._leave(self)
