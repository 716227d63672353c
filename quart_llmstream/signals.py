"""Shutdown by signal, while the app serves: every open stream ends cleanly before the server's own handling.

At shutdown Hypercorn stops accepting, waits ``graceful_timeout`` for open connections and then cancels them, and
the app's ``after_serving`` only runs after that: too late for a clean end. So while the app serves, a handler is
chained in front of the process's SIGTERM and SIGINT handlers (the server's own still run, unchanged): on the signal
every open stream gets a ``shutdown`` error frame and its final frame, at once. When the app stops serving, the
previous handlers are put back.

A Python-level handler (asyncio's, which Hypercorn serving in-process uses, or another) is called after ours. A
SIGTERM left at its default (a Hypercorn worker process, which learns of shutdown from its parent; the signal
reaches it when sent to the process group) still ends the process, once the streams have ended and what the
process owes others is sent (``after_serving`` never comes then). An ignored signal stays ignored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

__all__ = ["ShutdownSignals"]

log = logging.getLogger("quart_llmstream")

_DRAIN_SECONDS = 2.0  # how long a signal waits for open streams to end before it takes its course
_LET_GO_SECONDS = 3.0  # then for the stores, holds and traces to send what they owe (a process ending by the signal)
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ShutdownSignals:
    """``drain(timeout)`` on SIGTERM or SIGINT; when the signal is to end the process, ``let_go()`` before it does."""

    def __init__(self, drain: Callable[[float], Awaitable[None]], let_go: Callable[[], Awaitable[None]]) -> None:
        self._drain, self._let_go = drain, let_go
        self._previous: dict[int, Any] = {}
        self._task: asyncio.Task[None] | None = None

    def chain(self) -> None:
        """Put our handler in front of the process's (from the main thread only: signals are its)."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        self._task = None  # served again: a signal drains again
        for signum in _SIGNALS:
            previous = signal.getsignal(signum)
            if callable(previous) or (signum == signal.SIGTERM and previous == signal.SIG_DFL):
                self._previous[signum] = previous
                signal.signal(signum, self._handler(loop, previous))

    def restore(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handler(self, loop: asyncio.AbstractEventLoop, previous: Any) -> Callable[..., Any]:
        def start_drain(resend: int | None) -> None:
            if self._task is None:
                self._task = loop.create_task(self._drain_then_resend(resend))

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(start_drain, None if callable(previous) else signum)
            if callable(previous):
                previous(signum, frame)

        return on_signal

    async def _drain_then_resend(self, signum: int | None) -> None:
        await self._drain(_DRAIN_SECONDS)
        if signum is not None:  # the default action was to end the process (``after_serving`` never comes): now
            try:
                await asyncio.wait_for(self._let_go(), _LET_GO_SECONDS)
            except Exception:  # the process ends all the same
                log.exception("shutting down: what this process owed others was not all sent")
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
