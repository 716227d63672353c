"""The run: a producer task that drives the event source and appends the mapped events to the stream's log.

The run owns what limits the run: its deadline (``max_duration``), the runnable's silence
(``idle_timeout``), a stop requested by the server (shutdown, a dropped reader) and the lifecycle
hooks. A run ends ``completed``, or ``interrupted`` when its thread waits for a decision (the source says
which interrupts wait, when it can ask the thread; the mapping saw them in the stream otherwise). It knows
nothing of HTTP: responses read its log (:mod:`..protocols.response`). Running it in its own task
means nothing a response does (waiting, being cancelled by a disconnect) can cut the run by accident.

Every run ends with its log closed by :class:`~quart_llmstream.events.RunEnded`: an exception or a stop
becomes a typed, redacted error on it, with the traceback in the log and the exception's text on the
wire only when ``expose_errors`` is set.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..errors import public_message
from ..lifecycle import Status, StreamResult, call_hook
from ..logs import StreamLog
from ..metrics.base import BlueprintMetrics
from ..request import ChatRequest
from ..settings import Settings
from .mapping import StreamMapper, TimedTally
from .sources import Emit
from .threads import ThreadState

__all__ = ["Run", "StopReason"]

log = logging.getLogger("quart_llmstream")


class StopReason(enum.Enum):
    """Why the server stopped a run: the status ``on_end`` sees and the error code clients get."""

    TIMEOUT = ("max_duration", "timeout", "timeout")
    IDLE = ("idle_timeout", "timeout", "timeout")
    SEND_TIMEOUT = ("send_timeout", "timeout", None)  # the reader was dropped: nobody to tell
    SHUTDOWN = ("shutdown", "cancelled", "shutdown")
    CANCEL = ("cancel", "cancelled", "cancelled")  # asked for by a client

    def __init__(self, label: str, status: Status, code: str | None) -> None:
        self.label = label
        self.status: Status = status
        self.code = code


class Run:
    """One stream's run: a producer task, the watch over its limits, and its end."""

    def __init__(
        self,
        source: Callable[[Emit], Awaitable[ThreadState | None]],
        mapper: StreamMapper,
        stream_log: StreamLog,
        settings: Settings,
        chat_request: ChatRequest,
        *,
        outlives_client: bool = False,
        on_close: Callable[[str], Awaitable[None]] | None = None,
        metrics: BlueprintMetrics | None = None,
    ) -> None:
        self._source = source
        self._metrics = metrics
        self._on_close = on_close  # with how the run ended, just before the log's end: a reader sees its effect
        self._outlives_client = outlives_client
        self._mapper = mapper
        self._map = mapper.map
        self.log = stream_log
        self._settings = settings
        self._chat_request = chat_request
        self._stop_reason: StopReason | None = None
        self._running = False  # a task cancelled before it runs would skip its finally: _cancel() waits for it
        self._cancel_at_start = False
        self.events_seen = 0  # the watchdog compares it between ticks
        loop = asyncio.get_running_loop()
        self._started = loop.time()  # loop.time() is time.monotonic(), which the tally's timings read too
        if metrics is not None:
            metrics.started()
        self._task = loop.create_task(self._produce())
        self.done: asyncio.Future[None] = self._task
        self._watchdog = _Watchdog(self, settings, loop)
        stream_log.attach(lambda: self.stop(StopReason.CANCEL))

    def stop(self, reason: StopReason) -> None:
        """End the run now; readers get the error frame of ``reason`` (if any) and the final frame."""
        if self._stop_reason is None and not self._task.done():
            self._stop_reason = reason
            self._cancel()

    def drop(self) -> None:
        """The response's client stopped reading (``send_timeout``): end the run, with nobody to tell."""
        self.stop(StopReason.SEND_TIMEOUT)

    async def client_left(self) -> None:
        """The response's client left: cancel the run (and wait for its end), unless it may go on."""
        if self._metrics is not None:
            self._metrics.disconnected()
        if not self._task.done() and not self._outlives_client:
            self._cancel()
            await asyncio.wait([self._task])

    def _cancel(self) -> None:
        """Cancel the task; one that has not run yet is cancelled as it starts, so that its ``finally`` runs."""
        if self._running:
            self._task.cancel()
        else:
            self._cancel_at_start = True

    async def _produce(self) -> None:
        ended: tuple[Status, str | None, str | None] | None = None
        self._running = True
        if self._cancel_at_start:  # the cancel lands at the first await, in the try below
            self._task.cancel()
        try:
            ended = await self._outcome()
        finally:
            if ended is None:  # cancelled with nobody to tell: the client left, or was dropped
                reason = self._stop_reason
                ended = (reason.status, None, None) if reason else ("cancelled", None, None)
            if self._on_close is not None:
                try:
                    await self._on_close(ended[0])
                except Exception:  # the log must close whatever happens
                    log.exception("ending the run (keeping it for feedback, letting go of its thread) failed")
            self.log.close(self._mapper.end(*ended))
            await self._end(*ended[:2])

    async def _outcome(self) -> tuple[Status, str | None, str | None]:
        """Run to the end; say how it ended: status, error code and public message."""
        append = self.log.append
        try:
            await call_hook(self._settings.on_start, self._chat_request)
            for event in self._mapper.start():
                await append(event)
            thread = await self._source(self._emit)  # what its thread's state says, when it has one
            return ("interrupted" if self._mapper.interrupted(thread) else "completed"), None, None
        except asyncio.CancelledError:
            reason = self._stop_reason
            if reason is None or reason.code is None:  # nobody to tell
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            log.log(
                logging.INFO if reason is StopReason.SHUTDOWN else logging.WARNING, "stream stopped: %s", reason.label
            )
            return reason.status, reason.code, public_message(reason.code)
        except Exception as exc:
            log.error("stream failed", exc_info=exc)
            return "error", "internal_error", public_message("internal_error", exc, self._settings.expose_errors)

    async def _emit(self, event: Mapping[str, Any]) -> None:
        """The per-event path: map, append (waiting while a reader is slow)."""
        self.events_seen += 1
        for item in self._map(event):
            await self.log.append(item)

    async def _end(self, status: Status, code: str | None) -> None:
        self._watchdog.cancel()
        tally, ended_at = self._mapper.tally, asyncio.get_running_loop().time()
        if self._metrics is not None and isinstance(tally, TimedTally):  # metrics on: the tally is timed
            self._metrics.ended(status, code, self._started, ended_at, tally)
        result = StreamResult(
            status=status,
            text=tally.text,
            tokens=tally.tokens,
            usage=tally.usage,
            duration=ended_at - self._started,
            run_id=self._mapper.run_id,
            interrupts=tally.interrupts if status == "interrupted" else [],
        )
        await call_hook(self._settings.on_end, self._chat_request, result)


class _Watchdog:
    """One timer per run for its deadline and the runnable's silence; none when neither is set.

    It compares a counter between ticks instead of re-arming a timer for every token.
    """

    def __init__(self, run: Run, settings: Settings, loop: asyncio.AbstractEventLoop) -> None:
        self._run = run
        self._idle = settings.idle_timeout
        self._loop = loop
        now = loop.time()
        self._deadline = now + settings.max_duration if settings.max_duration else None
        self._seen, self._seen_at = -1, now
        self._handle: asyncio.TimerHandle | None = None
        self._schedule()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        delays = [max(self._idle / 4, 0.01)] if self._idle else []
        if self._deadline is not None:
            delays.append(max(self._deadline - self._loop.time(), 0))
        if delays:
            self._handle = self._loop.call_later(min(delays), self._check)

    def _check(self) -> None:
        run, now = self._run, self._loop.time()
        if run.events_seen != self._seen:
            self._seen, self._seen_at = run.events_seen, now
        if self._deadline is not None and now >= self._deadline:
            run.stop(StopReason.TIMEOUT)
        elif self._idle and now - self._seen_at >= self._idle:
            run.stop(StopReason.IDLE)
        self._schedule()
