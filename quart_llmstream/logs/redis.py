"""Resumable streams on Redis Streams, for many processes and hosts (the ``redis`` extra).

The run's own client is served in-process, from a :class:`~.memory.MemoryLog`, so Redis never delays a
token; behind it the log is mirrored to Redis in batches (whatever a few milliseconds produced, one
pipelined ``XADD`` with the entry id ``0-<last event number>``; the final event at once). Any process
follows a stream with one cursor, ``XREAD BLOCK`` from the last entry it had, so replay and live tail have
no gap and no duplicate, into memory that all its followers of the stream read. A stream's keys
share the hash tag ``{<key>}`` (Redis Cluster), its key being its id within its owner's
(:func:`~quart_llmstream.owners.scoped`: ``alice:<id>``, or the id alone without owners):

- ``llmstream:{key}:ev`` the events (a stream, capped with ``MAXLEN ~``), ``llmstream:{key}:meta`` owner (JSON:
  ``null`` is no owner, ``""`` an owner), event kinds and protocol ids, ``llmstream:{key}:lease`` held by the
  producer (``SET NX PX``, renewed), ``llmstream:{key}:cancel`` a cancel flag, and the channel
  ``llmstream:cancel`` that nudges the producer (:mod:`.cancels`).

A producer that dies leaves its lease to expire: followers then end with a ``lost`` error. A Redis that
fails mid-stream costs resumability for that stream, never the connected client: it keeps every token,
and the outage is logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

from ..events import Event, RunEnded
from ..owners import scoped
from .base import LogReader, StreamLog
from .cancels import CHANNEL, Asked, CancelListener
from .codec import from_record, to_record
from .memory import MemoryLog
from .store import StoreDown, StreamConflict, StreamMeta, StreamStore

__all__ = ["RedisStore"]

log = logging.getLogger("quart_llmstream")

LEASE_MS = 6000  # a producer that stops renewing is taken for dead after this long
_RENEW_SECONDS = LEASE_MS / 3000
_GATHER_SECONDS = 0.005  # how long a batch of events gathers before it is written
_CLOSE_SECONDS = 2.0  # how long closing the store waits for its runs' last writes
_BLOCK_MS = 1000  # a followed stream's XREAD BLOCK; then it checks the producer's lease
_MAX_CONNECTIONS = 10_000  # each stream followed in a process holds one connection while it blocks
_RUNNING_TTL = 3600  # seconds added to a running stream's keys at each write


def _key(key: str, part: str) -> str:
    return f"llmstream:{{{key}}}:{part}"


class RedisStore(StreamStore):
    def __init__(self, client: Any, ttl: float, max_frames: int) -> None:
        self._owns_client = isinstance(client, str)  # a client the app passed in is the app's to close
        if isinstance(client, str):
            from redis.asyncio import Redis

            client = Redis.from_url(client, max_connections=_MAX_CONNECTIONS)
        self.redis = client
        self._ttl = int(ttl)
        self._max_entries = max_frames
        self._instance = secrets.token_hex(8)
        self._producing: dict[str, _MirroredLog | Asked] = {}
        self._tails: dict[str, _Tail] = {}
        self._cancels = CancelListener(client, self._producing, lambda key: _key(key, "cancel"))
        self.down = False  # an outage was logged and has not ended yet

    async def create(self, stream_id: str, meta: StreamMeta, bound: int) -> StreamLog:
        await self._cancels.start()
        key = scoped(stream_id, meta.owner)
        known = self._producing.get(key)
        if isinstance(known, Asked) or (known is not None and not known.closed):
            raise StreamConflict(stream_id)  # it runs here
        asked = self._producing[key] = Asked()  # a cancel from now on is kept for the log
        redis = self.redis
        try:
            token = f"{self._instance}:{secrets.token_hex(8)}"  # a retried SET finds its own lease: not a conflict
            taken = await redis.set(_key(key, "lease"), token, nx=True, px=LEASE_MS)
            if not taken and await redis.get(_key(key, "lease")) not in (token, token.encode()):
                raise StreamConflict(stream_id)
            fields = {"owner": json.dumps(meta.owner), "events": ",".join(meta.events), "ids": json.dumps(meta.ids)}
            async with redis.pipeline(transaction=False) as pipe:
                pipe.delete(_key(key, "ev"), _key(key, "cancel"), _key(key, "meta"))
                pipe.hset(_key(key, "meta"), mapping=fields)
                pipe.expire(_key(key, "meta"), self._ttl + _RUNNING_TTL)
                await pipe.execute()
        except BaseException as exc:
            if self._producing.get(key) is asked:
                del self._producing[key]
            if not isinstance(exc, Exception) or isinstance(exc, StreamConflict):
                raise
            self.failed(exc)
            raise StoreDown(stream_id) from exc  # not resumable, but the client gets its answer
        self.recovered()
        stream_log = self._producing[key] = _MirroredLog(self, key, bound)
        if asked.cancelled:
            stream_log.request_cancel()
        return stream_log

    async def open(self, stream_id: str, owner: str | None) -> tuple[StreamMeta, LogReader] | None:
        key = scoped(stream_id, owner)
        try:
            fields = await self.redis.hgetall(_key(key, "meta"))
        except Exception as exc:
            self.failed(exc)
            return None
        meta = _meta(fields)
        if meta is None or meta.owner != owner:
            return None
        tail = self._tails.get(key)
        if tail is None or tail.log.closed:  # a finished tail may be of an earlier stream of the same id
            tail = self._tails[key] = _Tail(self, key)
        return meta, tail.log.reader(0)

    async def cancel(self, stream_id: str, owner: str | None) -> bool:
        redis, key = self.redis, scoped(stream_id, owner)
        try:
            stored = await redis.hget(_key(key, "meta"), "owner")
            if stored is None or _owner(stored) != owner or not await redis.exists(_key(key, "lease")):
                return False
            await redis.set(_key(key, "cancel"), 1, ex=self._ttl + _RUNNING_TTL)  # seen at the next write
            await redis.publish(CHANNEL, key)  # at once (not pipelined: Redis Cluster refuses that)
        except Exception as exc:  # no store, no stream to reach: answered as unknown
            self.failed(exc)
            return False
        return True

    async def running(self, stream_id: str, owner: str | None) -> bool:
        try:
            return bool(await self.redis.exists(_key(scoped(stream_id, owner), "lease")))
        except Exception as exc:
            self.failed(exc)
            return False

    async def delete(self, stream_id: str, owner: str | None) -> None:
        key = scoped(stream_id, owner)
        if not await self.redis.exists(_key(key, "lease")):  # one key at a time: a cluster refuses more
            for part in ("ev", "meta", "cancel"):
                await self.redis.delete(_key(key, part))

    async def close(self) -> None:
        """Let the streams' mirrors write their ends (and let go of their leases) first: the runs have ended."""
        if mirrors := [log.mirror for log in self._producing.values() if isinstance(log, _MirroredLog)]:
            await asyncio.wait(mirrors, timeout=_CLOSE_SECONDS)
        await self._cancels.close()
        if self._owns_client:
            with contextlib.suppress(Exception):
                await self.redis.aclose()

    def failed(self, exc: BaseException) -> None:
        """Log an outage once, not once per write."""
        if not self.down:
            self.down = True
            log.warning("Redis is unavailable; streams go on without resume: %s", exc)

    def recovered(self) -> None:
        if self.down:
            self.down = False
            log.warning("Redis is available again")


def _owner(stored: bytes) -> str | bool | None:
    """The owner a stream's meta holds (JSON), or False for one this version did not write."""
    try:
        owner = json.loads(stored)
    except ValueError:
        return False
    return owner if owner is None or isinstance(owner, str) else False


def _meta(fields: dict[bytes, bytes]) -> StreamMeta | None:
    """A stream's meta, or None: no stream (or one of an earlier version's)."""
    owner = _owner(fields.get(b"owner", b""))
    if owner is False:
        return None
    events = tuple(kind for kind in fields.get(b"events", b"").decode().split(",") if kind)
    return StreamMeta(owner, events, json.loads(fields.get(b"ids") or "{}"))  # type: ignore[arg-type]


class _MirroredLog(MemoryLog):
    """The run's log: served from memory to the run's own client, and mirrored to Redis behind it."""

    def __init__(self, store: RedisStore, key: str, bound: int) -> None:
        super().__init__(bound)
        self._store, self._id = store, key
        self._pending: list[Event] = []
        self._mirrored = True  # until Redis fails this stream
        self._written = 0  # the number of the last event in Redis
        self._wake = asyncio.Event()
        self.mirror = asyncio.get_running_loop().create_task(self._mirroring())

    async def append(self, event: Event) -> None:
        if self._mirrored:
            self._pending.append(event)
            self._wake.set()
        await super().append(event)

    def close(self, final: Any) -> None:
        final = list(final)
        if self._mirrored:
            self._pending.extend(final)
            self._wake.set()
        super().close(final)

    async def _mirroring(self) -> None:
        store, redis, key = self._store, self._store.redis, self._id
        try:
            while not (self.closed and not self._pending):
                try:
                    await asyncio.wait_for(self._wake.wait(), _RENEW_SECONDS)
                except TimeoutError:
                    await self._write([])  # a quiet run (a long tool call) still holds its lease
                    continue
                self._wake.clear()
                if not self.closed:
                    await asyncio.sleep(_GATHER_SECONDS)
                batch, self._pending = self._pending, []
                await self._write(batch)
            async with redis.pipeline(transaction=False) as pipe:
                pipe.delete(_key(key, "lease"))
                pipe.expire(_key(key, "ev"), store._ttl)
                pipe.expire(_key(key, "meta"), store._ttl)
                await pipe.execute()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # resume is lost for this stream; its own client is not
            self._mirrored, self._pending = False, []
            store.failed(exc)
        finally:
            if store._producing.get(key) is self:  # not a new run of the same id
                del store._producing[key]

    async def _write(self, batch: list[Event]) -> None:
        store, key = self._store, self._id
        async with store.redis.pipeline(transaction=False) as pipe:
            if batch:
                first, last = self._written + 1, self._written + len(batch)
                fields = {"f": first, "b": json.dumps([to_record(event) for event in batch])}
                pipe.xadd(_key(key, "ev"), fields, id=f"0-{last}", maxlen=store._max_entries, approximate=True)
                pipe.expire(_key(key, "ev"), store._ttl + _RUNNING_TTL)
            pipe.set(_key(key, "lease"), store._instance, xx=True, px=LEASE_MS)
            pipe.get(_key(key, "cancel"))
            replies = await pipe.execute()
        if replies[-2] is None:  # the id is this run's no more (Redis lost its data): another run may take it
            raise ConnectionError("the stream's lease is gone: its id is no longer this run's")
        if batch:
            self._written = last
        store.recovered()
        if replies[-1]:
            self.request_cancel()


class _Tail:
    """The followers' side of a stream in one process: one cursor (``XREAD BLOCK`` from the last entry
    read) copies the stream into a kept in-memory log that every local follower reads, so a hundred
    followers of a stream cost one Redis read, not a hundred. It ends with the stream, or when its last
    follower leaves."""

    def __init__(self, store: RedisStore, key: str) -> None:
        self._store, self._id = store, key
        self.log = MemoryLog(store._max_entries, keep=True, max_events=store._max_entries)
        self.log.on_idle = self._stop
        self._task = asyncio.get_running_loop().create_task(self._follow())

    def _stop(self) -> None:
        self._task.cancel()
        if self._store._tails.get(self._id) is self:
            del self._store._tails[self._id]

    async def _follow(self) -> None:
        store, stream_log, key, cursor = self._store, self.log, _key(self._id, "ev"), "0-0"
        try:
            while True:
                reply = await store.redis.xread({key: cursor}, count=256, block=_BLOCK_MS)
                if not reply:
                    if await store.redis.exists(_key(self._id, "lease")):
                        continue
                    reply = await store.redis.xread({key: cursor}, count=256)  # written just before it ended?
                    if not reply:
                        return stream_log.close([RunEnded.failed("lost")])
                for entry_id, fields in reply[0][1]:
                    cursor, first = entry_id.decode(), int(fields[b"f"])
                    if first > stream_log.last + 1:  # MAXLEN let go of events no follower here has had
                        if stream_log.last:
                            return stream_log.close([RunEnded.failed("trimmed")])
                        stream_log.skip_to(first - 1)
                    for event in map(from_record, json.loads(fields[b"b"])):
                        if type(event) is RunEnded:
                            return stream_log.close([event])
                        await stream_log.append(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            store.failed(exc)
            stream_log.close([RunEnded.failed("lost")])
