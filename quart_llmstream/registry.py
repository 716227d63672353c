"""The open streams of an app: the cap on concurrent streams, and their end at shutdown.

At shutdown Hypercorn stops accepting, waits ``graceful_timeout`` for open connections and then
cancels them, and the app's ``after_serving`` only runs after that: too late for a clean end. So when
the app starts serving, the registry chains a handler in front of the process's SIGTERM and SIGINT
handlers (the server's own still run, unchanged): on the signal every open stream gets a ``shutdown``
error frame and its final frame, at once. Servers started from code call :func:`drain` instead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

from quart import Quart

__all__ = ["StreamRegistry", "drain", "registry_for"]

log = logging.getLogger("quart_llmstream")

_EXTENSION = "quart_llmstream.streams"
_DRAIN_SECONDS = 2.0  # how long a signal waits for open streams to end before it takes its course


class OpenStream(Protocol):
    done: asyncio.Future[None]

    def stop(self, reason: str) -> None: ...


class StreamRegistry:
    """Streams whose run has not ended yet, including runs that go on after their client left."""

    def __init__(self) -> None:
        self.streams: set[OpenStream] = set()
        self.draining = False
        self._drain_task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self.streams)

    def add(self, stream: OpenStream) -> None:
        self.streams.add(stream)
        stream.done.add_done_callback(lambda _: self.streams.discard(stream))

    async def drain(self, timeout: float | None = None) -> None:
        """End every open stream with a ``shutdown`` error frame and refuse new ones (503)."""
        self.draining = True
        open_streams = list(self.streams)
        if open_streams:
            log.info("shutting down: ending %d open stream(s)", len(open_streams))
        for stream in open_streams:
            stream.stop("shutdown")
        if open_streams:
            await asyncio.wait([stream.done for stream in open_streams], timeout=timeout)

    async def chain_signals(self) -> None:
        """Drain on SIGTERM/SIGINT, then let what was there before run.

        A Python-level handler (asyncio's, which Hypercorn serving in-process uses, or another) is
        called after ours. A SIGTERM left at its default (a Hypercorn worker process, which learns of
        shutdown from its parent; the signal reaches it when sent to the process group) still ends the
        process, once the streams have ended. An ignored signal stays ignored.
        """
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if callable(previous) or (signum == signal.SIGTERM and previous == signal.SIG_DFL):
                signal.signal(signum, self._handler(loop, previous))

    def _handler(self, loop: asyncio.AbstractEventLoop, previous: Any) -> Callable[..., Any]:
        def start_drain(resend: int | None) -> None:
            if self._drain_task is None:
                self._drain_task = loop.create_task(self._drain_then_resend(resend))

        def on_signal(signum: int, frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(start_drain, None if callable(previous) else signum)
            if callable(previous):
                previous(signum, frame)

        return on_signal

    async def _drain_then_resend(self, signum: int | None) -> None:
        await self.drain(timeout=_DRAIN_SECONDS)
        if signum is not None:  # the default action was to end the process: do it now
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)


def registry_for(app: Quart) -> StreamRegistry:
    """The app's registry, made (and hooked to the app's serving) on first use."""
    registry: StreamRegistry | None = app.extensions.get(_EXTENSION)
    if registry is None:
        registry = app.extensions[_EXTENSION] = StreamRegistry()
        app.before_serving(registry.chain_signals)
        app.after_serving(registry.drain)
    return registry


async def drain(app: Quart, timeout: float | None = None) -> None:
    """End every open stream of ``app`` cleanly (a ``shutdown`` error frame, then the final frame).

    Call it before stopping a server started from code; signals do it for a server run from the
    command line.
    """
    await registry_for(app).drain(timeout)
