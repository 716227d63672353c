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

from collections.abc import Awaitable, Callable

from quart import Response, request

from .errors import RequestError
from .extension import LLMStream
from .logs.store import StreamStore
from .logs.streams import is_stream_id
from .metrics.base import BlueprintMetrics
from .owners import owner_of
from .protocols import Protocol
from .protocols.response import FOLLOWER
from .protocols.sse import event_number
from .request import ChatRequest
from .settings import Settings

__all__ = ["resume_routes"]


def resume_routes(
    protocol: Protocol,
    store: StreamStore,
    settings: Settings,
    extension: LLMStream,
    metrics: BlueprintMetrics | None = None,
) -> list[tuple[str, str, Callable[..., Awaitable[Response]]]]:
    """The resume and cancel routes of a blueprint's resumable streams; a refusal is a
    :class:`~.errors.RequestError`, which the blueprint renders."""

    async def resume(stream_id: str) -> Response:
        owner = await _requester(settings)
        after = _last_event_id()
        if not is_stream_id(stream_id):
            return Response(status=204)
        if after is None and not protocol.replays_finished and not await store.running(stream_id, owner):
            return Response(status=204)  # nothing running; the client has what finished
        opened = await store.open(stream_id, owner)
        if opened is None:
            return Response(status=204)
        meta, reader = opened
        let_go = extension.follower(settings, owner, reader)  # a follower holds a connection as a stream does
        encoder = protocol.encoder(stream_id, frozenset(meta.events), meta.ids)
        if metrics is not None:
            metrics.resumed()
        response = await protocol.respond(reader, encoder, FOLLOWER, settings, after or 0, closed=let_go)
        response.headers["X-Stream-Id"] = stream_id
        return response

    async def cancel(stream_id: str) -> Response:
        owner = await _requester(settings)
        if is_stream_id(stream_id) and await store.cancel(stream_id, owner):
            return Response(status=202)
        raise RequestError(404, "not_found", "no running stream of that id")

    return [
        (f"{settings.route}/<stream_id>/stream", "GET", resume),
        (f"{settings.route}/<stream_id>/cancel", "POST", cancel),
    ]


async def _requester(settings: Settings) -> str | None:
    """The owner a resume or cancel request speaks for: the hook sees its headers, no body."""
    return await owner_of(settings.stream_owner, ChatRequest.of_headers(request.headers))


def _last_event_id() -> int | None:
    """The number of the last event the client had, when it names one."""
    value = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if value is None:
        return None
    if (number := event_number(value)) is None:
        raise RequestError(400, "invalid_request", "Last-Event-ID: an event number")
    return number
