"""The chat blueprint: validate the request, build the runnable, and answer with its event stream.

Everything that can fail for a reason the client should hear about (a bad body, a factory or a
``run_config`` hook that raises) fails here, before the response starts, as a JSON error with a 4xx
or 500 status. What can be prepared once (the selector, the filters, the wire format, tracing) is
prepared at registration.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, cast
from uuid import uuid4

from langchain_core.runnables import Runnable
from quart import Blueprint, Quart, Response, jsonify, request
from quart.blueprints import BlueprintSetupState

from .chat_request import ChatRequest, RequestError, read_chat_request
from .errors import public_message
from .event_source import EVENT_SOURCES
from .filters import narrow, server_filters
from .langfuse_tracing import LangfuseTracing, langfuse_for
from .registry import StreamRegistry, registry_for
from .run_config import build_run_config
from .selection import Selector
from .settings import Settings, check_option_names, load_settings
from .stream import Stream, sse_response
from .wire_format import NativeFormat

__all__ = ["RunnableFactory", "create_blueprint"]

log = logging.getLogger("quart_llmstream")

RunnableFactory = Callable[[ChatRequest], "Runnable[Any, Any] | Awaitable[Runnable[Any, Any]]"]
"""Builds the runnable for one request; may be sync or async."""


def create_blueprint(runnable_factory: RunnableFactory, *, name: str = "llmstream", **options: Any) -> Blueprint:
    """A blueprint with one streaming chat route (``POST`` at the ``route`` option, ``/chat`` by default).

    ``options`` override the app's ``LLMSTREAM_*`` config keys (see :class:`~.settings.Settings`).
    They are validated when the blueprint is registered, so a bad value stops the app's start.
    """
    check_option_names(options)
    blueprint = Blueprint(name, __name__)

    @blueprint.record
    def register(state: BlueprintSetupState) -> None:
        settings = load_settings(state.app.config, options)
        app = cast(Quart, state.app)
        view = _chat_view(runnable_factory, settings, langfuse_for(app, settings.langfuse), registry_for(app))
        state.add_url_rule(settings.route, endpoint="chat", view_func=view, methods=["POST"])

    return blueprint


def _chat_view(
    runnable_factory: RunnableFactory,
    settings: Settings,
    tracing: LangfuseTracing | None,
    registry: StreamRegistry,
) -> Callable[[], Awaitable[Response]]:
    selector = Selector(
        settings.events,
        event_hook=settings.event_hook,
        max_payload_chars=settings.max_payload_chars,
        expose_errors=settings.expose_errors,
    )
    filters = server_filters(settings)
    wire = NativeFormat()
    event_source = EVENT_SOURCES[settings.event_source]

    async def chat() -> Response:
        run_id = uuid4()
        try:
            _check_capacity(registry, settings)  # early, before reading the body
            chat_request = await read_chat_request(request, settings)
            chosen, run_filters = selector, filters
            if settings.client_filters:
                kinds, run_filters = narrow(chat_request.body, selector.events, filters)
                chosen = selector if kinds == selector.events else selector.narrowed(kinds)
            runnable, config = await _prepare_run(runnable_factory, chat_request, run_id, settings, tracing)
            _check_capacity(registry, settings)  # again: other requests took slots meanwhile; no await from here on
        except RequestError as exc:
            return _json_error(exc)
        run = partial(event_source, runnable, chat_request, config, **run_filters)
        stream = Stream(run, chosen(str(run_id)), wire, settings, chat_request)
        registry.add(stream)
        return sse_response(stream.body())

    return chat


async def _prepare_run(
    factory: RunnableFactory,
    chat_request: ChatRequest,
    run_id: Any,
    settings: Settings,
    tracing: LangfuseTracing | None,
) -> tuple[Runnable[Any, Any], Any]:
    """The user's code that runs before streaming: the factory and the ``run_config`` hook."""
    try:
        runnable = factory(chat_request)
        if inspect.isawaitable(runnable):
            runnable = await runnable
        callbacks = (*settings.callbacks, tracing.handler()) if tracing else settings.callbacks
        config = await build_run_config(chat_request, run_id, callbacks, settings.run_config)
    except Exception as exc:
        log.exception("preparing the run failed (runnable factory or run_config hook)")
        detail = public_message("internal_error", exc, settings.expose_errors)
        raise RequestError(500, "internal_error", detail) from None
    return runnable, config


def _check_capacity(registry: StreamRegistry, settings: Settings) -> None:
    """Refuse a stream the process cannot take, before reading the request."""
    if registry.draining:
        raise RequestError(503, "shutting_down", public_message("shutting_down"), retry_after=settings.retry_after)
    if settings.max_streams is not None and len(registry) >= settings.max_streams:
        raise RequestError(503, "overloaded", public_message("overloaded"), retry_after=settings.retry_after)


def _json_error(exc: RequestError) -> Response:
    response = jsonify(error=exc.error, detail=exc.detail)
    response.status_code = exc.status
    if exc.retry_after is not None:
        response.headers["Retry-After"] = str(exc.retry_after)
    return response
