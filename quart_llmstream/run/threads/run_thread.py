"""A run on a thread: the thread taken (:func:`open_thread`), its input checked against what it holds, its record
written as the run starts and ends (:class:`Recorded`), and let go when the run ends (:class:`RunThread`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import RunnableConfig

from ...errors import RequestError
from ...events import Event, MessagesSnapshot
from ...logs.store import StreamStore
from ...request import ChatRequest, Resume
from .copies import drop_runs
from .decisions import resume_value
from .hold import Held, Strategy, ThreadHolds
from .messages import unseen
from .records import ThreadRecords
from .state import (
    ThreadState,
    checkpointed,
    forks_past_decisions,
    plain_messages,
    settled,
    status_of,
)
from .tools import graph_tools

__all__ = ["Recorded", "RunThread", "open_thread"]


@dataclass(slots=True)
class Recorded:
    """Where a thread's record is written: the records, and the thread's owner and name there; and where its
    streams' logs are kept (the blueprint's stream store), to delete those the record no longer remembers."""

    records: ThreadRecords
    owner: str | None
    name: str
    logs: StreamStore | None = None

    async def started(self, question: str, stream_id: str | None, run_id: str) -> dict[str, Any]:
        """A run starts on the thread (:meth:`.records.ThreadRecords.started`); the thread's metadata."""
        metadata, gone = await self.records.started(self.owner, self.name, question, stream_id, run_id)
        await self._forget(gone)
        return metadata

    async def queued(self, question: str, run_id: str, make: bool = True) -> None:
        """A run waits its turn on the thread (:meth:`.records.ThreadRecords.queued`)."""
        await self._forget(await self.records.queued(self.owner, self.name, question, run_id, make))

    async def unqueued(self, run_id: str) -> None:
        """A run that waited its turn ended before it started (cancelled, or refused)."""
        await self.records.unqueued(self.owner, self.name, run_id)

    async def made(self) -> str | None:
        """When the thread's record was made (None: there is none): a thread deleted, and maybe made again, has
        another."""
        record = await self.records.get(self.owner, self.name)
        return None if record is None else record.created_at

    async def ended(self, status: str, run_id: str) -> bool:
        """The run ended, leaving the thread ``status`` (:meth:`.records.ThreadRecords.ended`): whether a rollback
        of it was asked meanwhile."""
        return await self.records.ended(self.owner, self.name, status, run_id)

    async def forget_stream(self, stream_id: str, status: str | None) -> None:
        await self.records.forget_stream(self.owner, self.name, stream_id, status)

    async def cancel_queued(self) -> None:
        """Stop the runs waiting their turn on the thread (wherever they wait: their streams carry the stop)."""
        record = await self.records.get(self.owner, self.name)
        if self.logs is not None and record is not None:
            for run_id in record.queued:
                await self.logs.cancel(run_id, self.owner)

    async def _forget(self, streams: list[str]) -> None:
        if self.logs is not None:
            for stream_id in streams:
                await self.logs.delete(stream_id, self.owner)


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
    answers: tuple[str, ...] = ()
    """The ids of the model's messages the run added to the thread, once it has ended: a thread read back names
    them so (feedback finds the run by them)."""
    _start: Any = field(default=None, repr=False)

    @property
    def stored_id(self) -> str:
        """The checkpointer's name for the thread (within its owner's)."""
        return str(self.config["configurable"]["thread_id"])

    @property
    def run_id(self) -> str:
        return str(self.config.get("run_id"))

    async def state(self) -> Any:
        """The state the run starts from: the thread's latest, or the checkpoint the run goes on from (read once:
        while the thread is held, nothing else writes it)."""
        if self._start is None:
            self._start = await self.graph.aget_state(self.config)
        return self._start

    def go_from(self, config: RunnableConfig) -> None:
        """The run starts from ``config``'s checkpoint instead (a rollback's: before what the runs it stopped wrote)."""
        self.config, self._start = config, None

    async def head(self) -> Any:
        """The thread's latest state, wherever the run started (from an earlier checkpoint: its branch's end)."""
        configurable = {k: v for k, v in self.config.get("configurable", {}).items() if k != "checkpoint_id"}
        return await self.graph.aget_state({**self.config, "configurable": configurable})

    async def found(self, must_exist: bool) -> None:
        """``404`` for a checkpoint the thread never had (a run from it would start the thread over), and, when the
        thread ``must_exist`` (LangGraph's ``if_not_exists: "reject"``), for a thread with neither a checkpoint nor
        a record (one made before its first run)."""
        if (await self.state()).created_at is not None:
            return
        if "checkpoint_id" in self.config.get("configurable", {}):
            raise RequestError(404, "not_found", "checkpoint: no such checkpoint on this thread")
        recorded = self.recorded
        if must_exist and (recorded is None or await recorded.made() is None):
            raise RequestError(404, "not_found", "no such thread: make it first, or run with if_not_exists create")

    async def goes_on(self) -> None:
        """A run without input goes on from where the thread stopped (a breakpoint, a cancelled run), or from an
        earlier checkpoint, whose nodes run again (useStream's regenerate: a branch) — checked: not past a
        decision that waits, and not through what the thread had already done from there: tool calls that ran
        or waited for a decision run only once, and only as decided."""
        state = await self.state()
        if "__start__" in state.next:  # before a run's input: nothing to go on with
            raise RequestError(422, "invalid_request", "checkpoint: it is before a run's input; send one from it")
        if await self._forks_past_decisions(state):
            detail = (
                "checkpoint: going on from it would run again tool calls the thread has run or decided; "
                "a run from it takes an input (an edit), or name a checkpoint before the model's call"
            )
            raise RequestError(422, "invalid_request", detail)
        if state.interrupts:  # going on would ask again; a decision is the answer
            raise RequestError(409, "conflict", "the thread waits for a decision: a resume answers it")

    async def answer_again(self, chat_request: ChatRequest) -> bool:
        """Whether the run answers the thread's last question again, in place of its answer (a client's
        regenerate): when the request's last message is that question, the run goes on from the checkpoint where
        it had just been added — a branch, the answer left in the thread's history. False otherwise (the
        question is not the thread's: it is added as any)."""
        head = await self.head()
        asked = next((m.id for m in reversed(_messages(head)) if isinstance(m, HumanMessage)), None)
        if asked is None or not chat_request.messages or chat_request.messages[-1].id != asked:
            return False
        snapshot = head
        while not (_messages(snapshot) and _messages(snapshot)[-1].id == asked and snapshot.next):
            if snapshot.parent_config is None:
                return False
            snapshot = await self.graph.aget_state(snapshot.parent_config)
        checkpoint_id = snapshot.config["configurable"]["checkpoint_id"]
        self.go_from({**self.config, "configurable": {**self.config["configurable"], "checkpoint_id": checkpoint_id}})
        return True

    async def lacking(self, chat_request: ChatRequest, system_messages: str) -> list[BaseMessage]:
        """What of the request's conversation the thread lacks, checked (:func:`.messages.unseen`)."""
        return unseen(chat_request, await self.state(), self.graph, system_messages)

    async def resumed(self, resume: Resume) -> tuple[dict[str, Any], tuple[Event, ...]]:
        """The value per pending interrupt that resumes the thread, checked (:mod:`.decisions`), and the events
        a resumed stream starts with: the thread's messages, then what each decision does to its call."""
        state = await self.state()
        if await self._forks_past_decisions(state):  # a decision the thread left behind (a new question since)
            detail = "checkpoint: the thread has gone on past what waited there; resume it where it waits now"
            raise RequestError(422, "invalid_request", detail)
        values, decided = resume_value(state, resume, graph_tools(self.graph))
        return values, (MessagesSnapshot(plain_messages(state)), *decided)

    async def _forks_past_decisions(self, state: Any) -> bool:
        """Whether the run, from an earlier checkpoint named (``state``), would go on through tool calls the thread
        has run or decided since, or that waited there for a decision it left behind."""
        named = "checkpoint_id" in self.config.get("configurable", {})
        return named and forks_past_decisions(state, await self.head())

    async def begin(self, question: str, stream_id: str | None) -> None:
        """The run starts: the thread's record says so (made, titled by the question, on its first run), and the
        checkpoints it writes carry the thread's metadata (as LangGraph's server's do)."""
        if self.recorded is not None:
            metadata = await self.recorded.started(question, stream_id, self.run_id)
            if metadata:
                self.config["metadata"] = {**metadata, **self.config.get("metadata", {})}

    async def settled(self) -> ThreadState:
        """What the thread's state says once the run has ended: interrupted when it waits for a decision or
        stopped at a breakpoint (nodes still to run after a run that ran to its end)."""
        state = await self.head()
        settled_state = settled(state)
        self.status = status_of(state)
        before = {message.id for message in _messages(await self.state())}
        added = (m for m in _messages(state) if isinstance(m, AIMessage) and m.id and m.id not in before)
        self.answers = tuple(str(message.id) for message in added)
        return settled_state

    async def release(self, ended: str | None = None) -> None:
        """Let go of the thread, its record saying how the run (which ``ended`` so: ``error``, ...) left it; an
        ephemeral thread is deleted. A run asked to roll back (a cancel's ``action=rollback``) first takes out
        the checkpoints it wrote, so the thread is as the run found it when the next one starts."""
        try:
            if self.ephemeral:
                await self.graph.checkpointer.adelete_thread(self.stored_id)
            elif self.recorded is not None:
                recorded, run_id = self.recorded, self.run_id
                status = "error" if ended == "error" else self.status
                if status is None:  # it stopped before its end (cancelled): nodes still to run, as at a breakpoint
                    status = status_of(await self.head())
                if await recorded.ended(status, run_id):
                    await drop_runs(self.graph.checkpointer, self.stored_id, {run_id})
                    status = status_of(await self.head())
                    await recorded.forget_stream(run_id, status)
        finally:
            await self.held.release()


async def open_thread(
    graph: Any,
    config: RunnableConfig,
    holds: ThreadHolds,
    strategy: Strategy = "reject",
    recorded: Recorded | None = None,
    ephemeral: bool = False,
    must_exist: bool = False,
) -> RunThread | None:
    """The thread the run's config names, held (what ``strategy`` says while another run is on it); None when the
    runnable keeps no thread (no checkpointer of its own, or no thread id). After a ``rollback`` the run goes on
    from where the run it stopped started (``interrupt`` and ``rollback`` stop the runs waiting their turn in the
    background too); an ``ephemeral`` thread (a stateless run's) is deleted as it ends; one that ``must_exist``
    must be there already (:meth:`RunThread.found`); one deleted while the run waited for it is a ``404``."""
    saved = checkpointed(graph)
    thread_id = config.get("configurable", {}).get("thread_id")
    if saved is None or thread_id is None:
        return None
    if strategy in ("interrupt", "rollback") and recorded is not None:  # it stops those waiting too, as LangGraph's
        await recorded.cancel_queued()
    waits = recorded if recorded is not None and strategy != "reject" else None  # it may wait for the thread
    made = None if waits is None else await waits.made()
    held = await holds.take(saved.checkpointer, str(thread_id), str(config.get("run_id")), strategy)
    thread = RunThread(saved, config, held, recorded, ephemeral=ephemeral)
    try:
        if waits is not None and made is not None and held.waited and await waits.made() != made:
            raise RequestError(404, "not_found", "the thread was deleted while this run waited its turn")
        await thread.found(must_exist)
        if strategy == "rollback" and held.stopped_runs:
            thread.go_from(await _before(saved, config, held.stopped_runs))
    except BaseException:
        await held.release()
        raise
    return thread


async def _before(graph: Any, config: RunnableConfig, run_ids: tuple[str, ...]) -> RunnableConfig:
    """``config`` at the last checkpoint before the head's that none of the runs ``run_ids`` wrote (checkpoints
    carry their run's id), going back parent by parent: a run that rolled back another went on from before it, and
    what that one wrote (listed in time among the rest) is not the head's past."""
    snapshot = await graph.aget_state(config)
    while snapshot.created_at is not None and snapshot.metadata.get("run_id") in run_ids:
        if snapshot.parent_config is None:  # they began the thread
            await graph.checkpointer.adelete_thread(config["configurable"]["thread_id"])
            return config
        snapshot = await graph.aget_state(snapshot.parent_config)
    if snapshot.created_at is None:
        return config
    checkpoint_id = snapshot.config["configurable"]["checkpoint_id"]
    return {**config, "configurable": {**config.get("configurable", {}), "checkpoint_id": checkpoint_id}}


def _messages(state: Any) -> list[BaseMessage]:
    values = state.values if isinstance(state.values, dict) else {}
    return list(values.get("messages") or ())
