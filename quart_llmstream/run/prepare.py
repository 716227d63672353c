"""Preparing a run: everything that happens before it streams, in one place and in order.

The client's narrowing of what streams (``client_filters``), then its thread's name (checked), then the user's
code — the ``stream_owner`` hook, the runnable factory, the ``run_config`` hook — then the thread (held: one run
at a time), the runnable's input (what the thread lacks, or a resume checked against it), and last the stream
its events go to, once the process and the owner have room for it. Whatever fails is a :class:`RequestError`
before any streaming (a failure of the user's code or of reading the thread: ``500``, its traceback logged),
and a thread taken is let go. What is prepared is one :class:`Prepared`; :meth:`Preparer.start` starts its run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, cast
from uuid import uuid4

from langchain_core.runnables import Runnable, RunnableConfig

from ..errors import RequestError, public_message
from ..events import RunEnded
from ..lifecycle import maybe_await
from ..logs import LogReader, Stream, open_stream
from ..logs.store import StreamMeta, StreamStore
from ..metrics import BlueprintMetrics
from ..owners import owner_of
from ..request import ChatRequest
from ..settings import Settings
from ..tracing import LangfuseTracing
from .config import build_run_config
from .inputs import RunInput, runnable_input
from .ledger import RunLedger
from .mapping import Mapper, StreamMapper
from .producer import Run, StopReason
from .sources import EVENT_SOURCES, Emit
from .sources.filters import narrow, server_filters
from .threads import (
    Recorded,
    RunThread,
    Strategy,
    ThreadHolds,
    ThreadRecords,
    ThreadState,
    checked_name,
    checkpointed,
    graph_of,
    hides_a_thread,
    new_name,
    open_thread,
    shared_keys,
    stored_name,
)

__all__ = ["Prepared", "Preparer", "RunnableFactory", "Runs"]

log = logging.getLogger("quart_llmstream")

RunnableFactory = Callable[[ChatRequest], "Runnable[Any, Any] | Awaitable[Runnable[Any, Any]]"]
"""Builds the runnable for one request; may be sync or async."""


class Streams(Protocol):
    """What of the wire's protocol a run needs: the event source it asks for, and what it takes of a request."""

    @property
    def source(self) -> str | None: ...

    def source_options(self, chat_request: ChatRequest) -> dict[str, Any]: ...

    def answer_ids(self, stream_id: str, ids: Mapping[str, str]) -> tuple[str, ...]: ...


class Runs(Protocol):
    """What the app keeps of its runs (:class:`~..extension.LLMStream`): room for one more, the holds on its
    threads, and the registry every run joins."""

    holds: ThreadHolds

    def admit(self, settings: Settings, owner: str | None = None, *, per_owner: bool = False) -> None: ...

    def add(self, run: Run, owner: str | None) -> None: ...


@dataclass(slots=True)
class Prepared:
    """A run ready to start: its request, owner, runnable, input and config, its thread, its mapping and the
    stream its events go to (with the first response's reader, made before the run can write)."""

    chat_request: ChatRequest
    owner: str | None
    runnable: Runnable[Any, Any]
    inputs: RunInput
    config: RunnableConfig
    filters: dict[str, Any]
    thread_name: str | None
    thread: RunThread | None
    mapping: StreamMapper
    stream: Stream
    reader: LogReader

    @property
    def headers(self) -> dict[str, str]:
        """What the response says of the run: its stream's id (to resume it by) and its thread's."""
        thread = {"X-Thread-Id": self.thread_name} if self.thread_name is not None else {}
        return self.stream.headers | thread


class Preparer:
    """What one blueprint prepares and starts: built once, at registration."""

    def __init__(
        self,
        factory: RunnableFactory,
        settings: Settings,
        runs: Runs,
        tracing: LangfuseTracing | None,
        store: StreamStore | None,
        records: Callable[[], ThreadRecords] | None = None,
        streams: Streams | None = None,
        metrics: BlueprintMetrics | None = None,
        ledger: Callable[[], RunLedger] | None = None,
    ) -> None:
        self._factory, self._settings, self._runs, self._tracing, self._store = factory, settings, runs, tracing, store
        self._metrics, self._ledger, self._streams = metrics, ledger, streams  # ledger: runs kept for feedback
        self.records = records
        """The threads' records, where runs write them (None: threads are not listed)."""
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
        self._source_options = streams.source_options if streams is not None and streams.source else None

    async def prepare(self, chat_request: ChatRequest) -> Prepared:
        """Everything before the run streams (see the module), or :class:`RequestError`."""
        settings, run_id = self._settings, uuid4()
        mapper, filters = self.mapper, self._filters
        if settings.client_filters:
            kinds, filters = narrow(chat_request.body, mapper.events, filters)
            mapper = mapper if kinds == mapper.events else mapper.narrowed(kinds)
        if self._source_options is not None:
            filters = {**filters, **self._source_options(chat_request)}
        name = checked_name(chat_request.thread_id)
        thread = None
        try:
            owner = await owner_of(settings.stream_owner, chat_request)
            runnable, graph = await self._runnable(chat_request)
            if name is None and chat_request.resume is None and checkpointed(graph) is not None:
                name = new_name()  # a conversation of its own
            traced = (self._tracing.handler(run_id.hex),) if self._tracing else ()  # its trace's id: the run's
            callbacks = (*settings.callbacks, *traced)
            thread_id = None if name is None else stored_name(name, owner)
            config = await build_run_config(chat_request, run_id, callbacks, settings.run_config, thread_id)
            if thread_id is not None and (checkpoint := chat_request.ids.get("checkpoint_id")):
                config["configurable"]["checkpoint_id"] = checkpoint  # the run goes on from there: a branch
            ephemeral = "ephemeral" in chat_request.ids  # a thread of the run's own, gone with it (stateless)
            recorded = None
            if self.records is not None and name is not None and not ephemeral:
                recorded = Recorded(self.records(), owner, name)
            strategy = cast(Strategy, chat_request.multitask_strategy or settings.multitask_strategy)
            existing = chat_request.ids.get("if_not_exists") == "reject"
            thread = await open_thread(graph, config, self._runs.holds, strategy, recorded, ephemeral, existing)
            config = config if thread is None else thread.config  # after a rollback: from where the run began
            state_keys = self.state_keys(graph)
            inputs = await runnable_input(chat_request, graph, thread, state_keys, settings.system_messages)
            self._runs.admit(settings, owner, per_owner=True)
            meta = StreamMeta(owner, tuple(sorted(mapper.events)), dict(chat_request.ids))
            stream = await open_stream(self._store, str(run_id), chat_request.ids.get("stream_id"), meta)
            if thread is not None:
                await thread.begin(chat_request.question, stream.id if stream.resumable else None)
        except BaseException as exc:
            if thread is not None:
                await thread.release()
            if isinstance(exc, RequestError) or not isinstance(exc, Exception):
                raise
            log.exception("preparing the run failed (runnable factory, a hook, or reading the thread)")
            detail = public_message("internal_error", exc, settings.expose_errors)
            raise RequestError(500, "internal_error", detail) from None
        mapping = mapper(
            str(run_id),
            client_tools=[tool["function"]["name"] for tool in chat_request.tools],
            thread_id=name,
            opening=inputs.opening,
            graph=graph is not None,
            state_keys=state_keys,
        )
        prepared = Prepared(
            chat_request=chat_request,
            owner=owner,
            runnable=runnable,
            inputs=inputs,
            config=config,
            filters=filters,
            thread_name=name,
            thread=thread,
            mapping=mapping,
            stream=stream,
            reader=stream.log.reader(),
        )
        await self._admitted(prepared)
        return prepared

    def start(self, prepared: Prepared) -> Run:
        """Start the prepared run in a task of its own; the app's registry counts it until it ends."""
        thread = prepared.thread
        run = Run(
            partial(self._drive, prepared),
            prepared.mapping,
            prepared.stream.log,
            self._settings,
            prepared.chat_request,
            outlives_client=prepared.stream.resumable,  # its client may come back for the rest
            on_disconnect=prepared.chat_request.ids.get("on_disconnect"),  # unless the request says (LangGraph's)
            on_close=self._on_close(prepared),
            metrics=self._metrics,
        )
        self._runs.add(run, prepared.owner)
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
                await ledger().keep(prepared.owner, prepared.mapping.run_id, prepared.thread_name, answer_ids)
            finally:
                if thread is not None:
                    await thread.release(status)

        return closed

    async def thread_graph(self, chat_request: ChatRequest) -> Any:
        """The graph that keeps the threads of this blueprint's runnable (built by the factory for
        ``chat_request``), or None."""
        return checkpointed(await self.graph(chat_request))

    async def graph(self, chat_request: ChatRequest) -> Any:
        """The LangGraph graph the factory builds for ``chat_request``, or None (a runnable that is not one); a
        failure of the factory is a ``500``."""
        try:
            return (await self._runnable(chat_request))[1]
        except RequestError:
            raise
        except Exception as exc:
            log.exception("the runnable factory failed")
            detail = public_message("internal_error", exc, self._settings.expose_errors)
            raise RequestError(500, "internal_error", detail) from None

    async def _runnable(self, chat_request: ChatRequest) -> tuple[Runnable[Any, Any], Any]:
        """The factory's runnable for the request, and the LangGraph graph it is (or None)."""
        runnable = await maybe_await(self._factory(chat_request))
        graph = graph_of(runnable)
        if graph is None and hides_a_thread(runnable):
            raise TypeError(
                "the factory returned a runnable with a checkpointed LangGraph graph inside it (prompt | graph): "
                "its thread could be neither read nor checked; return the graph itself (with_config, with_retry "
                "and bind are fine), and put what comes before it in a node"
            )
        return runnable, graph

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

    def state_keys(self, graph: Any) -> tuple[str, ...]:
        """The keys of a graph's state shared with the client: ``state_keys``, or by default those it shows."""
        if graph is None:
            return ()
        return tuple(shared_keys(graph)) if self._settings.state_keys is None else self._settings.state_keys
