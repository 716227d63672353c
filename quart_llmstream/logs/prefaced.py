"""A reader that gives some events first, then another reader's: how a client that connects to a thread (AG-UI's
``connect``) gets the thread as it is, then the live run's events as they come."""

from __future__ import annotations

from ..events import Event, RunStarted
from .base import Entries, LogReader

__all__ = ["Prefaced"]


class Prefaced(LogReader):
    """``first`` (its last one ending the stream when there is no ``then``), then ``then``'s events but its
    :class:`~..events.RunStarted` (``first`` has its own). Positions are not the log's: read it unnumbered."""

    def __init__(self, first: list[Event], then: LogReader | None = None) -> None:
        self._first, self._then = first, then
        self.position = 0
        self.ended = False

    async def read(self) -> Entries:
        if self._first:
            entries, self._first = list(enumerate(self._first, 1)), []
            self.ended = self._then is None
            return entries
        assert self._then is not None
        entries = [(seq, event) for seq, event in await self._then.read() if not isinstance(event, RunStarted)]
        self.ended = self._then.ended
        return entries

    def interrupt(self) -> None:
        if self._then is not None:
            self._then.interrupt()

    @property
    def behind(self) -> int:
        return 0 if self._then is None else self._then.behind

    @property
    def holds_up_run(self) -> bool:
        return self._then is not None and self._then.holds_up_run

    def close(self) -> None:
        if self._then is not None:
            self._then.close()
