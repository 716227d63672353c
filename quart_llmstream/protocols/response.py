"""The response: read a stream's log from a position, encode each event through the protocol, send it.

The response owns what limits the reader: heartbeats while nothing is sent, and the send timeout for a
client that stopped reading. It ends after the final event, or when its client leaves: then it tells the
caller through ``left`` (the run decides whether to go on). A response that is not the run
can follow a run that started elsewhere, from any position.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Protocol

from quart import Response

from ..events import Event, RunEnded
from ..logs import LogReader
from ..settings import Settings
from .sse import OPEN, PING

__all__ = ["FOLLOWER", "Follower", "RunHandle", "event_stream", "read_to_end", "sse_response"]

log = logging.getLogger("quart_llmstream")

_TRIMMED = RunEnded.failed("trimmed")  # never a silent gap


def event_stream(
    reader: LogReader,
    encode: Callable[[Event], bytes],
    opening: bytes,
    settings: Settings,
    *,
    left: Callable[[], Awaitable[None]],
    drop: Callable[[], None],
    after: int | None = None,
    closed: Callable[[], None] | None = None,
) -> AsyncIterator[bytes]:
    """The body of a response: frames until the final one, or until the client leaves.

    ``left`` is awaited when the body ends before the final event (the client is gone); ``drop`` is
    called when the client stopped reading for ``send_timeout`` and is cut off. With ``after`` (resume
    on), each event's last frame carries its number as the SSE ``id``, and the events up to ``after``
    (which the client had) go through the encoder, for its state, but not to the client.

    The watch over the reader starts now, not at the body's first step: a client gone before the body
    starts (an ``after_request`` hook awaited meanwhile) never runs it, and its run is dropped all the same.
    ``closed`` is called once the body is done with: at its end, or when the server lets go of a body it never
    ran (it must bear a second call).
    """
    watch = _ReaderWatch(reader, settings, asyncio.current_task(), drop)
    frames = _frames(reader, encode, opening, watch, left, after, closed)
    if closed is not None:  # a body never run has no finally: let go when it is dropped
        weakref.finalize(frames, closed)
    return frames


async def _frames(
    reader: LogReader,
    encode: Callable[[Event], bytes],
    opening: bytes,
    watch: _ReaderWatch,
    left: Callable[[], Awaitable[None]],
    after: int | None,
    closed: Callable[[], None] | None,
) -> AsyncIterator[bytes]:
    numbered = after is not None
    after, seen, ending = after or 0, 0, b""  # ending: the final frame, when this client had it (or named past it)
    try:
        yield OPEN + (b"" if after else opening)
        while not reader.ended:
            entries = await reader.read()
            if not entries:  # woken for a heartbeat
                watch.pinged()
                yield PING
            frames: list[bytes] = []  # one send per read: a replayed backlog goes out in one write, not one per event
            for seq, event in entries:
                if numbered:
                    if seq > seen + 1 and seq > after + 1:  # the store let go of events this client never had
                        yield b"".join(frames) + encode(_TRIMMED)
                        return
                    seen = seq
                if frame := encode(event):
                    if numbered:
                        if seq <= after:
                            ending = frame if type(event) is RunEnded else ending
                            continue
                        frame = b"%sid: %d\n\n" % (frame[:-1], seq)  # sse.with_id, inlined: the per-token path
                    frames.append(frame)
            if frames:
                yield b"".join(frames)
        if numbered and after > seen:  # an id past the stream's end (an earlier stream's): its end, again
            yield ending
    finally:  # no yield in here: the client may be gone
        watch.cancel()
        reader.close()
        if closed is not None:
            closed()
        if not reader.ended:
            await left()


async def read_to_end(reader: LogReader, encode: Callable[[Event], bytes], run: RunHandle) -> None:
    """Encode the run's every event (for an answer sent once, when it has ended); a client that leaves meanwhile
    is a disconnect, as in a stream."""
    try:
        while not reader.ended:
            for _, event in await reader.read():
                encode(event)
    except asyncio.CancelledError:
        reader.close()
        await run.client_left()
        raise


class RunHandle(Protocol):
    """What a response may do to the run it follows: tell it the client left (it decides whether to go on),
    or drop it (the client stopped reading)."""

    async def client_left(self) -> None: ...

    def drop(self) -> None: ...


class Follower:
    """What a response that follows a run it did not start can do to that run: nothing."""

    async def client_left(self) -> None:
        return None

    def drop(self) -> None:
        return None


FOLLOWER = Follower()


def sse_response(frames: AsyncIterator[bytes], headers: Mapping[str, str]) -> Response:
    """A streaming response that ``RESPONSE_TIMEOUT`` cannot cut: the stream ends by its own rules."""
    response = Response(frames, headers=dict(headers))
    response.timeout = None
    return response


class _ReaderWatch:
    """One timer per response for heartbeats and a stuck reader, comparing the reader's position between
    ticks, so the per-event path pays nothing for it."""

    def __init__(
        self,
        reader: LogReader,
        settings: Settings,
        body: asyncio.Task[object] | None,
        drop: Callable[[], None],
    ) -> None:
        self._reader = reader
        self._heartbeat = settings.heartbeat
        self._send_timeout = settings.send_timeout
        self._body = body
        self._drop = drop
        self._loop = asyncio.get_running_loop()
        periods = [p for p in (self._heartbeat, self._send_timeout) if p]
        self._tick = max(min(periods) / 4, 0.01) if periods else None
        self._position, self._moved_at = reader.position, self._loop.time()
        self._handle: asyncio.TimerHandle | None = None
        self._schedule()

    def pinged(self) -> None:
        self._moved_at = self._loop.time()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        if self._tick is not None:
            self._handle = self._loop.call_later(self._tick, self._check)

    def _check(self) -> None:
        reader, now = self._reader, self._loop.time()
        if reader.position != self._position:
            self._position, self._moved_at = reader.position, now
        quiet = now - self._moved_at
        if self._send_timeout and reader.holds_up_run and quiet >= self._send_timeout:
            log.warning("dropping a client that read nothing for %ss", self._send_timeout)
            self._drop()
            if self._body is not None:
                self._body.cancel()
            return
        if self._heartbeat and quiet >= self._heartbeat and reader.behind == 0:
            reader.interrupt()
        self._schedule()
