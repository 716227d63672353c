"""A blueprint's threads with their runs, as LangGraph's thread API reaches them: a thread's runs listed, followed,
cancelled (one going on, or one waiting its turn) and deleted; a thread copied, cut to its latest checkpoint, or
written to as a node would — each owner's own, every refusal a :class:`~.errors.RequestError`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any
from uuid import uuid4

from .errors import RequestError
from .logs import LogReader
from .logs.streams import ending
from .request.attachments import Attachments
from .request.content_blocks import checked_content
from .run.threads import checked_write, shared_keys, status_of, stored_name, thread_config
from .run.threads.copies import copy_checkpoints, drop_runs
from .run.threads.state import forks_past_decisions, unanswered_calls
from .thread_access import Threads

__all__ = ["ThreadRuns"]


class ThreadRuns(Threads):
    """The threads of one blueprint, with what LangGraph's server does to them and their runs
    (:class:`~.protocols.threads.ThreadAccess`)."""

    async def update_state(self, thread_id: str, values: Any, as_node: str | None, checkpoint_id: str | None) -> Any:
        """Write ``values`` to the thread's state as ``as_node`` would (LangGraph's ``update_state``), while no run
        is on it (``409``) and as a run's input may (:func:`~.run.threads.messages.checked_write`); a fork at an earlier
        checkpoint whose tool calls are open is refused (``422``): they ran or were decided since."""
        name = self.name(thread_id)
        graph, _ = await self._existing(name)
        config = thread_config(name, self.owner)
        if checkpoint_id is not None:  # a fork from there
            config["configurable"] |= {"checkpoint_id": checkpoint_id, "checkpoint_ns": ""}
        async with self._held(graph.checkpointer, stored_name(name, self.owner), "state"):
            state = await graph.aget_state(config)
            if checkpoint_id is not None and state.created_at is None:
                raise RequestError(404, "not_found", "checkpoint: no such checkpoint on this thread")
            at_head = thread_config(name, self.owner)
            if checkpoint_id is not None and forks_past_decisions(state, await graph.aget_state(at_head)):  # a fork
                detail = "checkpoint: its tool calls ran or were decided since; write from before the model's call"
                raise RequestError(422, "invalid_request", detail)
            checked = checked_write(values, state, graph, shared_keys(graph, self.settings.state_keys), self.settings)
            if isinstance(checked, dict) and "messages" in checked:  # their attachments, as a run's input's
                found = Attachments(self.settings)
                checked["messages"] = checked_content(checked["messages"], found, "values.messages")
            if as_node is not None and as_node not in graph.nodes:
                raise RequestError(400, "invalid_request", f"as_node: {as_node!r} is not a node of the graph")
            if as_node is not None and unanswered_calls(state):  # its edges would send them past the approval
                raise RequestError(409, "conflict", "as_node: the thread has tool calls open; a run answers them")
            written = await graph.aupdate_state(config, checked, as_node=as_node)
            now = status_of(await graph.aget_state(written))  # what the thread waits on, as the write left it
            await self.extension.records().ended(self.owner, name, now)
            return written

    async def follow(self, thread_id: str, run_id: str) -> LogReader:
        """A reader of a run of the thread from its start (its stream, in the blueprint's store); ``404`` when the
        thread has no such run, or none is kept (resume off)."""
        record = await self.extension.records().get(self.owner, self.name(thread_id))
        opened = None
        if record is not None and run_id in record.streams and self.store is not None:
            opened = await self.store.open(run_id, self.owner)
        if opened is None:
            raise RequestError(404, "not_found", f"Run {run_id} not found")
        return opened[1]

    async def runs(self, thread_id: str) -> list[tuple[str, str, Mapping[str, str]]]:
        """The thread's runs its record remembers, newest first, each with how it ended (its stream's status:
        ``completed``, ``interrupted``, ``error``, ``cancelled``...) or ``running`` (``pending`` while it waits its
        turn); one whose process died (its stream never ended, and nobody writes it) ``error``; those whose stream
        is no longer kept are left out."""
        record = await self.extension.records().get(self.owner, self.name(thread_id))
        if record is None:
            await self.state(thread_id)  # 404 unless it is there
            return []
        found: list[tuple[str, str, Mapping[str, str]]] = []
        for run_id in reversed(record.streams):
            if self.store is not None and (opened := await self.store.open(run_id, self.owner)) is not None:
                status = await ending(opened[1])
                if status == "running" and not await self.store.running(run_id, self.owner):
                    status = "error"  # its process died: its end will never come
                status = "pending" if status == "running" and run_id in record.queued else status
                found.append((run_id, status, opened[0].ids))
        return found

    async def run_ids(self, thread_id: str) -> tuple[list[str], list[str]]:
        """The thread's runs its record remembers, in the order they were made, and those of them going on or waiting
        their turn (not those whose process died); ``404`` when there is no thread, or its runs' frames are not kept
        (resume off)."""
        record = await self.extension.records().get(self.owner, self.name(thread_id))
        if record is None:
            await self.state(thread_id)  # 404 unless it is there
        if self.store is None:
            raise RequestError(404, "not_found", "this blueprint keeps no run's frames (resume is off)")
        if record is None:
            return [], []
        going = [
            run
            for run in record.streams
            if run in (record.stream_id, *record.queued) and await self.store.running(run, self.owner)
        ]
        return list(record.streams), going

    def draining(self) -> bool:
        """The server shuts down: streams that follow runs end with them."""
        return self.extension.draining

    async def cancel(self, thread_id: str, run_id: str | None, wait: bool = False, rollback: bool = False) -> None:
        """Stop the run going on on the thread (``run_id``, when named), or one waiting its turn there, wherever it
        runs or waits, and with ``wait`` until it has ended; with ``rollback``, a run going on takes out what it
        wrote before it lets go of the thread (:meth:`~.run.threads.RunThread.release`), and is deleted. ``404``
        when no such run is going on or waiting."""
        name = self.name(thread_id)
        records, stored = self.extension.records(), stored_name(name, self.owner)
        record = await records.get(self.owner, name)
        queued = record is not None and run_id in record.queued and self.store is not None
        current = run_id if queued else None if record is None else record.run_id
        if current is None or run_id not in (None, current):
            raise RequestError(404, "not_found", "No matching runs to cancel")
        rollback = rollback and not queued  # one waiting its turn wrote nothing: it is cancelled, and kept
        if rollback:
            await records.roll_back(self.owner, name, current)
        stop = (
            self.store.cancel(current, self.owner)
            if queued and self.store
            else self.extension.holds.stop(stored, current)
        )
        if not await stop:
            raise RequestError(404, "not_found", "No matching runs to cancel")
        for _ in range(600 if wait or rollback else 0):
            if not await self._going_on(name, current):
                break
            await asyncio.sleep(0.05)
        if rollback:
            await self._forget(current)

    async def _going_on(self, name: str, run_id: str) -> bool:
        """The run holds the thread still, or its stream is open (a queued run waiting its turn)."""
        record = await self.extension.records().get(self.owner, name)
        if record is None:
            return False
        return record.run_id == run_id or (self.store is not None and await self.store.running(run_id, self.owner))

    async def going(self, pending: bool = False) -> list[tuple[str, str]]:
        """The runs going on on the owner's threads (with ``pending``: those waiting their turn), by thread."""
        records = self.extension.records()
        if pending:  # between two runs, a thread whose runs wait is not busy
            return [(r.thread_id, run) for r in await records.waiting(self.owner) for run in r.queued]
        return [(r.thread_id, str(r.run_id)) for r in await records.busy(self.owner)]

    async def copy(self, thread_id: str) -> dict[str, Any]:
        """A new thread of the owner's holding what the thread holds (its checkpoints with their pending writes,
        its metadata and title), copied while no run is on it and no tool call is open (``409``: an approved call
        would run on both); ``404`` when there is no such thread."""
        name = self.name(thread_id)
        graph, record = await self._existing(name)
        copied, stored = str(uuid4()), stored_name(name, self.owner)
        async with self._held(graph.checkpointer, stored, "copy"):
            if unanswered_calls(await graph.aget_state(thread_config(name, self.owner))):  # both would run them
                raise RequestError(409, "conflict", "the thread has tool calls open; a run answers them, then copy it")
            await copy_checkpoints(graph.checkpointer, stored, stored_name(copied, self.owner))
        metadata, title = ({}, "") if record is None else (record.metadata, record.title)
        status = status_of(await graph.aget_state(thread_config(copied, self.owner)))
        return await self.listed(await self.extension.records().create(self.owner, copied, metadata, title, status))

    async def delete_run(self, thread_id: str, run_id: str) -> None:
        """Delete a run the thread has had, as if it had not: the checkpoints it wrote on this thread (LangGraph's
        server does the same), its stream's log, its place in the record (one waiting its turn is cancelled);
        ``404`` when the thread has no such run, ``409`` while a run is on the thread."""
        name = self.name(thread_id)
        graph, record = await self._existing(name)
        stored = stored_name(name, self.owner)
        if record is not None and run_id in record.queued:  # waiting its turn: it never runs
            with contextlib.suppress(RequestError):  # it ended meanwhile
                await self.cancel(thread_id, run_id, wait=True)
            await self.extension.records().forget_stream(self.owner, name, run_id, None)
            await self._forget(run_id)
            return
        async with self._held(graph.checkpointer, stored, "delete"):
            dropped = await drop_runs(graph.checkpointer, stored, {run_id})
            streams = () if record is None else record.streams
            if not dropped and run_id not in streams:
                raise RequestError(404, "not_found", f"Run {run_id} not found")
            last = not streams or streams[-1] == run_id  # the thread is as that run found it
            status = status_of(await graph.aget_state(thread_config(name, self.owner))) if last else None
            await self.extension.records().forget_stream(self.owner, name, run_id, status)
            if run_id in streams:  # this thread's own run (a copy's checkpoints name its original's runs)
                await self._forget(run_id)

    async def _forget(self, run_id: str) -> None:
        """A deleted run's stream log, and what feedback would have found of it."""
        if self.store is not None:
            await self.store.delete(run_id, self.owner)
        await self.extension.ledger().forget_run(self.owner, run_id)

    async def cut(self, thread_id: str) -> None:
        """Cut the thread to its latest checkpoint, while no run is on it (``409``): LangGraph's ``keep_latest``
        prune; ``422`` when the checkpointer cannot (``AsyncPostgresSaver`` can), ``404`` when there is no thread."""
        from langgraph.checkpoint.base import BaseCheckpointSaver  # there is a graph: LangGraph is there

        name = self.name(thread_id)
        saver, stored = (await self._existing(name))[0].checkpointer, stored_name(name, self.owner)
        if type(saver).aprune is BaseCheckpointSaver.aprune:
            detail = "keep_latest: this thread checkpointer cannot prune (LangGraph's Postgres one can)"
            raise RequestError(422, "invalid_request", detail)
        async with self._held(saver, stored, "prune"):
            try:
                await saver.aprune([stored], strategy="keep_latest")
            except NotImplementedError as error:  # a thread whose state is kept as deltas
                raise RequestError(422, "invalid_request", f"keep_latest: {error}") from None
