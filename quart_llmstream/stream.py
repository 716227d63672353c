"""The streaming loop and its response: v2 events in, SSE frames out, and always a clean end.

A run goes on in a producer task, where its event source emits each event: it is selected, encoded
and put in a small bounded queue; the response body only takes frames from that queue. Keeping the
run in its own task means that nothing the body does (waiting, being cancelled by a disconnect) can
cut the run by accident, and that a deadline can stop the run while the body is blocked in a send.
The queue bounds memory when a client reads slowly: the run waits for it.

Every stream the server ends, ends with the wire format's final frame; an exception becomes a typed
error frame first, with its traceback in the log and its text on the wire only when
``expose_errors`` is set. Timeouts, a slow reader, heartbeats and shutdown are all watched by one
timer per stream, so the per-token path pays nothing for them but two counters.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from quart import Response

from .chat_request import ChatRequest
from .errors import public_message
from .event_source import Emit
from .lifecycle import Status, StreamResult, call_hook
from .selection import Selection
from .settings import Settings
from .sse import encode_comment
from .wire_format import WireFormat

__all__ = ["SSE_HEADERS", "Stream", "sse_response"]

log = logging.getLogger("quart_llmstream")

SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # stops nginx buffering the stream
}

_QUEUE_FRAMES = 64  # frames held for a slow reader before the run waits for it
_OPEN = encode_comment("stream open")  # sent at once: flushes headers through proxies
_PING = encode_comment("ping")
_STOP_STATUS: dict[str, Status] = {
    "timeout": "timeout",
    "idle": "timeout",
    "send_timeout": "timeout",
    "shutdown": "cancelled",
}
_STOP_CODE = {"timeout": "timeout", "idle": "timeout", "shutdown": "shutdown"}


class Stream:
    """One chat stream: its run (the producer task), its frames, and the watch over both."""

    def __init__(
        self,
        run: Callable[[Emit], Awaitable[None]],
        selection: Selection,
        wire: WireFormat,
        settings: Settings,
        chat_request: ChatRequest,
    ) -> None:
        self._run = run
        self._selection = selection
        self._select = selection.select
        self._wire = wire
        self._settings = settings
        self._chat_request = chat_request
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(_QUEUE_FRAMES)
        self._stop_reason: str | None = None
        self._detached = False  # the client left and the run goes on ("continue")
        self._body_task: asyncio.Task[object] | None = None
        self._events_seen = 0  # counters the watchdog compares between ticks
        self._frames_sent = 0
        loop = asyncio.get_running_loop()
        self._started = loop.time()
        self._producer = loop.create_task(self._produce())
        self.done: asyncio.Future[None] = self._producer
        self._watchdog = _Watchdog(self, settings, loop)

    def stop(self, reason: str) -> None:
        """End the run now; the client gets an error frame for ``reason`` and the final frame."""
        if self._stop_reason is None and not self._producer.done():
            self._stop_reason = reason
            self._producer.cancel()

    async def body(self) -> AsyncIterator[bytes]:
        """The response body: frames until the final one, or until the client leaves."""
        self._body_task = asyncio.current_task()
        queue = self._queue
        try:
            yield _OPEN
            while (frame := await queue.get()) is not None:
                self._frames_sent += 1
                yield frame
        finally:  # no yield in here: the client may be gone
            if not self._producer.done():
                if self._settings.on_disconnect == "continue":
                    self._detach()
                else:
                    self._producer.cancel()
                    await asyncio.wait([self._producer])

    async def _produce(self) -> None:
        selection, wire = self._selection, self._wire
        status: Status | None = None
        try:
            await call_hook(self._settings.on_start, self._chat_request)
            status = await self._outcome()
            for item in selection.finish(status):
                await self._put(wire.event(item))
            await self._put(wire.done())
            await self._put(None)
        finally:
            if status is None:  # cancelled before the run ended: the client left, or was dropped
                status = _STOP_STATUS.get(self._stop_reason or "", "cancelled")
            await self._end(status)

    async def _outcome(self) -> Status:
        """Run to the end; say what ended the run, after its error frame if it did not complete."""
        wire = self._wire
        try:
            for item in self._selection.start():
                await self._put(wire.event(item))
            await self._run(self._emit)
            return "completed"
        except asyncio.CancelledError:
            reason = self._stop_reason
            if reason is None or reason == "send_timeout":  # nobody to tell
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            log.log(logging.INFO if reason == "shutdown" else logging.WARNING, "stream stopped: %s", reason)
            code = _STOP_CODE[reason]
            await self._put(wire.error(code, public_message(code)))
            return _STOP_STATUS[reason]
        except Exception as exc:
            log.error("stream failed", exc_info=exc)
            message = public_message("internal_error", exc, self._settings.expose_errors)
            await self._put(wire.error("internal_error", message))
            return "error"

    async def _emit(self, event: Mapping[str, Any]) -> None:
        """The per-event path: select, encode, queue (waiting while the reader is slow)."""
        self._events_seen += 1
        for item in self._select(event):
            await self._put(self._wire.event(item))

    async def _put(self, frame: bytes | None) -> None:
        if not self._detached:
            await self._queue.put(frame)

    def _detach(self) -> None:
        """The client left; the run goes on in the background and its frames go nowhere."""
        self._detached = True
        while not self._queue.empty():  # wake a producer blocked on a full queue
            self._queue.get_nowait()

    async def _end(self, status: Status) -> None:
        self._watchdog.cancel()
        selection = self._selection
        result = StreamResult(
            status=status,
            text=selection.text,
            tokens=selection.tokens,
            usage=selection.usage,
            duration=asyncio.get_running_loop().time() - self._started,
            run_id=selection.run_id,
        )
        await call_hook(self._settings.on_end, self._chat_request, result)


class _Watchdog:
    """One timer per stream for the deadline, idleness, a stuck reader and heartbeats.

    It compares counters between ticks instead of re-arming a timer for every token.
    """

    def __init__(self, stream: Stream, settings: Settings, loop: asyncio.AbstractEventLoop) -> None:
        self._stream = stream
        self._settings = settings
        self._loop = loop
        periods = [p for p in (settings.heartbeat, settings.idle_timeout, settings.send_timeout) if p]
        self._tick = max(min(periods) / 4, 0.01) if periods else None
        now = loop.time()
        self._deadline = now + settings.max_duration if settings.max_duration else None
        self._events_at = self._frames_at = now  # when each counter last moved
        self._events_seen = self._frames_sent = -1
        self._handle: asyncio.TimerHandle | None = None
        self._schedule()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        delays = [] if self._tick is None else [self._tick]
        if self._deadline is not None:
            delays.append(max(self._deadline - self._loop.time(), 0))
        if delays:
            self._handle = self._loop.call_later(min(delays), self._check)

    def _check(self) -> None:
        stream, settings, now = self._stream, self._settings, self._loop.time()
        if stream._events_seen != self._events_seen:
            self._events_seen, self._events_at = stream._events_seen, now
        if stream._frames_sent != self._frames_sent:
            self._frames_sent, self._frames_at = stream._frames_sent, now
        queue = stream._queue
        if self._deadline is not None and now >= self._deadline:
            stream.stop("timeout")
        elif settings.idle_timeout and now - self._events_at >= settings.idle_timeout:
            stream.stop("idle")
        elif settings.send_timeout and queue.full() and now - self._frames_at >= settings.send_timeout:
            self._drop_reader()
        elif settings.heartbeat and now - self._frames_at >= settings.heartbeat and queue.empty():
            queue.put_nowait(_PING)
            self._frames_at = now
        self._schedule()

    def _drop_reader(self) -> None:
        """The client stopped reading: end its response and its run; memory stays bounded."""
        stream = self._stream
        log.warning("dropping a client that read nothing for %ss", self._settings.send_timeout)
        stream.stop("send_timeout")
        if stream._body_task is not None:
            stream._body_task.cancel()


def sse_response(frames: AsyncIterator[bytes]) -> Response:
    """A streaming response that ``RESPONSE_TIMEOUT`` cannot cut: the stream ends by its own rules."""
    response = Response(frames, headers=SSE_HEADERS)
    response.timeout = None
    return response
