"""Preparing a run: everything that happens before it streams, in one place and in order.

The client's narrowing of what streams (``client_filters``), then its thread's name (checked), then the user's
code — the ``stream_owner`` hook, the runnable factory, the ``run_config`` hook — then the thread (held: one run
at a time), the runnable's input (what the thread lacks, or a resume checked against it), and last the stream
its events go to, once the process and the owner have room for it. Whatever fails is a :class:`RequestError`
before any streaming (a failure of the user's code or of reading the thread: ``500``, its traceback logged),
and a thread taken is let go. What is prepared is one :class:`Prepared`; :meth:`Preparer.start` starts its run.
A background run that must wait its turn on its thread (``enqueue``, LangGraph's ``runs.create``) is prepared up
to its stream, and takes its thread and checks its input when its turn comes (:mod:`.queued`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any
from uuid import uuid4

from langchain_core.runnables import RunnableConfig

from ..errors import RequestError
from ..events import RunEnded
from ..logs import open_stream
from ..logs.store import StreamMeta, StreamStore
from ..metrics.base import BlueprintMetrics
from ..owners import owner_of
from ..request import ChatRequest
from ..settings import Settings
from ..tracing import LangfuseTracing
from .config import build_run_config
from .factory import Factory, RunnableFactory, takes_messages
from .inputs import RunInput, runnable_input
from .ledger import RunLedger
from .mapping import Mapper, StreamMapper
from .prepared import Prepared, Runs, Streams, Turn
from .producer import Run, StopReason
from .queued import Queued
from .sources import EVENT_SOURCES, Emit
from .sources.filters import narrow, server_filters
from .threads import (
    Recorded,
    RunThread,
    ThreadRecords,
    ThreadState,
    checked_name,
    checkpointed,
    new_name,
    open_thread,
    owned,
    shared_keys,
    stored_name,
)

__all__ = ["Prepared", "Preparer", "RunnableFactory", "Runs", "Streams"]

log = logging.getLogger("quart_llmstream")


class Preparer:
    """What one blueprint prepares and starts: built once, at registration, from the app's runnable ``factory``,
    the blueprint's ``settings`` and the app's open ``runs``; and, where the app has them, its ``tracing``
    (Langfuse), the stream ``store`` (resume), the threads' ``records`` (where runs write them: the threads are
    listed), the protocol's ``streams`` (its event source, runs that wait apart), ``metrics``, and the ``ledger``
    of runs kept to be rated (feedback)."""

    def __init__(
        self,
        factory: RunnableFactory,
        settings: Settings,
        runs: Runs,
        *,
        tracing: LangfuseTracing | None = None,
        store: StreamStore | None = None,
        records: Callable[[], ThreadRecords] | None = None,
        streams: Streams | None = None,
        metrics: BlueprintMetrics | None = None,
        ledger: Callable[[], RunLedger] | None = None,
    ) -> None:
        self._settings, self._runs, self._tracing, self._store = settings, runs, tracing, store
        self.factory = Factory(factory, settings.expose_errors)
        """The app's runnable factory, and the graph it builds (what a blueprint's thread routes read)."""
        self._metrics, self._ledger, self._streams, self._records = metrics, ledger, streams, records
        self.mapper = Mapper(
            settings.events,
            event_hook=settings.event_hook,
            max_payload_chars=settings.max_payload_chars,
            expose_errors=settings.expose_errors,
            predict_state=[prediction.model_dump() for prediction in settings.predict_state],
            timed=metrics is not None,
        )
        self._filters = server_filters(settings)
        self._source = EVENT_SOURCES[(streams and streams.source) or settings.event_source]

    async def prepare(self, chat_request: ChatRequest) -> Prepared:
        """Everything before the run streams (see the module), or :class:`RequestError`."""
        settings, run_id = self._settings, uuid4()
        mapper, filters = self.mapper, self._filters
        if settings.client_filters:
            kinds, filters = narrow(chat_request.body, mapper.events, filters)
            mapper = mapper if kinds == mapper.events else mapper.narrowed(kinds)
        filters = {**filters, **chat_request.run_options.source}  # a protocol's own source takes its request's
        name = checked_name(chat_request.thread_id)
        thread, inputs = None, RunInput(None)
        try:
            owner = await owner_of(settings.stream_owner, chat_request)
            runnable, graph = await self.factory.runnable(chat_request)
            keeps_threads = checkpointed(graph) is not None
            owned(owner, settings.stream_owner is not None, reaches_thread=keeps_threads and name is not None)
            if name is None and chat_request.resume is None and keeps_threads:
                name = new_name()  # a conversation of its own
            traced = (self._tracing.handler(run_id.hex),) if self._tracing else ()  # its trace's id: the run's
            callbacks = (*settings.callbacks, *traced)
            thread_id = None if name is None else stored_name(name, owner)
            config = await build_run_config(chat_request, run_id, callbacks, settings.run_config, thread_id)
            asks = chat_request.run_options
            if thread_id is not None and (checkpoint := asks.checkpoint_id):
                config["configurable"]["checkpoint_id"] = checkpoint  # the run goes on from there: a branch
            recorded = None
            if self._records is not None and name is not None and not asks.ephemeral:
                recorded = Recorded(self._records(), owner, name, self._store)
            strategy = asks.multitask_strategy or settings.multitask_strategy
            messages_only = takes_messages(runnable)
            turn = Turn(
                chat_request, mapper, graph, config, strategy, recorded, asks.ephemeral, asks.must_exist, messages_only
            )
            waiting = await self._waits_apart(turn)
            if waiting is None:
                thread, config, inputs = await self._take_thread(turn)
            self._runs.admit(settings, owner, per_owner=True)  # before its stream is made: refused, it leaves no log
            meta = StreamMeta(owner, tuple(sorted(mapper.events)), dict(chat_request.ids))
            stream = await open_stream(self._store, str(run_id), asks.stream_id, meta)
            if waiting is not None:
                await waiting.queued(chat_request.question, str(run_id), make=not turn.must_exist)  # none: deleted
            elif thread is not None:
                await thread.begin(chat_request.question, stream.id if stream.resumable else None)
        except BaseException as exc:
            if thread is not None:
                await thread.release()
            if isinstance(exc, RequestError) or not isinstance(exc, Exception):
                raise
            log.exception("preparing the run failed (runnable factory, a hook, or reading the thread)")
            raise RequestError.internal(exc, settings.expose_errors) from None
        prepared = Prepared(
            chat_request=chat_request,
            owner=owner,
            runnable=runnable,
            inputs=inputs,
            config=config,
            filters=filters,
            thread_name=name,
            thread=thread,
            mapping=self._mapping(mapper, str(run_id), chat_request, name, graph, inputs),
            stream=stream,
            reader=stream.log.reader(),
            queued=None if waiting is None else turn,
        )
        await self._admitted(prepared)
        return prepared

    def _mapping(
        self, mapper: Mapper, run_id: str, chat_request: ChatRequest, name: str | None, graph: Any, inputs: RunInput
    ) -> StreamMapper:
        return mapper(
            run_id,
            client_tools=[tool["function"]["name"] for tool in chat_request.tools],
            thread_id=name,
            opening=inputs.opening,
            graph=graph is not None,
            state_keys=shared_keys(graph, self._settings.state_keys),
        )

    async def _waits_apart(self, turn: Turn) -> Recorded | None:
        """Where a run that waits its turn apart from its request (``enqueue``, on a protocol whose runs do:
        LangGraph's) while another run holds its thread is recorded; None for a run that takes its thread now."""
        if turn.strategy != "enqueue" or turn.recorded is None or self._streams is None or self._store is None:
            return None  # without a stream store, nothing could follow or cancel it: it waits in its request
        thread_id = turn.config.get("configurable", {}).get("thread_id")
        if thread_id is None or not self._streams.waits_apart(turn.chat_request):
            return None
        return turn.recorded if await self._runs.holds.busy(str(thread_id)) else None

    async def _take_thread(self, turn: Turn) -> tuple[RunThread | None, RunnableConfig, RunInput]:
        """The run's thread, held (waiting its turn when ``turn.strategy`` says so), and its input, checked against
        what the thread holds; the config it runs with (after a rollback: from where the stopped run began)."""
        thread = await open_thread(
            turn.graph, turn.config, self._runs.holds, turn.strategy, turn.recorded, turn.ephemeral, turn.must_exist
        )
        try:
            keys, system_messages = shared_keys(turn.graph, self._settings.state_keys), self._settings.system_messages
            inputs = await runnable_input(
                turn.chat_request, turn.graph, thread, keys, system_messages, messages_only=turn.messages_only
            )
        except BaseException:
            if thread is not None:
                await thread.release()
            raise
        return thread, turn.config if thread is None else thread.config, inputs

    def start(self, prepared: Prepared) -> Run | Queued:
        """Start the prepared run in a task of its own (a queued one once its turn comes: :mod:`.queued`); the
        app's registry counts it until it ends."""
        started: Run | Queued
        if prepared.queued is None:
            started = self._run(prepared)
        else:
            recorded, run_id = prepared.queued.recorded, prepared.mapping.run_id
            assert recorded is not None  # a queued run's thread is recorded: its record lists it
            turn, unqueued = partial(self._turn_comes, prepared), partial(recorded.unqueued, run_id)
            outlives = prepared.outlives_client(self._settings.on_disconnect)
            started = Queued(
                turn,
                prepared.stream.log,
                prepared.mapping,
                self._settings.expose_errors,
                unqueued,
                leaves_with_client=not outlives,
            )
        self._runs.add(started, prepared.owner)
        return started

    async def _turn_comes(self, prepared: Prepared) -> Run:
        """A queued run's turn: it takes its thread (its input checked against what the thread holds now) and
        starts."""
        turn = prepared.queued
        assert turn is not None
        thread, prepared.config, prepared.inputs = await self._take_thread(turn)
        try:
            if thread is not None:
                await thread.begin(prepared.chat_request.question, prepared.stream.id)
        except BaseException:
            if thread is not None:
                await thread.release()
            raise
        prepared.thread = thread
        prepared.mapping = self._mapping(
            turn.mapper, prepared.mapping.run_id, turn.chat_request, prepared.thread_name, turn.graph, prepared.inputs
        )
        return self._run(prepared)

    def _run(self, prepared: Prepared) -> Run:
        thread = prepared.thread
        run = Run(
            partial(self._drive, prepared),
            prepared.mapping,
            prepared.stream.log,
            self._settings,
            prepared.chat_request,
            outlives_client=prepared.outlives_client(self._settings.on_disconnect),
            on_close=self._on_close(prepared),
            metrics=self._metrics,
        )
        if thread is not None:  # a request with ``interrupt`` or ``rollback`` stops it, wherever it comes
            thread.held.on_stop(lambda: run.stop(StopReason.CANCEL))
        return run

    def _on_close(self, prepared: Prepared) -> Callable[[str], Awaitable[None]] | None:
        """What the run does as it ends, before its log closes (so its client, told of the end, finds it done): keep
        the run for feedback, and let go of its thread."""
        thread, ledger = prepared.thread, self._ledger
        if ledger is None:
            return None if thread is None else thread.release

        async def closed(status: str) -> None:
            try:
                stream, ids = prepared.stream.id, prepared.chat_request.ids
                answer_ids = self._streams.answer_ids(stream, ids) if self._streams is not None else ()
                answer_ids = (*answer_ids, *(thread.answers if thread is not None else ()))  # as read back
                kept_on = None if thread is not None and thread.ephemeral else prepared.thread_name  # gone with it
                await ledger().keep(prepared.owner, prepared.mapping.run_id, kept_on, answer_ids)
            finally:
                if thread is not None:
                    await thread.release(status)

        return closed

    async def _drive(self, prepared: Prepared, emit: Emit) -> ThreadState | None:
        """The run: the event source to its end, then what the thread's state says (None: no thread to ask)."""
        await self._source(prepared.runnable, prepared.inputs.value, prepared.config, emit, **prepared.filters)
        return None if prepared.thread is None else await prepared.thread.settled()

    async def _admitted(self, prepared: Prepared) -> None:
        """The process and the owner have room still, now that the stream is made (nothing awaits between this
        and the run's start); else its log is closed, its thread let go, and the request refused."""
        try:
            self._runs.admit(self._settings, prepared.owner, per_owner=True)
        except RequestError as refusal:
            prepared.reader.close()
            prepared.stream.log.close([RunEnded("cancelled", "cancelled", None, refusal.error, refusal.detail)])
            if prepared.thread is not None:
                await prepared.thread.release()
            raise
