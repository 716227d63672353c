"""A blueprint's threads as its routes reach them: who asks, the graph that keeps them, their state and history,
their records — each owner's own, every refusal a :class:`~.errors.RequestError` (``400`` for a name that is not a
thread id, ``404`` for a thread that is not there or is another owner's).

:mod:`.thread_routes` serves them in every protocol's shapes; a protocol with a thread API of its own (LangGraph's)
gets this object (:class:`~.protocols.base.ThreadAccess`) and answers in its own.
"""

from __future__ import annotations

import asyncio
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
from .request.attachments import Attachments
from .request.content_blocks import checked_content
from .run import Preparer
from .run.threads import Record, checked_name, checked_write, status_of, stored_name
from .run.threads.copies import copy_checkpoints, drop_runs
from .run.threads.state import unanswered_calls
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
        is on it (``409``) and as a run's input may (:func:`~.run.threads.messages.checked_write`)."""
        name = self.name(thread_id)
        graph, config = await self.graph(owner, name)
        await self.state(owner, thread_id)  # 404 unless it is there
        if checkpoint_id is not None:
            config["configurable"]["checkpoint_id"] = checkpoint_id
        held = await self.extension.holds.take(graph.checkpointer, stored_name(name, owner), f"state-{uuid4()}")
        try:
            state = await graph.aget_state(config)
            checked = checked_write(values, state, graph, self.preparer.state_keys(graph))
            if isinstance(checked, dict) and "messages" in checked:  # their attachments, as a run's input's
                found = Attachments(self.settings)
                checked["messages"] = checked_content(checked["messages"], found, "values.messages")
            if as_node is not None and as_node not in graph.nodes:
                raise RequestError(400, "invalid_request", f"as_node: {as_node!r} is not a node of the graph")
            if as_node is not None and unanswered_calls(state):  # its edges would send them past the approval
                raise RequestError(409, "conflict", "as_node: the thread has tool calls open; a run answers them")
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
        """Stop the run going on on the thread (``run_id``, when named), wherever it runs, and with ``wait``
        until it has ended; with ``rollback``, the run takes out what it wrote before it lets go of the thread
        (:meth:`~.run.threads.RunThread.release`), and is deleted. ``404`` when no such run is going on."""
        name = self.name(thread_id)
        records, stored = self.extension.records(), stored_name(name, owner)
        record = await records.get(owner, name)
        current = None if record is None else record.run_id
        if current is None or run_id not in (None, current):
            raise RequestError(404, "not_found", "No matching runs to cancel")
        if rollback:
            await records.roll_back(owner, name, current)
        if not await self.extension.holds.stop(stored, current):
            raise RequestError(404, "not_found", "No matching runs to cancel")
        if wait or rollback:
            for _ in range(600):
                record = await records.get(owner, name)
                if record is None or record.run_id != current:
                    break
                await asyncio.sleep(0.05)
        if rollback:
            await self._forget(owner, current)

    async def going(self, owner: str | None) -> list[tuple[str, str]]:  # the owner's threads a run is on, its id
        return [(record.thread_id, str(record.run_id)) for record in await self.extension.records().busy(owner)]

    async def copy(self, owner: str | None, thread_id: str) -> dict[str, Any]:
        """A new thread of the owner's holding what the thread holds (its checkpoints with their pending writes,
        its metadata and title), copied while no run is on it (``409``); ``404`` when there is no such thread."""
        name = self.name(thread_id)
        graph, record = await self._existing(owner, name)
        copied, stored = str(uuid4()), stored_name(name, owner)
        held = await self.extension.holds.take(graph.checkpointer, stored, f"copy-{uuid4()}")
        try:
            await copy_checkpoints(graph.checkpointer, stored, stored_name(copied, owner))
        finally:
            await held.release()
        metadata, title = ({}, "") if record is None else (record.metadata, record.title)
        status = status_of(await graph.aget_state({"configurable": {"thread_id": stored_name(copied, owner)}}))
        return await self.listed(await self.extension.records().create(owner, copied, metadata, title, status), owner)

    async def delete_run(self, owner: str | None, thread_id: str, run_id: str) -> None:
        """Delete a run the thread has had, as if it had not: the checkpoints it wrote on this thread (LangGraph's
        server does the same), its stream's log, its place in the record; ``404`` when the thread has no such
        run, ``409`` while a run is on the thread."""
        name = self.name(thread_id)
        graph, record = await self._existing(owner, name)
        stored = stored_name(name, owner)
        held = await self.extension.holds.take(graph.checkpointer, stored, f"delete-{uuid4()}")
        try:
            dropped = await drop_runs(graph.checkpointer, stored, {run_id})
            streams = () if record is None else record.streams
            if not dropped and run_id not in streams:
                raise RequestError(404, "not_found", f"Run {run_id} not found")
            last = not streams or streams[-1] == run_id  # the thread is as that run found it
            status = status_of(await graph.aget_state({"configurable": {"thread_id": stored}})) if last else None
            await self.extension.records().forget_stream(owner, name, run_id, status)
            if run_id in streams:  # this thread's own run (a copy's checkpoints name its original's runs)
                await self._forget(owner, run_id)
        finally:
            await held.release()

    async def _forget(self, owner: str | None, run_id: str) -> None:
        """A deleted run's stream log, and what feedback would have found of it."""
        if self.store is not None:
            await self.store.delete(run_id, owner)
        await self.extension.ledger().forget_run(owner, run_id)

    async def cut(self, owner: str | None, thread_id: str) -> None:
        """Cut the thread to its latest checkpoint, while no run is on it (``409``): LangGraph's ``keep_latest``
        prune; ``422`` when the checkpointer cannot (``AsyncPostgresSaver`` can), ``404`` when there is no thread."""
        from langgraph.checkpoint.base import BaseCheckpointSaver  # there is a graph: LangGraph is there

        name = self.name(thread_id)
        saver, stored = (await self._existing(owner, name))[0].checkpointer, stored_name(name, owner)
        if type(saver).aprune is BaseCheckpointSaver.aprune:
            detail = "keep_latest: this thread checkpointer cannot prune (LangGraph's Postgres one can)"
            raise RequestError(422, "invalid_request", detail)
        held = await self.extension.holds.take(saver, stored, f"prune-{uuid4()}")
        try:
            await saver.aprune([stored], strategy="keep_latest")
        except NotImplementedError as error:  # a thread whose state is kept as deltas
            raise RequestError(422, "invalid_request", f"keep_latest: {error}") from None
        finally:
            await held.release()

    async def _existing(self, owner: str | None, name: str) -> tuple[Any, Record | None]:
        """The graph keeping the owner's thread ``name``, and its record; ``404`` when it has neither."""
        graph, config = await self.graph(owner, name)
        record = await self.extension.records().get(owner, name)
        if record is None and (await graph.aget_state(config)).created_at is None:
            raise RequestError(404, "not_found", NO_THREAD)
        return graph, record

    async def delete(self, owner: str | None, thread_id: str) -> None:
        """Stop a run on the thread (as ``interrupt`` does), then remove its checkpoints, record and logs (``404``)."""
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
