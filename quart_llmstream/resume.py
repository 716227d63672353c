"""Resumable streams' routes: follow a stream from where a client left it, or cancel it, from any process.

``GET <route>/<stream id>/stream`` (the path the AI SDK's ``resume`` calls) answers the frames after the
``Last-Event-ID`` header (or ``?last_event_id=``, which a browser can set on a first request), then
follows the live tail to the final frame; without one it replays from the start. ``204`` when there is
nothing to resume, and, for the AI SDK, when no ``Last-Event-ID`` is named and the stream has finished
(``useChat`` asks on every page load, and has the finished answer already). ``POST <route>/<stream
id>/cancel`` stops the run wherever it runs: ``202``, or
``404`` when no stream of that owner runs. Stream ids are each owner's own (:mod:`.owners`): with a
``stream_owner`` hook, another owner's id is answered exactly as an unknown one.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from quart import Response, request
from werkzeug.datastructures import Headers

from .chat_request import ChatRequest
from .errors import RequestError
from .logs.store import StreamStore
from .owners import owner_of
from .protocols import Protocol
from .response import Follower
from .settings import Settings

if TYPE_CHECKING:
    from .extension import LLMStream

__all__ = ["check_stream_id", "resume_routes"]

_STREAM_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_FOLLOWER = Follower()


def check_stream_id(stream_id: str) -> str:
    if not _STREAM_ID.fullmatch(stream_id):
        raise RequestError(400, "invalid_request", "id: 1 to 128 characters of A-Z, a-z, 0-9, _ and -")
    return stream_id


def resume_routes(
    protocol: Protocol, store: StreamStore, settings: Settings, extension: LLMStream
) -> list[tuple[str, str, Callable[..., Awaitable[Response]]]]:
    async def resume(stream_id: str) -> Response:
        try:
            owner = await _requester(settings)
            after = _last_event_id()
            extension.check_owner(owner, settings.max_streams_per_owner, settings.retry_after)
        except RequestError as exc:
            return protocol.error_response(exc)
        if not _STREAM_ID.fullmatch(stream_id):
            return Response(status=204)
        if after is None and not protocol.replays_finished and not await store.running(stream_id, owner):
            return Response(status=204)  # nothing running; the client has what finished
        opened = await store.open(stream_id, owner)
        if opened is None:
            return Response(status=204)
        meta, reader = opened
        encoder = protocol.encoder(stream_id, frozenset(meta.events), meta.ids)
        let_go = extension.count(owner)  # a follower holds a connection as a stream does
        response = await protocol.respond(reader, encoder, _FOLLOWER, settings, after or 0, closed=let_go)
        response.headers["X-Stream-Id"] = stream_id
        return response

    async def cancel(stream_id: str) -> Response:
        try:
            owner = await _requester(settings)
        except RequestError as exc:
            return protocol.error_response(exc)
        if _STREAM_ID.fullmatch(stream_id) and await store.cancel(stream_id, owner):
            return Response(status=202)
        return protocol.error_response(RequestError(404, "not_found", "no running stream of that id"))

    return [
        (f"{settings.route}/<stream_id>/stream", "GET", resume),
        (f"{settings.route}/<stream_id>/cancel", "POST", cancel),
    ]


async def _requester(settings: Settings) -> str | None:
    """The owner a resume or cancel request speaks for: the hook sees its headers, no body."""
    return await owner_of(settings, ChatRequest("", [], {}, Headers(request.headers)))


def _last_event_id() -> int | None:
    """The number of the last event the client had, when it names one."""
    value = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()):
        raise RequestError(400, "invalid_request", "Last-Event-ID: an event number")
    return int(value)
