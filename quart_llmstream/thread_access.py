"""A blueprint's threads as its routes reach them: who asks, the graph that keeps them, their state and history,
their records — each owner's own, every refusal a :class:`~.errors.RequestError` (``400`` for a name that is not a
thread id, ``404`` for a thread that is not there or is another owner's).

:mod:`.thread_routes` serves them in every protocol's shapes; a protocol with a thread API of its own (LangGraph's)
gets them with their runs (:class:`~.thread_runs.ThreadRuns`) and answers in its own.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Self
from uuid import uuid4

from quart import request

from .errors import RequestError
from .extension import LLMStream
from .logs import LogReader
from .logs.store import StreamStore
from .owners import owner_of
from .request import ChatRequest
from .request.validation import check_metadata
from .run import Preparer
from .run.threads import LATEST_FIRST, Record, Recorded, Strategy, checked_name, owned, stored_name, thread_config
from .settings import Settings

__all__ = ["NO_THREAD", "Threads", "found"]

NO_THREAD = "no such thread"


def found(state: Any, record: Record | None) -> None:
    """The one rule of whether a thread is there: it has a checkpoint, or a record (made before its first run, or
    by a run stopped before its first checkpoint); ``404`` when it has neither."""
    if state.created_at is None and record is None:
        raise RequestError(404, "not_found", NO_THREAD)


class Threads:
    """The threads of one blueprint: its settings, the app's extension (records, holds), its preparer (the
    factory's graph) and its stream store; a request reaches them as its owner has them (:meth:`for_request`)."""

    def __init__(self, settings: Settings, extension: LLMStream, preparer: Preparer, store: StreamStore | None):
        self.settings, self.extension, self.preparer, self.store = settings, extension, preparer, store
        self._owner: str | None = None
        self._asked = False

    async def for_request(self) -> Self:
        """The threads of whom the request speaks for: the ``stream_owner`` hook sees its headers, no body. A
        request the hook names no one for is refused (``403``): threads are each user's, and callers of no name
        would share theirs."""
        asking = ChatRequest.of_headers(request.headers)
        owner = owned(await owner_of(self.settings.stream_owner, asking), self.settings.stream_owner is not None)
        mine = copy.copy(self)
        mine._owner, mine._asked = owner, True
        return mine

    @property
    def owner(self) -> str | None:
        """Whose threads these are (None: the app's single user's)."""
        assert self._asked, "a blueprint's threads are reached through a request's owner: for_request() first"
        return self._owner

    @staticmethod
    def name(thread_id: str) -> str:
        """The client's name for a thread, checked (``400``)."""
        name = checked_name(thread_id)
        assert name is not None
        return name

    async def graph(self, name: str) -> tuple[Any, dict[str, Any]]:
        """The graph keeping the blueprint's threads, and the config naming the owner's thread ``name``."""
        asking = ChatRequest.of_headers(request.headers, thread_id=name)
        graph = await self.preparer.factory.thread_graph(asking)
        if graph is None:
            raise RequestError(404, "not_found", "this blueprint's runnable keeps no threads")
        return graph, thread_config(name, self.owner)

    async def assistant_graph(self) -> Any:
        """The graph the factory builds for a request that names no thread (what an assistant's drawing and schemas
        show); ``422`` for a runnable that is not a LangGraph graph."""
        asking = ChatRequest.of_headers(request.headers)
        graph = await self.preparer.factory.graph(asking)
        if graph is None:
            raise RequestError(422, "invalid_request", "this blueprint's runnable is not a LangGraph graph")
        return graph

    async def state(
        self,
        thread_id: str,
        checkpoint_id: str | None = None,
        subgraphs: bool = False,
        checkpoint_ns: str = "",
    ) -> Any:
        """The thread's state (LangGraph's ``StateSnapshot``), at ``checkpoint_id`` when named (a subgraph's, in
        ``checkpoint_ns``), with its subgraphs' states when asked; ``404`` when none."""
        name = self.name(thread_id)
        graph, config = await self.graph(name)
        if checkpoint_id is not None:
            config["configurable"]["checkpoint_id"] = checkpoint_id
        if checkpoint_ns:
            config["configurable"]["checkpoint_ns"] = checkpoint_ns
        try:
            state = await graph.aget_state(config, subgraphs=subgraphs)
        except ValueError as error:  # a namespace naming no subgraph of the graph
            raise RequestError(404, "not_found", f"checkpoint_ns: {error}") from None
        named = checkpoint_id is not None or state.created_at is not None  # a checkpoint named: it must be there
        found(state, None if named else await self.extension.records().get(self.owner, name))
        return state

    async def history(
        self,
        thread_id: str,
        limit: int,
        before: str | None = None,
        metadata: dict[str, Any] | None = None,
        checkpoint: tuple[str, str | None] = ("", None),
    ) -> list[Any]:
        """The thread's states, newest first: those whose metadata holds ``metadata``'s pairs, before the checkpoint
        ``before``, from the checkpoint ``(namespace, id)`` (a subgraph's, in its namespace); ``404`` when there is
        no thread."""
        name = self.name(thread_id)
        graph, _ = await self._existing(name)
        config = thread_config(name, self.owner)
        namespace, checkpoint_id = checkpoint
        config["configurable"] |= {"checkpoint_ns": namespace} if namespace else {}
        config["configurable"] |= {"checkpoint_id": checkpoint_id} if checkpoint_id else {}
        before_config = (
            None if before is None else {"configurable": {**config["configurable"], "checkpoint_id": before}}
        )
        states = graph.aget_state_history(config, filter=metadata or None, limit=limit, before=before_config)
        return [state async for state in states]

    def follower(self, reader: LogReader | None = None) -> Callable[[], None]:
        """One more follower of the owner's runs, counted as a stream is (``429`` past ``max_streams_per_owner``, as
        a resume's; refused, ``reader`` is closed); the function returned counts it out (once)."""
        return self.extension.follower(self.settings, self.owner, reader)

    async def record(self, thread_id: str) -> dict[str, Any] | None:
        """The thread as a list shows it, with its metadata; None when it has no record."""
        record = await self.extension.records().get(self.owner, self.name(thread_id))
        return None if record is None else await self.listed(record)

    async def create(self, thread_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """A new thread's record (before its first run), or ``409`` for one that exists."""
        name = self.name(thread_id)
        if await self.extension.records().get(self.owner, name) is not None:
            raise RequestError(409, "conflict", f"thread {thread_id} exists")
        return await self.listed(await self.extension.records().create(self.owner, name, metadata))

    async def update(self, thread_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """The thread with ``metadata`` merged into its own (``422`` past what metadata may hold); ``404`` when it has
        no record."""
        found = await self.extension.records().get(self.owner, self.name(thread_id))
        try:
            check_metadata((found.metadata if found is not None else {}) | metadata)
        except ValueError as error:
            raise RequestError(422, "invalid_request", f"metadata: {error}") from None
        record = await self.extension.records().update_metadata(self.owner, self.name(thread_id), metadata)
        if record is None:
            raise RequestError(404, "not_found", NO_THREAD)
        return await self.listed(record)

    async def search(
        self,
        metadata: dict[str, Any] | None,
        limit: int,
        offset: int,
        status: str | None = None,
        names: list[str] | None = None,
        order: tuple[str, bool] | None = None,
    ) -> list[dict[str, Any]]:
        """The owner's threads whose metadata holds ``metadata``'s pairs, of ``status`` and among ``names`` when
        given, in ``order`` (a field, and whether descending; None: most recent activity first): ``limit`` of them
        from ``offset``."""
        named = None if names is None else [self.name(name) for name in names]
        page, _ = await self.extension.records().page(
            self.owner, limit, offset, metadata, status, named, order or LATEST_FIRST
        )
        return [await self.listed(record) for record in page]

    async def listed(self, record: Record, metadata: bool = True) -> dict[str, Any]:
        """A record as listed (with its ``metadata``); ``busy`` only while a run holds the thread (a process
        killed mid-run left it so)."""
        listed = record.listed() | ({"metadata": record.metadata} if metadata else {})
        if record.status == "busy" and not await self.run_going(record):
            listed["status"] = "idle"
        return listed

    async def run_going(self, record: Record) -> bool:
        """Whether a run is on the thread: its record says so, and a hold on it is held (a process killed mid-run
        leaves the record saying so)."""
        return record.status == "busy" and await self.extension.holds.busy(stored_name(record.thread_id, self.owner))

    @asynccontextmanager
    async def _held(self, saver: Any, stored: str, purpose: str, strategy: Strategy = "reject") -> AsyncIterator[None]:
        """The thread held for ``purpose`` (a state write, a copy...): no run on it meanwhile."""
        held = await self.extension.holds.take(saver, stored, f"{purpose}-{uuid4()}", strategy)
        try:
            yield
        finally:
            await held.release()

    async def _existing(self, name: str) -> tuple[Any, Record | None]:
        """The graph keeping the owner's thread ``name`` (the factory asked once), and its record; ``404`` when the
        thread is not there (:func:`found`)."""
        graph, config = await self.graph(name)
        record = await self.extension.records().get(self.owner, name)
        found(await graph.aget_state(config), record)
        return graph, record

    async def delete(self, thread_id: str) -> None:
        """Stop a run on the thread (as ``interrupt`` does) and those waiting their turn, then remove its
        checkpoints, record and logs (``404`` when there is no thread). The record is read again once the thread is
        held: a run that took the thread before (one that waited in its request) has its log listed there."""
        name, records = self.name(thread_id), self.extension.records()
        graph, record = await self._existing(name)
        stored = stored_name(name, self.owner)
        await Recorded(records, self.owner, name, self.store).cancel_queued()  # none starts after this
        async with self._held(graph.checkpointer, stored, "delete", "interrupt"):
            await graph.checkpointer.adelete_thread(stored)
            record = await records.get(self.owner, name)
            if self.store is not None and record is not None:
                await self._delete_logs(record.streams)
            await records.delete(self.owner, name)
            await self.extension.ledger().forget_thread(self.owner, name)  # its runs, kept for feedback

    async def _delete_logs(self, streams: tuple[str, ...]) -> None:
        """The logs of a thread's streams, all at once; one still closing (its run let go of the thread just now,
        and writes its last frames) once it has closed, and one whose process died (its lease runs on, a few
        seconds) once its lease has run out."""
        store = self.store
        assert store is not None

        async def delete(stream_id: str) -> None:
            for _ in range(160):  # 8 s: a dead producer's lease (Redis: 6 s)
                if not await store.running(stream_id, self.owner):
                    break
                await asyncio.sleep(0.05)
            await store.delete(stream_id, self.owner)

        await asyncio.gather(*(delete(stream_id) for stream_id in streams))
