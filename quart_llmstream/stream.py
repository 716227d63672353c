"""The streaming loop and its response: v2 events in, SSE frames out, and always a clean end.

The run is consumed by a producer task that selects events and encodes frames into a small bounded
queue; the response body only takes frames from that queue. Keeping the run in its own task lets the
body wait with timeouts without ever cancelling the run by accident, and a deadline that fires while
the body is blocked in a send cannot cancel the request task. The queue bounds memory when a client
reads slowly: the run waits for it.

Every stream the server ends, ends with the wire format's final frame; an exception becomes a typed
error frame first, with its traceback in the log and its text on the wire only when
``expose_errors`` is set. A client disconnect cancels the body, which cancels the run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

from quart import Response

from .errors import public_message
from .event_source import EventStream
from .selection import Selection
from .settings import Settings
from .wire_format import WireFormat

__all__ = ["SSE_HEADERS", "sse_response", "stream_frames"]

log = logging.getLogger("quart_llmstream")

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # stops nginx buffering the stream
}

_QUEUE_FRAMES = 64  # frames held for a slow reader before the run waits for it


async def stream_frames(
    events: EventStream, selection: Selection, wire: WireFormat, settings: Settings
) -> AsyncIterator[bytes]:
    """The response body: encoded frames, ending with the final frame unless the client left."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(_QUEUE_FRAMES)
    producer = asyncio.create_task(_produce(events, selection, wire, settings, queue))
    try:
        while (frame := await queue.get()) is not None:
            yield frame
    finally:
        # Normal end: the producer is done already. Disconnect: stop the run, and wait for it so
        # nothing of it outlives the request. (No yield here: the client may be gone.)
        producer.cancel()
        await asyncio.wait([producer])


async def _produce(
    events: EventStream,
    selection: Selection,
    wire: WireFormat,
    settings: Settings,
    queue: asyncio.Queue[bytes | None],
) -> None:
    deadline = asyncio.timeout(settings.max_duration)
    status = "completed"
    for item in selection.start():
        await queue.put(wire.event(item))
    try:
        async with deadline, aclosing(events):
            select = selection.select
            async for event in events:
                for item in select(event):
                    await queue.put(wire.event(item))
    except Exception as exc:
        status = "timeout" if deadline.expired() else "error"
        await queue.put(_error_frame(exc, deadline.expired(), wire, settings))
    for item in selection.finish(status):
        await queue.put(wire.event(item))
    await queue.put(wire.done())
    await queue.put(None)


def _error_frame(exc: Exception, timed_out: bool, wire: WireFormat, settings: Settings) -> bytes:
    if timed_out:
        code = "timeout"
        log.warning("stream stopped after max_duration=%ss", settings.max_duration)
    else:
        code = "internal_error"
        log.error("stream failed", exc_info=exc)
    return wire.error(code, public_message(code, exc, settings.expose_errors and not timed_out))


def sse_response(frames: AsyncIterator[bytes]) -> Response:
    """A streaming response that ``RESPONSE_TIMEOUT`` cannot cut: the stream ends by its own rules."""
    response = Response(frames, headers=SSE_HEADERS)
    response.timeout = None
    return response
