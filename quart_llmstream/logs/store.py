"""Where resumable streams live: a store keeps each stream's log under its id, for any response to follow.

A store creates the log a run writes (refusing an id whose run is still going: ``409``), opens a reader
on a stream from any position (``None`` for an id it does not know: ``204``), and carries a cancel to the
run wherever it runs. Stream ids are each owner's own: a store keeps a stream under its id within its owner's
(:func:`~quart_llmstream.owners.scoped`), so another owner's id is, to a request, an id it does not know.
The memory store serves one process; the Redis store (:mod:`.redis`) many processes and hosts.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from ..owners import scoped
from .base import LogReader, StreamLog
from .memory import MemoryLog

__all__ = ["MemoryStore", "StoreDown", "StreamConflict", "StreamMeta", "StreamStore"]


class StreamConflict(Exception):
    """A stream of that id is still running."""


class StoreDown(Exception):
    """The store cannot keep a new stream now (Redis is down): the run goes on for its own client, unresumable."""


@dataclass(frozen=True)
class StreamMeta:
    """What a response needs to follow a stream it did not start: who owns it, and how to encode it."""

    owner: str | None
    events: tuple[str, ...]
    ids: dict[str, str] = field(default_factory=dict)


class StreamStore(ABC):
    @abstractmethod
    async def create(self, stream_id: str, meta: StreamMeta, bound: int) -> StreamLog:
        """The log of a new run of ``meta.owner``'s ``stream_id``; :class:`StreamConflict` while one is running,
        :class:`StoreDown` when the store cannot keep it."""

    @abstractmethod
    async def open(self, stream_id: str, owner: str | None) -> tuple[StreamMeta, LogReader] | None:
        """A reader of the owner's stream from its start, or None when there is nothing to resume."""

    @abstractmethod
    async def cancel(self, stream_id: str, owner: str | None) -> bool:
        """Stop the owner's running stream; False when there is none."""

    @abstractmethod
    async def running(self, stream_id: str, owner: str | None) -> bool:
        """A run of the owner's ``stream_id`` is still going."""

    @abstractmethod
    async def delete(self, stream_id: str, owner: str | None) -> None:
        """Forget the owner's finished stream (its thread was deleted); a running one is left to end."""

    async def close(self) -> None:  # noqa: B027  # most stores hold nothing to release
        """Release connections, at the app's end."""


class MemoryStore(StreamStore):
    """Streams in this process's memory, kept ``ttl`` seconds after their end."""

    def __init__(self, ttl: float, max_frames: int) -> None:
        self._ttl = ttl
        self._max_frames = max_frames
        self._streams: dict[str, tuple[StreamMeta, MemoryLog]] = {}

    async def create(self, stream_id: str, meta: StreamMeta, bound: int) -> StreamLog:
        key = scoped(stream_id, meta.owner)
        known = self._streams.get(key)
        if known is not None and not known[1].closed:
            raise StreamConflict(stream_id)
        log = MemoryLog(bound, keep=True, max_events=self._max_frames)
        self._streams[key] = (meta, log)
        log.on_close = lambda: asyncio.get_running_loop().call_later(self._ttl, self._expire, key, log)
        return log

    async def open(self, stream_id: str, owner: str | None) -> tuple[StreamMeta, LogReader] | None:
        known = self._streams.get(scoped(stream_id, owner))
        if known is None or known[0].owner != owner:
            return None
        meta, log = known
        return meta, log.reader(0)

    async def cancel(self, stream_id: str, owner: str | None) -> bool:
        known = self._streams.get(scoped(stream_id, owner))
        if known is None or known[1].closed or known[0].owner != owner:
            return False
        known[1].request_cancel()
        return True

    async def running(self, stream_id: str, owner: str | None) -> bool:
        known = self._streams.get(scoped(stream_id, owner))
        return known is not None and not known[1].closed and known[0].owner == owner

    async def delete(self, stream_id: str, owner: str | None) -> None:
        known = self._streams.get(key := scoped(stream_id, owner))
        if known is not None and known[1].closed:
            del self._streams[key]

    def _expire(self, key: str, log: MemoryLog) -> None:
        if self._streams.get(key, (None, None))[1] is log:
            del self._streams[key]
