"""Holds across processes and hosts: a lease on the thread in a store they share, renewed while the run lives.

A run takes its thread's lease (``lease`` seconds) and renews it every fifth of that; its release deletes it. A
process killed mid-run renews nothing, so its threads are free again within ``lease`` seconds. A request that
stops the holder (``interrupt``, ``rollback``) marks the lease at each ask (a run that took the thread meanwhile
is stopped too): the holder sees the mark at its next renewal, wherever it runs, and stops its run, which lets
go; a holder whose store is away stops its run as its lease runs out. Waiting requests (``enqueue`` and those)
ask again every ``poll`` seconds.

:class:`PostgresHolds` keeps leases in a table of the app's PostgreSQL (the checkpointer's database will do);
:class:`RedisHolds` in Redis (one key per held thread, hash-tagged for a cluster).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

from .hold import Held, Strategy, ThreadHolds, busy_error

__all__ = ["LeaseHolds", "PostgresHolds", "RedisHolds"]

log = logging.getLogger("quart_llmstream")

Renewal = Literal["held", "stop", "lost"]


class LeaseHolds(ThreadHolds):
    """Holds as leases; a store implements claiming, renewing, freeing, marking and reading one."""

    def __init__(self, *, lease: float = 5.0, poll: float = 0.05) -> None:
        if lease <= 0 or poll <= 0:
            raise ValueError("lease and poll are seconds, above 0")
        self.lease, self.poll = lease, poll

    async def take(self, checkpointer: Any, thread_id: str, run_id: str, strategy: Strategy = "reject") -> Held:
        stopped: dict[str, None] = {}  # each run stopped, in order: a rollback goes back to before them all
        waited = False
        while not await self._claim(thread_id, run_id):
            waited = True
            if strategy == "reject":
                raise busy_error()
            stopping = strategy in ("interrupt", "rollback")  # whoever holds it now: another may have taken it
            if stopping and (holder := await self._mark(thread_id)) is not None:
                stopped[holder] = None
            await asyncio.sleep(self.poll)
        held = _Lease(self, thread_id, run_id)
        held.stopped_runs, held.waited = tuple(stopped), waited
        return held

    async def stop(self, thread_id: str, run_id: str | None = None) -> bool:
        return await self._mark(thread_id, run_id) is not None

    @contextlib.asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[None]:
        """A lease on ``key`` for as long as the block takes (a few round trips; a process killed inside it frees
        it within the lease), waited for by polling."""
        token = secrets.token_hex(8)
        while not await self._claim(key, token):
            await asyncio.sleep(self.poll / 5)
        try:
            yield
        finally:
            try:
                await self._free(key, token)
            except Exception:  # the lease runs out by itself
                log.warning("freeing a record's lease failed: it ends within the lease", exc_info=True)

    @abstractmethod
    async def _claim(self, thread_id: str, run_id: str) -> bool:
        """Take the lease if no live one is held."""

    @abstractmethod
    async def _renew(self, thread_id: str, run_id: str) -> Renewal:
        """Extend ``run_id``'s lease: still held, held and marked to stop, or lost."""

    @abstractmethod
    async def _free(self, thread_id: str, run_id: str) -> None:
        """Delete ``run_id``'s lease (not a later holder's)."""

    @abstractmethod
    async def _mark(self, thread_id: str, run_id: str | None = None) -> str | None:
        """Mark the live lease (``run_id``'s, when named) to stop; the run id holding it, or None."""


class _Lease(Held):
    def __init__(self, holds: LeaseHolds, thread_id: str, run_id: str) -> None:
        self._holds, self._thread_id, self._run_id = holds, thread_id, run_id
        self._stop: Callable[[], None] | None = None
        self._renewing = asyncio.get_running_loop().create_task(self._renew())
        self._released = False

    def on_stop(self, stop: Callable[[], None]) -> None:
        self._stop = stop

    async def _renew(self) -> None:
        """Renew every fifth of the lease; a store away (or stalled) for the whole lease stops the run as the
        lease runs out, before another process can take the thread, not when the store is back."""
        holds, stopping = self._holds, False
        held_until = time.monotonic() + holds.lease
        while True:
            await asyncio.sleep(holds.lease / 5)
            asked = time.monotonic()
            try:
                renewal = await asyncio.wait_for(holds._renew(self._thread_id, self._run_id), holds.lease / 5)
            except Exception:  # the store is away: try again, the lease lasts a while
                log.warning("renewing the lease on a thread failed", exc_info=True)
                if time.monotonic() + holds.lease / 5 < held_until:
                    continue
                renewal = "lost"
            if renewal == "lost":
                log.warning("a run lost its thread's lease (the store was away for longer than it): stopping it")
            else:
                held_until = asked + holds.lease
            if renewal != "held" and not stopping and self._stop is not None:
                stopping = True
                self._stop()

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._renewing
        try:
            await self._holds._free(self._thread_id, self._run_id)
        except Exception:  # the lease runs out by itself
            log.warning("freeing a thread's lease failed: it ends within the lease", exc_info=True)


_TABLE = """CREATE TABLE IF NOT EXISTS llmstream_holds (
    thread_id text PRIMARY KEY, run_id text NOT NULL, expires_at timestamptz NOT NULL,
    stop boolean NOT NULL DEFAULT false
)"""
_CLAIM = """INSERT INTO llmstream_holds (thread_id, run_id, expires_at)
VALUES (%s, %s, now() + %s * interval '1 second')
ON CONFLICT (thread_id) DO UPDATE SET run_id = excluded.run_id, expires_at = excluded.expires_at, stop = false
WHERE llmstream_holds.expires_at < now() RETURNING run_id"""
_RENEW = """UPDATE llmstream_holds SET expires_at = now() + %s * interval '1 second'
WHERE thread_id = %s AND run_id = %s RETURNING stop"""
_FREE = "DELETE FROM llmstream_holds WHERE thread_id = %s AND run_id = %s"
_MARK = """UPDATE llmstream_holds SET stop = true
WHERE thread_id = %s AND expires_at > now() AND (%s::text IS NULL OR run_id = %s) RETURNING run_id"""
_BUSY = "SELECT 1 FROM llmstream_holds WHERE thread_id = %s AND expires_at > now()"


class PostgresHolds(LeaseHolds):
    """Leases in the table ``llmstream_holds`` (made on first use) of the database at ``conninfo`` (a
    ``postgresql://`` URL), through a pool of its own (``psycopg_pool``, extra ``[postgres]``)."""

    def __init__(self, conninfo: str, *, lease: float = 5.0, poll: float = 0.05, max_size: int = 10) -> None:
        super().__init__(lease=lease, poll=poll)
        self._conninfo, self._max_size = conninfo, max_size
        self._pool: Any = None
        self._opening: asyncio.Lock | None = None

    async def _execute(self, query: str, *params: Any) -> tuple[Any, ...] | None:
        pool = self._pool or await self._open()
        async with pool.connection() as connection:
            cursor = await connection.execute(query, params)
            return None if cursor.description is None else await cursor.fetchone()

    async def _open(self) -> Any:
        self._opening = self._opening or asyncio.Lock()
        async with self._opening:
            if self._pool is None:
                from psycopg_pool import AsyncConnectionPool

                pool = AsyncConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self._max_size,
                    open=False,
                    kwargs={"autocommit": True},
                    check=AsyncConnectionPool.check_connection,  # a restarted server's: not handed out broken
                )
                await pool.open()
                async with pool.connection() as connection, connection.transaction():
                    await connection.execute("SELECT pg_advisory_xact_lock(7245320)")  # processes start at once
                    await connection.execute(_TABLE)
                self._pool = pool
        return self._pool

    async def _claim(self, thread_id: str, run_id: str) -> bool:
        return await self._execute(_CLAIM, thread_id, run_id, self.lease) is not None

    async def _renew(self, thread_id: str, run_id: str) -> Renewal:
        row = await self._execute(_RENEW, self.lease, thread_id, run_id)
        return "lost" if row is None else "stop" if row[0] else "held"

    async def _free(self, thread_id: str, run_id: str) -> None:
        await self._execute(_FREE, thread_id, run_id)

    async def _mark(self, thread_id: str, run_id: str | None = None) -> str | None:
        row = await self._execute(_MARK, thread_id, run_id, run_id)
        return None if row is None else str(row[0])

    async def busy(self, thread_id: str) -> bool:
        return await self._execute(_BUSY, thread_id) is not None

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


_RENEW_LUA = """if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('pexpire', KEYS[1], ARGV[2])
if redis.call('get', KEYS[2]) == ARGV[1] then return 2 end
return 1"""
_FREE_LUA = """if redis.call('get', KEYS[1]) == ARGV[1] then redis.call('del', KEYS[1], KEYS[2]) end
return 0"""
_MARK_LUA = """local holder = redis.call('get', KEYS[1])
if not holder or (ARGV[2] ~= '' and holder ~= ARGV[2]) then return false end
redis.call('set', KEYS[2], holder, 'PX', ARGV[1])
return holder"""


class RedisHolds(LeaseHolds):
    """Leases as keys ``llmstream:hold:{<thread>}`` in Redis at ``client`` (a ``redis://`` URL or a
    ``redis.asyncio`` client, a cluster's included; extra ``[redis]``). A client the app passes stays the app's to
    close; one made from a URL is closed at the app's end."""

    def __init__(self, client: Any, *, lease: float = 5.0, poll: float = 0.05) -> None:
        super().__init__(lease=lease, poll=poll)
        self._owns_client = isinstance(client, str)
        if isinstance(client, str):
            import redis.asyncio

            client = redis.asyncio.from_url(client)
        self._redis = client
        self._renew_script = client.register_script(_RENEW_LUA)
        self._free_script = client.register_script(_FREE_LUA)
        self._mark_script = client.register_script(_MARK_LUA)

    @staticmethod
    def _keys(thread_id: str) -> list[str]:
        key = f"llmstream:hold:{{{thread_id}}}"
        return [key, key + ":stop"]

    @property
    def _ms(self) -> int:
        return int(self.lease * 1000)

    async def _claim(self, thread_id: str, run_id: str) -> bool:
        return bool(await self._redis.set(self._keys(thread_id)[0], run_id, nx=True, px=self._ms))

    async def _renew(self, thread_id: str, run_id: str) -> Renewal:
        answer = await self._renew_script(keys=self._keys(thread_id), args=[run_id, self._ms])
        return "lost" if answer == 0 else "stop" if answer == 2 else "held"

    async def _free(self, thread_id: str, run_id: str) -> None:
        await self._free_script(keys=self._keys(thread_id), args=[run_id])

    async def _mark(self, thread_id: str, run_id: str | None = None) -> str | None:
        holder = await self._mark_script(keys=self._keys(thread_id), args=[self._ms, run_id or ""])
        return None if holder is None else holder.decode() if isinstance(holder, bytes) else str(holder)

    async def busy(self, thread_id: str) -> bool:
        return bool(await self._redis.exists(self._keys(thread_id)[0]))

    async def close(self) -> None:
        if self._owns_client:
            await self._redis.aclose()
