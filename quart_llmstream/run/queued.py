"""A run that waits its turn on its thread apart from its request: LangGraph's runs with ``enqueue`` while another run
is on the thread. Its request is answered at once (``runs.create``) or follows its stream (``runs.stream``,
``runs.wait``); its stream is open (listed, joined, cancelled as any run's) and stays empty until the runs before it
have ended, then the run takes the thread, its input is checked against what the thread holds then, and it starts.
What stops it before then (a cancel, a run that interrupts, the server's shutdown, its client leaving when the
request said ``on_disconnect: cancel``) or refuses it then (its input no longer fits the thread) ends its stream as a
run's end would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..errors import RequestError, public_message
from ..lifecycle import Status
from ..logs import StreamLog
from .mapping import StreamMapper
from .producer import Run, StopReason

__all__ = ["Queued"]

log = logging.getLogger("quart_llmstream")


class Queued:
    """A run waiting for its turn (``turn``: takes the thread, checks the input, starts the run); until then, a
    stop asked of its stream (or of the app's registry) ends it where it waits."""

    def __init__(
        self,
        turn: Callable[[], Awaitable[Run]],
        stream_log: StreamLog,
        mapping: StreamMapper,
        expose_errors: bool,
        unqueued: Callable[[], Awaitable[None]],
        leaves_with_client: bool = False,
    ) -> None:
        self._turn, self._log, self._mapping, self._expose = turn, stream_log, mapping, expose_errors
        self._unqueued = unqueued  # its thread's record lists it no more
        self._leaves_with_client = leaves_with_client
        self._run: Run | None = None
        self._stop_reason: StopReason | None = None
        self._task = asyncio.get_running_loop().create_task(self._wait())
        self.done: asyncio.Future[None] = self._task
        stream_log.attach(lambda: self.stop(StopReason.CANCEL))  # the run attaches itself once made

    def stop(self, reason: StopReason) -> None:
        if self._run is not None:
            self._run.stop(reason)
        elif self._stop_reason is None and not self._task.done():
            self._stop_reason = reason
            self._task.cancel()

    async def client_left(self) -> None:
        """The client following it from its request left: once started, the run does what a run does; before, it
        goes on waiting unless its request said to cancel it."""
        if self._run is not None:
            await self._run.client_left()
        elif self._leaves_with_client:
            self.stop(StopReason.CANCEL)
            await asyncio.wait([self._task])

    def drop(self) -> None:
        """The client following it stopped reading (``send_timeout``): end it, with nobody to tell."""
        self.stop(StopReason.SEND_TIMEOUT)

    async def _wait(self) -> None:
        try:
            self._run = await self._turn()
        except asyncio.CancelledError:
            reason = self._stop_reason or StopReason.CANCEL
            code = reason.code or "cancelled"
            await self._end(reason.status, code, public_message(code))
            return
        except RequestError as refusal:  # its input does not fit the thread as it is now
            await self._end("error", refusal.error, refusal.detail)
            return
        except Exception as exc:
            log.error("a queued run failed to start", exc_info=exc)
            await self._end("error", "internal_error", public_message("internal_error", exc, self._expose))
            return
        await asyncio.wait([self._run.done])

    async def _end(self, status: Status, code: str, message: str) -> None:
        """Its stream ends: at once when a client stopped it (it never started: LangGraph's server sends no frame
        of it), else as a run's that ended at once would, started then ended so; its record lists it no more as
        waiting."""
        try:
            await self._unqueued()
        except Exception:  # the log must close whatever happens
            log.exception("a queued run that ended could not be taken off its thread's record")
        started = () if code == "cancelled" else self._mapping.start()
        self._log.close([*started, *self._mapping.end(status, code, message)])
