"""The chat blueprint: validate the request, build the runnable, and answer with its event stream.

Everything that can fail for a reason the client should hear about (a bad body, a factory that
raises) fails here, before the response starts, as a JSON error with a 4xx or 500 status.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.runnables import Runnable
from quart import Blueprint, Response, jsonify, request
from quart.blueprints import BlueprintSetupState

from .chat_request import ChatRequest, RequestError, read_chat_request
from .event_source import astream_events
from .selection import Selection
from .settings import Settings, check_option_names, load_settings
from .errors import public_message
from .stream import sse_response, stream_frames
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
        view = _chat_view(runnable_factory, settings)
        state.add_url_rule(settings.route, endpoint="chat", view_func=view, methods=["POST"])

    return blueprint


def _chat_view(runnable_factory: RunnableFactory, settings: Settings) -> Callable[[], Awaitable[Response]]:
    wire = NativeFormat()

    async def chat() -> Response:
        try:
            chat_request = await read_chat_request(request, settings)
            runnable = await _build_runnable(runnable_factory, chat_request, settings)
        except RequestError as exc:
            return _json_error(exc)
        events = astream_events(runnable, chat_request)
        return sse_response(stream_frames(events, Selection(), wire, settings))

    return chat


async def _build_runnable(factory: RunnableFactory, chat_request: ChatRequest, settings: Settings) -> Runnable[Any, Any]:
    try:
        runnable = factory(chat_request)
        if inspect.isawaitable(runnable):
            runnable = await runnable
    except Exception as exc:
        log.exception("the runnable factory failed")
        detail = public_message("internal_error", exc, settings.expose_errors)
        raise RequestError(500, "internal_error", detail) from None
    return runnable


def _json_error(exc: RequestError) -> Response:
    response = jsonify(error=exc.error, detail=exc.detail)
    response.status_code = exc.status
    return response
