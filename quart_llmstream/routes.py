"""The chat blueprint: read the request through the protocol, build the runnable, start the run, answer
with a response that follows the run's log.

Everything that can fail for a reason the client should hear about (a bad body, a factory or a
``run_config`` hook that raises) fails here, before the response starts, as a JSON error with a 4xx
or 500 status. What can be prepared once (the mapper, the filters, the protocol, the source) is
prepared at registration.
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple, Unpack, cast
from uuid import uuid4

from langchain_core.runnables import Runnable, RunnableConfig
from quart import Blueprint, Quart, Response, request
from quart.blueprints import BlueprintSetupState
from werkzeug.datastructures import Headers

from .body import read_json_body
from .chat_request import ChatRequest
from .errors import ConfigError, RequestError, public_message
from .events import RunEnded
from .extension import LLMStream, ThreadHold
from .inputs import RunInput, runnable_input
from .logs import MemoryLog, StreamLog
from .logs.store import StreamConflict, StreamMeta, StreamStore
from .mapping import Mapper
from .owners import owner_of, scoped
from .protocols import PROTOCOLS
from .resume import check_stream_id, resume_routes
from .run import Run
from .run_config import build_run_config
from .settings import Options, Settings, check_option_names, load_settings
from .sources import EVENT_SOURCES, Emit
from .sources.filters import narrow, server_filters
from .threads import Thread, checkpointed, graph_of, shared_keys, thread_of
from .tracing import LangfuseTracing

__all__ = ["RunnableFactory", "create_blueprint"]

log = logging.getLogger("quart_llmstream")

RunnableFactory = Callable[[ChatRequest], "Runnable[Any, Any] | Awaitable[Runnable[Any, Any]]"]
"""Builds the runnable for one request; may be sync or async."""

_BUFFERED_EVENTS = 64  # events held for a slow reader before the run waits for it


def create_blueprint(
    runnable_factory: RunnableFactory, *, name: str = "llmstream", **options: Unpack[Options]
) -> Blueprint:
    """A blueprint with one streaming chat route (``POST`` at the ``route`` option, ``/chat`` by default).

    ``options`` override the app's ``LLMSTREAM_*`` config keys (see :class:`~.settings.Settings`).
    They are validated when the blueprint is registered, so a bad value stops the app's start.
    """
    check_option_names(options)
    blueprint = Blueprint(name, __name__)

    @blueprint.record
    def register(state: BlueprintSetupState) -> None:
        app = cast(Quart, state.app)
        settings = load_settings(app.config, options)
        extension = LLMStream.of(app)
        protocol = PROTOCOLS[settings.protocol]
        routes = protocol.routes(name, settings)
        store = None
        if settings.resume is not None and protocol.resumable:
            store = extension.store(settings.resume, settings.resume_ttl, settings.resume_max_frames)
            routes += resume_routes(protocol, store, settings, extension)
        elif settings.resume is not None and "resume" in options:  # an app-wide LLMSTREAM_RESUME skips it
            raise ConfigError(f"resume: clients of the {protocol.name} protocol cannot resume")
        chat = _chat_view(runnable_factory, settings, extension, extension.tracing(settings.langfuse), store)
        for rule, method, view in routes:
            endpoint = "chat" if view is None else view.__name__
            state.add_url_rule(rule, endpoint=endpoint, view_func=view or chat, methods=[method])

    return blueprint


def _chat_view(
    runnable_factory: RunnableFactory,
    settings: Settings,
    extension: LLMStream,
    tracing: LangfuseTracing | None,
    store: StreamStore | None,
) -> Callable[[], Awaitable[Response]]:
    mapper = Mapper(
        settings.events,
        event_hook=settings.event_hook,
        max_payload_chars=settings.max_payload_chars,
        expose_errors=settings.expose_errors,
        predict_state=[prediction.model_dump() for prediction in settings.predict_state],
    )
    filters = server_filters(settings)
    protocol = PROTOCOLS[settings.protocol]
    event_source = EVENT_SOURCES[settings.event_source]

    async def chat() -> Response:
        run_id = uuid4()
        hold = ThreadHold(extension.threads)
        try:
            _check_capacity(extension, settings)  # early, before reading the body
            body = await read_json_body(request, protocol.most_messages(settings))
            chat_request = protocol.read(body, Headers(request.headers), settings)
            chosen, run_filters = mapper, filters
            if settings.client_filters:
                kinds, run_filters = narrow(chat_request.body, mapper.events, filters)
                chosen = mapper if kinds == mapper.events else mapper.narrowed(kinds)
            run = await _prepare_run(runnable_factory, chat_request, run_id, settings, tracing, hold)
            extension.check_owner(run.owner, settings.max_streams_per_owner, settings.retry_after)
            stream_log: StreamLog
            if store is None:
                stream_id, stream_log = str(run_id), MemoryLog(_BUFFERED_EVENTS)
            else:
                stream_id, stream_log = await _resumable_log(store, chat_request, chosen.events, run.owner)
            _check_capacity(extension, settings, stream_log, run.owner)  # again: no await from here on
        except RequestError as exc:
            hold.release()
            return protocol.error_response(exc)
        except BaseException:
            hold.release()
            raise
        runnable, inputs, config = run.runnable, run.inputs.value, run.config
        graph = checkpointed(run.graph) if run.thread_id is not None else None

        async def source(emit: Emit) -> Thread | None:
            """Run; then what the thread's state says (None: no thread to ask)."""
            await event_source(runnable, inputs, config, emit, **run_filters)
            return None if graph is None else thread_of(await graph.aget_state(config))

        reader = stream_log.reader()
        mapping = chosen(
            str(run_id),
            client_tools=[tool["function"]["name"] for tool in chat_request.tools],
            thread_id=run.thread_id,
            opening=run.inputs.opening,
            graph=run.graph is not None,
            state_keys=run.state_keys,
        )
        outlives = store is not None  # a resumable stream's run goes on for a client that comes back
        release = hold.release
        producer = Run(source, mapping, stream_log, settings, chat_request, outlives_client=outlives, on_close=release)
        extension.add(producer, run.owner)
        encoder = protocol.encoder(stream_id, chosen.events, chat_request.ids)
        response = await protocol.respond(reader, encoder, producer, settings, None if store is None else 0)
        if store is not None:
            response.headers["X-Stream-Id"] = stream_id
        if run.thread_id is not None:
            response.headers["X-Thread-Id"] = run.thread_id
        return response

    return chat


class _Prepared(NamedTuple):
    runnable: Runnable[Any, Any]
    config: RunnableConfig
    inputs: RunInput
    owner: str | None
    thread_id: str | None  # the client's name for the run's thread (its checkpointer's is scoped by owner)
    graph: Any  # the LangGraph graph the runnable is, or None
    state_keys: tuple[str, ...]  # the keys of its state shared with the client


async def _prepare_run(
    factory: RunnableFactory,
    chat_request: ChatRequest,
    run_id: Any,
    settings: Settings,
    tracing: LangfuseTracing | None,
    hold: ThreadHold,
) -> _Prepared:
    """The user's code that runs before streaming (the factory, the ``stream_owner`` and ``run_config``
    hooks), the run's thread (``hold`` takes a checkpointed one before its state is read), and the runnable's
    input: a failure is a ``500`` before any streaming."""
    try:
        owner = await owner_of(settings, chat_request)
        runnable = factory(chat_request)
        if inspect.isawaitable(runnable):
            runnable = await runnable
        graph = graph_of(runnable)
        state_keys = _state_keys(graph, settings)
        thread_id = chat_request.thread_id
        if thread_id is None and chat_request.resume is None and checkpointed(graph) is not None:
            thread_id = uuid4().hex  # a conversation of its own
        scoped_id = None if thread_id is None else scoped(thread_id, owner)
        callbacks = (*settings.callbacks, tracing.handler()) if tracing else settings.callbacks
        config = await build_run_config(chat_request, run_id, callbacks, settings.run_config, scoped_id)
        if (saved := checkpointed(graph)) is not None and (held := config.get("configurable", {}).get("thread_id")):
            hold.take((id(saved.checkpointer), str(held)))  # the thread of that checkpointer: others have their own
        inputs = await runnable_input(chat_request, config, graph, state_keys, settings.system_messages)
    except RequestError:
        raise
    except Exception as exc:
        log.exception("preparing the run failed (runnable factory, a hook, or reading the thread)")
        detail = public_message("internal_error", exc, settings.expose_errors)
        raise RequestError(500, "internal_error", detail) from None
    return _Prepared(runnable, config, inputs, owner, thread_id, graph, state_keys)


async def _resumable_log(
    store: StreamStore, chat_request: ChatRequest, events: frozenset[str], owner: str | None
) -> tuple[str, StreamLog]:
    """The stream's id (the request's, or a new unguessable one) and its log in the store."""
    stream_id = check_stream_id(chat_request.ids.get("stream_id") or secrets.token_urlsafe(18))
    meta = StreamMeta(owner, tuple(sorted(events)), dict(chat_request.ids))
    try:
        return stream_id, await store.create(stream_id, meta, _BUFFERED_EVENTS)
    except StreamConflict:
        raise RequestError(409, "conflict", f"the stream {stream_id} is still running") from None


def _state_keys(graph: Any, settings: Settings) -> tuple[str, ...]:
    """The keys of a graph's state shared with the client: ``state_keys``, or by default those it shows."""
    if graph is None:
        return ()
    return tuple(shared_keys(graph)) if settings.state_keys is None else settings.state_keys


def _check_capacity(
    extension: LLMStream, settings: Settings, stream_log: StreamLog | None = None, owner: str | None = None
) -> None:
    """Refuse a stream the process cannot take, before reading the request, and again once its log is made
    (closing the log), then for its owner too."""
    refusal = None
    if extension.draining:
        refusal = RequestError(503, "shutting_down", public_message("shutting_down"), retry_after=settings.retry_after)
    elif settings.max_streams is not None and len(extension) >= settings.max_streams:
        refusal = RequestError(503, "overloaded", public_message("overloaded"), retry_after=settings.retry_after)
    elif stream_log is not None:
        try:
            extension.check_owner(owner, settings.max_streams_per_owner, settings.retry_after)
        except RequestError as exc:
            refusal = exc
    if refusal is not None:
        if stream_log is not None:
            stream_log.close([RunEnded("cancelled", "cancelled", None, refusal.error, refusal.detail)])
        raise refusal
