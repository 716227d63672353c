"""A blueprint's threads as its routes reach them: who asks, the graph that keeps them, their state and history,
their records — each owner's own, every refusal a :class:`~.errors.RequestError` (``400`` for a name that is not a
thread id, ``404`` for a thread that is not there or is another owner's).

:mod:`.thread_routes` serves them in every protocol's shapes; a protocol with a thread API of its own (LangGraph's)
gets this object (:class:`~.protocols.base.ThreadAccess`) and answers in its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from quart import request
from werkzeug.datastructures import Headers

from .errors import RequestError
from .extension import LLMStream
from .logs import LogReader
from .logs.store import StreamStore
from .logs.streams import ending
from .owners import owner_of
from .request import ChatRequest
from .run import Preparer
from .run.threads import Record, checked_name, checked_write, stored_name
from .run.threads.copies import copy_checkpoints, drop_runs
from .settings import Settings

__all__ = ["NO_THREAD", "Threads"]

NO_THREAD = "no such thread"


class Threads:
    """The threads of one blueprint: its settings, the app's extension (records, holds), its preparer (the
    factory's graph) and its stream store."""

    def __init__(self, settings: Settings, extension: LLMStream, preparer: Preparer, store: StreamStore | None):
        self.settings, self.extension, self.preparer, self.store = settings, extension, preparer, store

    async def owner(self) -> str | None:
        """Who the request speaks for: the ``stream_owner`` hook sees its headers, no body."""
        asking = ChatRequest(question="", chat_history=[], body={}, headers=Headers(request.headers))
        return await owner_of(self.settings.stream_owner, asking)

    @staticmethod
    def name(thread_id: str) -> str:
        """The client's name for a thread, checked (``400``)."""
        name = checked_name(thread_id)
        assert name is not None
        return name

    async def graph(self, owner: str | None, name: str) -> tuple[Any, dict[str, Any]]:
        """The graph keeping the blueprint's threads, and the config naming the owner's thread ``name``."""
        asking = ChatRequest(question="", chat_history=[], body={}, headers=Headers(request.headers), thread_id=name)
        graph = await self.preparer.thread_graph(asking)
        if graph is None:
            raise RequestError(404, "not_found", "this blueprint's runnable keeps no threads")
        return graph, {"configurable": {"thread_id": stored_name(name, owner)}}

    async def assistant_graph(self) -> Any:
        """The graph the factory builds for a request that names no thread (what an assistant's drawing and schemas
        show); ``422`` for a runnable that is not a LangGraph graph."""
        asking = ChatRequest(question="", chat_history=[], body={}, headers=Headers(request.headers))
        graph = await self.preparer.graph(asking)
        if graph is None:
            raise RequestError(422, "invalid_request", "this blueprint's runnable is not a LangGraph graph")
        return graph

    async def state(
        self,
        owner: str | None,
        thread_id: str,
        checkpoint_id: str | None = None,
        subgraphs: bool = False,
        checkpoint_ns: str = "",
    ) -> Any:
        """The thread's state (LangGraph's ``StateSnapshot``), at ``checkpoint_id`` when named (a subgraph's, in
        ``checkpoint_ns``), with its subgraphs' states when asked; ``404`` when none."""
        name = self.name(thread_id)
        graph, config = await self.graph(owner, name)
        if checkpoint_id is not None:
            config["configurable"]["checkpoint_id"] = checkpoint_id
        if checkpoint_ns:
            config["configurable"]["checkpoint_ns"] = checkpoint_ns
        try:
            state = await graph.aget_state(config, subgraphs=subgraphs)
        except ValueError as error:  # a namespace naming no subgraph of the graph
            raise RequestError(404, "not_found", f"checkpoint_ns: {error}") from None
        made = checkpoint_id is None and await self.extension.records().get(owner, name) is not None
        if state.created_at is None and not made:  # a thread made before its first run is there, empty
            raise RequestError(404, "not_found", NO_THREAD)
        return state

    async def history(self, owner: str | None, thread_id: str, limit: int, before: str | None = None) -> list[Any]:
        """The thread's states, newest first."""
        graph, config = await self.graph(owner, self.name(thread_id))
        before_config = (
            None if before is None else {"configurable": {**config["configurable"], "checkpoint_id": before}}
        )
        return [state async for state in graph.aget_state_history(config, limit=limit, before=before_config)]

    async def record(self, owner: str | None, thread_id: str) -> dict[str, Any] | None:
        """The thread as a list shows it, with its metadata; None when it has no record."""
        record = await self.extension.records().get(owner, self.name(thread_id))
        return None if record is None else await self.listed(record, owner)

    async def create(self, owner: str | None, thread_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """A new thread's record (before its first run), or ``409`` for one that exists."""
        name = self.name(thread_id)
        if await self.extension.records().get(owner, name) is not None:
            raise RequestError(409, "conflict", f"thread {thread_id} exists")
        return await self.listed(await self.extension.records().create(owner, name, metadata), owner)

    async def update(self, owner: str | None, thread_id: str, metadata: dict[str, Any]) -> dict[str, Any]:
        """The thread with ``metadata`` merged into its own; ``404`` when it has no record."""
        record = await self.extension.records().update_metadata(owner, self.name(thread_id), metadata)
        if record is None:
            raise RequestError(404, "not_found", NO_THREAD)
        return await self.listed(record, owner)

    async def update_state(
        self, owner: str | None, thread_id: str, values: Any, as_node: str | None, checkpoint_id: str | None
    ) -> Any:
        """Write ``values`` to the thread's state as ``as_node`` would (LangGraph's ``update_state``), while no run
        is on it (``409``) and as a run's input may (:func:`~.run.threads.messages.checked_write`); the config of
        the checkpoint written."""
        name = self.name(thread_id)
        graph, config = await self.graph(owner, name)
        await self.state(owner, thread_id)  # 404 unless it is there
        if checkpoint_id is not None:
            config["configurable"]["checkpoint_id"] = checkpoint_id
        held = await self.extension.holds.take(graph.checkpointer, stored_name(name, owner), f"state-{uuid4()}")
        try:
            checked = checked_write(values, await graph.aget_state(config), graph, self.preparer.state_keys(graph))
            if as_node is not None and as_node not in graph.nodes:
                raise RequestError(400, "invalid_request", f"as_node: {as_node!r} is not a node of the graph")
            return await graph.aupdate_state(config, checked, as_node=as_node)
        finally:
            await held.release()

    async def follow(self, owner: str | None, thread_id: str, run_id: str) -> LogReader:
        """A reader of a run of the thread from its start (its stream, in the blueprint's store); ``404`` when the
        thread has no such run, or none is kept (resume off)."""
        record = await self.extension.records().get(owner, self.name(thread_id))
        opened = None
        if record is not None and run_id in record.streams and self.store is not None:
            opened = await self.store.open(run_id, owner)
        if opened is None:
            raise RequestError(404, "not_found", f"Run {run_id} not found")
        return opened[1]

    async def runs(self, owner: str | None, thread_id: str) -> list[tuple[str, str]]:
        """The thread's runs its record remembers, newest first, each with how it ended (its stream's status:
        ``completed``, ``interrupted``, ``error``, ``cancelled``...) or ``running``; those whose stream is no longer
        kept are left out."""
        record = await self.extension.records().get(owner, self.name(thread_id))
        if record is None:
            await self.state(owner, thread_id)  # 404 unless it is there
            return []
        found = []
        for run_id in reversed(record.streams):
            if self.store is not None and (opened := await self.store.open(run_id, owner)) is not None:
                found.append((run_id, await ending(opened[1])))
        return found

    async def search(
        self, owner: str | None, metadata: dict[str, Any] | None, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        records, _ = await self.extension.records().page(owner, limit, offset, metadata)
        return [await self.listed(record, owner) for record in records]

    async def listed(self, record: Record, owner: str | None, metadata: bool = True) -> dict[str, Any]:
        """A record as listed (with its ``metadata``); ``busy`` only while a run holds the thread (a process
        killed mid-run left it so)."""
        listed = record.listed() | ({"metadata": record.metadata} if metadata else {})
        if record.status == "busy" and not await self.extension.holds.busy(stored_name(record.thread_id, owner)):
            listed["status"] = "idle"
        return listed

    async def cancel(
        self, owner: str | None, thread_id: str, run_id: str | None, wait: bool = False, rollback: bool = False
    ) -> None:
        """Stop the thread's run ``run_id`` (None: whichever), wherever it runs (with ``wait``, until it has let
        go); with ``rollback``, then delete it (:meth:`forget_run`). ``404`` when it is not going on (the record
        names the run going on when its stream is kept; without resume, the one going on is taken as it)."""
        name = self.name(thread_id)
        record, stored = await self.extension.records().get(owner, name), stored_name(name, owner)
        going = None if record is None else record.stream_id
        if (None not in (going, run_id) and going != run_id) or not await self.extension.holds.stop(stored):
            raise RequestError(404, "not_found", "No matching runs to cancel")
        if wait or rollback:
            for _ in range(600):
                if not await self.extension.holds.busy(stored):
                    break
                await asyncio.sleep(0.05)
        if rollback and (going or run_id) is not None:
            await self.forget_run(owner, thread_id, str(going or run_id))

    async def going(self, owner: str | None) -> list[str]:
        """The owner's threads a run is on."""
        return [record.thread_id for record in await self.extension.records().busy(owner)]

    async def copy(self, owner: str | None, thread_id: str) -> dict[str, Any]:
        """A new thread of the owner's holding what the thread holds (its checkpoints with their pending writes,
        its metadata and title); ``404`` when there is no such thread."""
        name = self.name(thread_id)
        graph, record = await self._existing(owner, name)
        copied = str(uuid4())
        await copy_checkpoints(graph.checkpointer, stored_name(name, owner), stored_name(copied, owner))
        metadata, title = ({}, "") if record is None else (record.metadata, record.title)
        return await self.listed(await self.extension.records().create(owner, copied, metadata, title), owner)

    async def forget_run(self, owner: str | None, thread_id: str, run_id: str) -> None:
        """Delete a run the thread has had, as if it had not: the checkpoints it wrote (LangGraph's server does
        the same), its stream's log, its place in the record; ``404`` when the thread has no such run, ``409``
        while a run is on the thread."""
        name = self.name(thread_id)
        graph, record = await self._existing(owner, name)
        stored = stored_name(name, owner)
        held = await self.extension.holds.take(graph.checkpointer, stored, f"delete-{uuid4()}")
        try:
            dropped = await drop_runs(graph.checkpointer, stored, {run_id})
            streams = () if record is None else record.streams
            if not dropped and run_id not in streams:
                raise RequestError(404, "not_found", f"Run {run_id} not found")
            status = None
            if not streams or streams[-1] == run_id:  # the thread is as that run found it
                state = await graph.aget_state({"configurable": {"thread_id": stored}})
                status = "interrupted" if state.interrupts or state.next else "idle"
            await self.extension.records().forget_stream(owner, name, run_id, status)
            if self.store is not None:
                await self.store.delete(run_id, owner)
            await self.extension.ledger().forget_run(owner, run_id)
        finally:
            await held.release()

    async def prune(self, owner: str | None, thread_ids: Sequence[str], keep_latest: bool) -> int:
        """Delete the owner's threads of ``thread_ids`` (others are left out, as ones not there), or with
        ``keep_latest`` only their earlier checkpoints (``422`` when the checkpointer cannot); how many there were."""
        from langgraph.checkpoint.base import BaseCheckpointSaver  # there is a graph: LangGraph is there

        graph, _ = await self.graph(owner, "-")  # any thread's: the blueprint's graph keeps them all
        if keep_latest and type(graph.checkpointer).aprune is BaseCheckpointSaver.aprune:
            detail = "keep_latest: this thread checkpointer cannot prune (LangGraph's Postgres checkpointer can)"
            raise RequestError(422, "invalid_request", detail)
        found = []
        for thread_id in thread_ids:
            try:
                await self._existing(owner, self.name(thread_id))
            except RequestError:
                continue
            found.append(thread_id)
        try:
            if keep_latest and found:
                await graph.checkpointer.aprune([stored_name(name, owner) for name in found], strategy="keep_latest")
        except NotImplementedError as error:  # a thread whose state is kept as deltas
            raise RequestError(422, "invalid_request", f"keep_latest: {error}") from None
        for thread_id in [] if keep_latest else found:
            await self.delete(owner, thread_id)
        return len(found)

    async def _existing(self, owner: str | None, name: str) -> tuple[Any, Record | None]:
        """The graph keeping the owner's thread ``name``, and its record; ``404`` when it has neither a record
        nor a checkpoint."""
        graph, config = await self.graph(owner, name)
        record = await self.extension.records().get(owner, name)
        if record is None and (await graph.aget_state(config)).created_at is None:
            raise RequestError(404, "not_found", NO_THREAD)
        return graph, record

    async def delete(self, owner: str | None, thread_id: str) -> None:
        """Stop a run on the thread (the hold taken as ``interrupt`` does), then remove its checkpoints, its record
        and its streams' logs; ``404`` when there is no such thread."""
        name = self.name(thread_id)
        graph, record = await self._existing(owner, name)
        stored = stored_name(name, owner)
        held = await self.extension.holds.take(graph.checkpointer, stored, f"delete-{uuid4()}", "interrupt")
        try:
            await graph.checkpointer.adelete_thread(stored)
            if self.store is not None and record is not None:
                for stream_id in record.streams:
                    await self.store.delete(stream_id, owner)
            await self.extension.records().delete(owner, name)
            await self.extension.ledger().forget_thread(owner, name)  # its runs, kept for feedback
        finally:
            await held.release()
