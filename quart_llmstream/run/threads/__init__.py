"""Threads: every rule of a LangGraph thread, in one place.

A thread is the conversation a checkpointer keeps. Here are its names (:mod:`.ids`: the client's, checked, or a
new one; the checkpointer's, within its owner's), the hold that lets one run at a time on it (:mod:`.hold`, and
across processes :mod:`.leases`), the record an owner's list shows (:mod:`.records`),
what it holds (:mod:`.state`), what of a request it may store (:mod:`.messages`), the decisions checked against
what it waits on (:mod:`.decisions`), and the tools of its graph that a client may and may not answer for
(:mod:`.tools`). A run on a thread is a :class:`RunThread`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig

from ...events import Event, MessagesSnapshot
from ...request import ChatRequest, Resume
from .decisions import resume_value
from .hold import STRATEGIES, Held, LocalHolds, Strategy, ThreadHolds
from .ids import checked_name, new_name, stored_name
from .messages import checked_write, unseen
from .records import Record, ThreadRecords
from .state import (
    ThreadState,
    checkpointed,
    graph_of,
    hides_a_thread,
    is_interrupt,
    plain_messages,
    settled,
    shared_keys,
)
from .tools import graph_tools

__all__ = [
    "STRATEGIES",
    "Held",
    "LocalHolds",
    "Record",
    "RunThread",
    "Strategy",
    "ThreadHolds",
    "ThreadRecords",
    "ThreadState",
    "checked_name",
    "checked_write",
    "checkpointed",
    "graph_of",
    "hides_a_thread",
    "is_interrupt",
    "new_name",
    "open_thread",
    "shared_keys",
    "stored_name",
]


@dataclass(slots=True)
class Recorded:
    """Where a thread's record is written: the records, and the thread's owner and name there."""

    records: ThreadRecords
    owner: str | None
    name: str


@dataclass(slots=True)
class RunThread:
    """The checkpointed thread a run is on, held: the graph that keeps it and the run's config, whose
    ``configurable.thread_id`` is the checkpointer's name for it (and ``checkpoint_id``, after a ``rollback``,
    where the run goes on from), and where its record is written, if anywhere."""

    graph: Any
    config: RunnableConfig
    held: Held
    recorded: Recorded | None = None
    status: str | None = None
    ephemeral: bool = False

    async def state(self) -> Any:
        return await self.graph.aget_state(self.config)

    async def lacking(self, chat_request: ChatRequest, system_messages: str) -> list[BaseMessage]:
        """What of the request's conversation the thread lacks, checked (:func:`.messages.unseen`)."""
        return unseen(chat_request, await self.state(), self.graph, system_messages)

    async def resumed(self, resume: Resume) -> tuple[dict[str, Any], tuple[Event, ...]]:
        """The value per pending interrupt that resumes the thread, checked (:mod:`.decisions`), and the events
        a resumed stream starts with: the thread's messages, then what each decision does to its call."""
        state = await self.state()
        values, decided = resume_value(state, resume, graph_tools(self.graph))
        return values, (MessagesSnapshot(plain_messages(state)), *decided)

    async def begin(self, question: str, stream_id: str | None) -> None:
        """The run starts: the thread's record says so (made, titled by the question, on its first run)."""
        if self.recorded is not None:
            await self.recorded.records.started(self.recorded.owner, self.recorded.name, question, stream_id)

    async def settled(self) -> ThreadState:
        """What the thread's state says once the run has ended: interrupted when it waits for a decision or
        stopped at a breakpoint (nodes still to run after a run that ran to its end)."""
        state = await self.state()
        settled_state = settled(state)
        self.status = "interrupted" if settled_state.interrupts or state.next else "idle"
        return settled_state

    async def release(self, ended: str | None = None) -> None:
        """Let go of the thread, its record saying how the run (which ``ended`` so: ``error``, ...) left it; an
        ephemeral thread is deleted."""
        try:
            if self.ephemeral:
                await self.graph.checkpointer.adelete_thread(self.config["configurable"]["thread_id"])
            elif self.recorded is not None:
                status = "error" if ended == "error" else self.status
                status = status or ("interrupted" if (await self.state()).interrupts else "idle")
                await self.recorded.records.ended(self.recorded.owner, self.recorded.name, status)
        finally:
            await self.held.release()


async def open_thread(
    graph: Any,
    config: RunnableConfig,
    holds: ThreadHolds,
    strategy: Strategy = "reject",
    recorded: Recorded | None = None,
    ephemeral: bool = False,
) -> RunThread | None:
    """The thread the run's config names, held (what ``strategy`` says while another run is on it); None when the
    runnable keeps no thread (no checkpointer of its own, or no thread id). After a ``rollback`` the run goes on
    from where the run it stopped started; an ``ephemeral`` thread (a stateless run's) is deleted as it ends."""
    saved = checkpointed(graph)
    thread_id = config.get("configurable", {}).get("thread_id")
    if saved is None or thread_id is None:
        return None
    held = await holds.take(saved.checkpointer, str(thread_id), str(config.get("run_id")), strategy)
    thread = RunThread(saved, config, held, recorded, ephemeral=ephemeral)
    if strategy == "rollback" and held.stopped_run is not None:
        try:
            thread.config = await _before(saved, config, held.stopped_run)
        except BaseException:
            await held.release()
            raise
    return thread


async def _before(graph: Any, config: RunnableConfig, run_id: str) -> RunnableConfig:
    """``config`` at the last checkpoint the run ``run_id`` did not write (checkpoints carry their run's id)."""
    async for snapshot in graph.aget_state_history(config):
        if snapshot.metadata.get("run_id") != run_id:
            checkpoint_id = snapshot.config["configurable"]["checkpoint_id"]
            return {**config, "configurable": {**config.get("configurable", {}), "checkpoint_id": checkpoint_id}}
    await graph.checkpointer.adelete_thread(config["configurable"]["thread_id"])  # it began the thread
    return config
