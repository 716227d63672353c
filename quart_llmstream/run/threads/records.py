"""What an owner's list of threads shows: each thread's title, when it began and last ran, its status, its streams.

The checkpointer keeps what a thread holds; a record is the index a sidebar reads, kept in a LangGraph
``BaseStore`` (``AsyncPostgresStore`` beside an ``AsyncPostgresSaver``, or ``InMemoryStore``), one namespace per
owner, so a page of the list costs a page, not a scan of every checkpoint. A run writes its thread's record as it
starts (``busy``, with its stream) and as it ends (``idle`` or ``interrupted``).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ...owners import library_namespace, scoped
from .hold import LocalHolds, ThreadHolds

__all__ = ["LATEST_FIRST", "MAX_TITLE_CHARS", "Record", "ThreadRecords", "title_of"]

LATEST_FIRST = ("updated_at", True)
"""Threads listed by their latest activity, newest first: the order a store gives them in."""
MAX_TITLE_CHARS = 200
_TITLE_CHARS = 80  # a title made from the first question: its start
_KEPT_STREAMS = 64  # the stream ids a record remembers, to delete their logs with the thread (older: deleted)


@dataclass(frozen=True, slots=True)
class Record:
    thread_id: str
    title: str
    created_at: str
    updated_at: str
    status: str
    stream_id: str | None
    streams: tuple[str, ...]
    metadata: dict[str, Any]
    run_id: str | None = None  # the run going on, while one does
    queued: tuple[str, ...] = ()  # runs waiting their turn (in the background), in order

    def listed(self) -> dict[str, Any]:
        """The record as a list shows it."""
        return {key: getattr(self, key) for key in ("thread_id", "title", "created_at", "updated_at", "status")}


def title_of(question: str) -> str:
    """A thread's title by default: the start of its first question, on one line."""
    text = " ".join("".join(ch for ch in question[:1000] if ch.isprintable() or ch.isspace()).split())
    return text if len(text) <= _TITLE_CHARS else text[: _TITLE_CHARS - 1].rstrip() + "…"


class ThreadRecords:
    """The records of threads in ``store``, each owner's apart; ``holds`` (the app's) keep a record's changes one
    at a time across the processes they reach."""

    def __init__(self, store: Any, holds: ThreadHolds | None = None) -> None:
        self.store = store
        self._holds = holds or LocalHolds()
        self._locks: dict[tuple[str | None, str], tuple[asyncio.Lock, int]] = {}  # by record: the lock, its users

    @staticmethod
    def namespace(owner: str | None) -> tuple[str, ...]:
        return library_namespace("threads", owner)

    async def get(self, owner: str | None, name: str) -> Record | None:
        item = await self.store.aget(self.namespace(owner), name)
        return None if item is None else _record(item)

    async def started(
        self, owner: str | None, name: str, question: str, stream_id: str | None, run_id: str | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """The run ``run_id`` starts on the thread: the record is made (titled by ``question``) or marked
        ``busy``; the thread's metadata, and the streams the record no longer remembers (their logs go now)."""
        gone: list[str] = []

        def start(value: dict[str, Any] | None) -> dict[str, Any]:
            value = value if value is not None else {"title": title_of(question), "created_at": _now()}
            streams, gone[:] = _streams(value, stream_id)
            value["queued"] = [q for q in value.get("queued", ()) if q != run_id]
            return value | {"status": "busy", "stream_id": stream_id, "streams": streams, "run_id": run_id}

        value = await self._change(owner, name, start)
        return dict((value or {}).get("metadata") or {}), gone

    async def queued(self, owner: str | None, name: str, question: str, run_id: str, make: bool = True) -> list[str]:
        """The run ``run_id`` waits its turn: its stream is the thread's (listed, joined, deleted with it) before it
        starts; the streams the record forgets. Without ``make``, no record (a thread deleted) is made."""
        gone: list[str] = []

        def queue(value: dict[str, Any] | None) -> dict[str, Any] | None:
            if value is None and not make:  # the run finds no thread when its turn comes
                return None
            value = value if value is not None else {"title": title_of(question), "created_at": _now()}
            streams, gone[:] = _streams(value, run_id)
            return value | {"streams": streams, "queued": [*value.get("queued", ()), run_id]}

        await self._change(owner, name, queue)
        return gone

    async def unqueued(self, owner: str | None, name: str, run_id: str) -> None:
        """The run ``run_id`` waits no more (cancelled, or refused, before it started)."""

        def unqueue(value: dict[str, Any] | None) -> dict[str, Any] | None:
            if value is None or run_id not in value.get("queued", ()):
                return None
            return value | {"queued": [q for q in value["queued"] if q != run_id]}

        await self._change(owner, name, unqueue)

    async def ended(self, owner: str | None, name: str, status: str, run_id: str | None = None) -> bool:
        """The run ``run_id`` on the thread ended: its status now (``idle``, ``interrupted``, ``error``: its last
        run failed); a deleted thread stays so. Whether the run was asked to roll back (:meth:`roll_back`)."""
        asked = False

        def end(value: dict[str, Any] | None) -> dict[str, Any] | None:
            nonlocal asked
            if value is None:
                return None
            asked = run_id is not None and value.pop("rollback", None) == run_id
            return value | {"status": status, "stream_id": None, "run_id": None}

        await self._change(owner, name, end)
        return asked

    async def roll_back(self, owner: str | None, name: str, run_id: str) -> None:
        """Ask the run ``run_id`` going on on the thread to take out what it wrote as it ends, before it lets go of
        the thread (so no run waiting its turn starts from it)."""
        await self._change(
            owner, name, lambda value: value | {"rollback": run_id} if value and value.get("run_id") == run_id else None
        )

    async def create(
        self, owner: str | None, name: str, metadata: dict[str, Any], title: str = "", status: str = "idle"
    ) -> Record:
        """A thread made before its first run (LangGraph's ``POST /threads``, or a copy of one), with ``metadata``
        to search by."""
        value = {"title": title, "created_at": _now(), "status": status, "streams": []} | _metadata(metadata)
        await self._change(owner, name, lambda _: value)
        record = await self.get(owner, name)
        assert record is not None
        return record

    async def update_metadata(self, owner: str | None, name: str, metadata: dict[str, Any]) -> Record | None:
        """The record with ``metadata`` merged into its own (LangGraph's ``PATCH /threads/{id}``)."""

        def merge(value: dict[str, Any] | None) -> dict[str, Any] | None:
            return None if value is None else value | _metadata(dict(value.get("metadata") or {}) | metadata)

        return None if await self._change(owner, name, merge) is None else await self.get(owner, name)

    async def rename(self, owner: str | None, name: str, title: str) -> Record | None:
        renamed = await self._change(owner, name, lambda value: None if value is None else value | {"title": title})
        return None if renamed is None else await self.get(owner, name)

    async def forget_stream(self, owner: str | None, name: str, stream_id: str, status: str | None) -> None:
        """The thread no longer had the run ``stream_id`` (it was deleted, or rolled back); ``status`` is the
        thread's now, when that run was its last."""

        def forget(value: dict[str, Any] | None) -> dict[str, Any] | None:
            if value is None:
                return None
            value["streams"] = [s for s in value.get("streams", ()) if s != stream_id]
            value["queued"] = [q for q in value.get("queued", ()) if q != stream_id]
            value["stream_id"] = None if value.get("stream_id") == stream_id else value.get("stream_id")
            return value if status is None else value | {"status": status}

        await self._change(owner, name, forget)

    async def _change(
        self, owner: str | None, name: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None]
    ) -> dict[str, Any] | None:
        """Read a record, change it and write it, one change at a time per record (:meth:`_alone`): a store has no
        partial update, and two changes at once (six runs queued together, a rename as a run starts, a run queued
        on one process as the run on another ends) would each write over the other. ``change`` gets the value
        (None: no record) and gives the new one (None: nothing to write); the value written."""
        async with self._alone(owner, name):
            item = await self.store.aget(self.namespace(owner), name)
            value = change(None if item is None else dict(item.value))
            if value is not None:
                await self.store.aput(self.namespace(owner), name, value, index=False)
            return value

    async def delete(self, owner: str | None, name: str) -> None:
        """The record goes, between two changes: a change read before it (a rename) never writes it back."""
        async with self._alone(owner, name):
            await self.store.adelete(self.namespace(owner), name)

    @contextlib.asynccontextmanager
    async def _alone(self, owner: str | None, name: str) -> AsyncIterator[None]:
        """The record to this block alone: under a lock in this process, under the holds' lease across them."""
        key = (owner, name)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = lock, users + 1
        try:
            async with lock, self._holds.exclusive(f"{scoped(name, owner)}/record"):  # no thread id has a /
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = lock, users - 1

    async def busy(self, owner: str | None) -> list[Record]:
        """The owner's threads a run is on (their records say so)."""
        namespace, busy, offset = self.namespace(owner), [], 0
        while items := await self.store.asearch(namespace, filter={"status": "busy"}, limit=100, offset=offset):
            busy += [_record(item) for item in items if item.namespace == namespace]
            offset += len(items)
        return busy

    async def waiting(self, owner: str | None) -> list[Record]:
        """The owner's threads runs wait their turn on (their records say so)."""
        namespace, found, offset = self.namespace(owner), [], 0
        while items := await self.store.asearch(namespace, limit=100, offset=offset):
            found += [_record(item) for item in items if item.namespace == namespace and item.value.get("queued")]
            offset += len(items)
        return found

    async def page(
        self,
        owner: str | None,
        limit: int,
        offset: int,
        metadata: dict[str, Any] | None = None,
        status: str | None = None,
        names: list[str] | None = None,
        order: tuple[str, bool] = LATEST_FIRST,
    ) -> tuple[list[Record], bool]:
        """The owner's threads (those whose metadata holds ``metadata``'s pairs, of ``status``, among ``names``) in
        ``order`` (a :class:`Record` field, and whether descending; latest activity first by default): ``limit`` of
        them from ``offset``, and whether more follow. A store's search gives its items by ``updated_at``, newest
        first (``AsyncPostgresStore``); ``InMemoryStore`` gives them as they were made, named ones are read one by
        one, and another order needs them all: those are filtered as a store filters and sorted here."""
        namespace, where = self.namespace(owner), _metadata(metadata or {}) if metadata else None
        where = None if where is None else {key: value for key, value in where.items() if key != "metadata"}
        where = where if status is None else (where or {}) | {"status": status}
        memory = sys.modules.get("langgraph.store.memory")
        in_memory = memory is not None and isinstance(self.store, memory.InMemoryStore)
        if names is not None or in_memory or order != LATEST_FIRST:
            if names is None:
                items = await self.store.asearch(namespace, filter=where, limit=1 << 30)
            else:
                read = [await self.store.aget(namespace, name) for name in dict.fromkeys(names)]
                pairs = (where or {}).items()
                items = [item for item in read if item and all(item.value.get(k) == v for k, v in pairs)]
            field, descending = order
            mine = (_record(item) for item in items if item.namespace == namespace)
            ordered = sorted(mine, key=lambda record: getattr(record, field), reverse=descending)
            records = ordered[offset : offset + limit + 1]
        else:
            items = await self.store.asearch(namespace, filter=where, limit=limit + 1, offset=offset)
            records = [_record(item) for item in items if item.namespace == namespace]
        return records[:limit], len(records) > limit


def _record(item: Any) -> Record:
    value = item.value
    return Record(
        thread_id=item.key,
        title=str(value.get("title", "")),
        created_at=str(value.get("created_at") or item.created_at.isoformat()),
        updated_at=item.updated_at.isoformat(),
        status=str(value.get("status", "idle")),
        stream_id=value.get("stream_id"),
        streams=tuple(value.get("streams", ())),
        metadata=dict(value.get("metadata") or {}),
        run_id=value.get("run_id"),
        queued=tuple(value.get("queued", ())),
    )


def _streams(value: dict[str, Any], stream_id: str | None) -> tuple[list[str], list[str]]:
    """A record's streams with ``stream_id`` (last, when new: they are in the order their runs were made), and
    those it no longer remembers: the oldest past :data:`_KEPT_STREAMS` that are neither going on nor waiting
    their turn. A record remembers every stream whose log is kept, to delete it with the thread."""
    streams = list(value.get("streams", ()))
    streams += [] if stream_id is None or stream_id in streams else [stream_id]
    going = {*value.get("queued", ()), value.get("stream_id"), stream_id}
    gone = [s for s in streams if s not in going][: max(len(streams) - _KEPT_STREAMS, 0)]
    return [s for s in streams if s not in gone], gone


def _metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """A record's ``metadata``, and each pair of it again at the top (``m:<key>``): a store filters on top-level
    keys, so a search by some pairs finds the records that hold them, whatever else they hold."""
    return {"metadata": metadata} | {f"m:{key}": value for key, value in metadata.items()}


def _now() -> str:
    return datetime.now(UTC).isoformat()
