"""The chat blueprint: its routes, and the chat view, which reads top to bottom as the data flows.

A request is admitted (the process has room), its body read, the protocol makes it a
:class:`~.request.ChatRequest`, the run is prepared (:mod:`.run.prepare`: owner, factory, config, thread, input,
stream) and started, and the response follows the run's log through the protocol's encoder. Whatever can fail
for a reason the client should hear about fails before the response starts, as a
:class:`~.errors.RequestError`, which one error handler renders in the protocol's own JSON. What can be
prepared once (the mapper, the filters, the protocol, the source) is prepared at registration.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Unpack, cast

from quart import Blueprint, Quart, Response, current_app, jsonify, request
from quart.blueprints import BlueprintSetupState
from werkzeug.datastructures import Headers
from werkzeug.exceptions import HTTPException

from .errors import ConfigError, RequestError, public_message
from .extension import LLMStream
from .feedback import feedback_route
from .metrics.base import BlueprintMetrics
from .protocols import PROTOCOLS, Protocol
from .protocols.unserved import UNSERVED_METHODS, unserved
from .request import ChatRequest
from .request.body import read_json_bodies, read_json_body
from .resume import resume_routes
from .run import Preparer, RunnableFactory
from .settings import Options, Settings, check_option_names, load_settings
from .thread_routes import thread_routes

__all__ = ["RunnableFactory", "create_blueprint"]

log = logging.getLogger("quart_llmstream")


def create_blueprint(
    runnable_factory: RunnableFactory, *, name: str = "llmstream", **options: Unpack[Options]
) -> Blueprint:
    """A blueprint with one streaming chat route (``POST`` at the ``route`` option, ``/chat`` by default).

    ``options`` override the app's ``LLMSTREAM_*`` config keys (see :class:`~.settings.Settings`).
    They are validated when the blueprint is registered, so a bad value stops the app's start.
    """
    check_option_names(options)
    blueprint = Blueprint(name, __name__)
    registered: dict[tuple[int, str], tuple[Protocol, BlueprintMetrics | None]] = {}  # by app and name there

    @blueprint.errorhandler(RequestError)
    async def refused(error: RequestError) -> Response:
        """A refusal before streaming, in the JSON of the protocol of the route that refused."""
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        protocol, metrics = registered[id(app), request.blueprint or name]
        if metrics is not None:
            metrics.refused(error.status, error.error)
        return protocol.error_response(error)

    @blueprint.errorhandler(Exception)
    async def failed(error: Exception) -> Response | HTTPException:
        """What a route did not expect (a checkpointer that is down, say): logged, and a redacted ``500`` in the
        protocol's JSON (an HTTP error of Quart's stays as it is)."""
        if isinstance(error, HTTPException):
            return error
        log.error("a route of blueprint %s failed", request.blueprint or name, exc_info=error)
        return await refused(RequestError(500, "internal_error", public_message("internal_error")))

    @blueprint.record
    def register(state: BlueprintSetupState) -> None:
        app = cast(Quart, state.app)
        settings = load_settings(app.config, options)
        extension = LLMStream.of(app)
        protocol = PROTOCOLS[settings.protocol]
        routes = protocol.routes(name, settings)
        metrics = extension.metrics_of(protocol.name, state.name)
        store = None
        if settings.resume is not None and protocol.resumable:
            store = extension.store(settings.resume, settings.resume_ttl, settings.resume_max_frames)
            if protocol.serves_resume_routes:
                routes += resume_routes(protocol, store, settings, extension, metrics)
        elif settings.resume is not None and "resume" in options:  # an app-wide LLMSTREAM_RESUME skips it
            raise ConfigError(f"resume: clients of the {protocol.name} protocol cannot resume")
        kept = extension.keeps_records()  # False: no LangGraph, so no threads, nor runs kept to rate
        records = extension.records if settings.threads_listed and kept else None
        if records is None and kept:  # LangGraph keeps threads, but nothing tells their users apart
            detail = "no stream_owner hook tells users apart (LLMSTREAM_SINGLE_USER: an app of one user)"
            log.info("blueprint %s serves no thread routes: %s", state.name, detail)
        tracing = extension.tracing(settings.langfuse)
        # the on_feedback hook without LangGraph to keep runs in: feedback_route's ConfigError
        rated = settings.on_feedback is not None or (tracing is not None and kept)
        ledger = extension.ledger if rated else None
        if ledger is not None:
            routes.append(feedback_route(settings, protocol.feedback_route(settings), ledger, tracing))
        preparer = Preparer(
            runnable_factory,
            settings,
            extension,
            tracing=tracing,
            store=store,
            records=records,
            streams=protocol,
            metrics=metrics,
            ledger=ledger,
        )
        if records is not None:
            routes += thread_routes(protocol, name, settings, extension, preparer, store)
        chat, batch = _chat_view(protocol, settings, extension, preparer, name)
        if protocol.batch_route is not None:
            routes.append((protocol.batch_route, "POST", batch))
        if protocol.owns_prefix and state.url_prefix:  # anything else under it: refused in the protocol's JSON
            routes += [(rule, method, unserved) for rule in ("/", "/<path:rest>") for method in UNSERVED_METHODS]
        for rule, method, view in routes:
            endpoint = "chat" if view is None else view.__name__
            state.add_url_rule(rule, endpoint=endpoint, view_func=view or chat, methods=[method])
        registered[id(app), state.name] = protocol, metrics

    return blueprint


def _chat_view(
    protocol: Protocol, settings: Settings, extension: LLMStream, preparer: Preparer, name: str
) -> tuple[Callable[..., Awaitable[Response]], Callable[..., Awaitable[Response]]]:
    """The chat view, and the view of a batch of runs (:attr:`.protocols.base.Protocol.batch_route`)."""

    async def serve(chat_request: ChatRequest) -> Response:
        prepared = await preparer.prepare(chat_request)
        run = preparer.start(prepared)
        encoder = protocol.encoder(prepared.stream.id, prepared.mapping.events, chat_request.ids)
        response = await protocol.respond(prepared.reader, encoder, run, settings, prepared.stream.after)
        response.headers.update(prepared.headers)
        return response

    async def chat(**path: str) -> Response:
        extension.admit(settings)  # early, before reading the body
        body = await read_json_body(request, protocol.budget(settings))
        chat_request = protocol.read(body, Headers(request.headers), settings, {**path, "blueprint": name})
        return await serve(chat_request)

    async def batch(**path: str) -> Response:
        """Each body a run in the background, each read (and checked) before any starts; their answers, in order."""
        bodies = await read_json_bodies(request, protocol.budget(settings))
        headers, where = Headers(request.headers), {**path, "blueprint": name}
        chat_requests = [protocol.read(body, headers, settings, where) for body in bodies]
        answers = []
        for chat_request in chat_requests:
            extension.admit(settings)
            answers.append(await (await serve(chat_request)).get_json())
        return jsonify(answers)

    return chat, batch
