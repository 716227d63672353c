"""A thread's stream, as LangGraph's server serves it (``GET /threads/{id}/stream``): every run on the thread, one
after another as they come, each as its own stream sends it, and a ``metadata`` ``{"status": "run_done"}`` after
each. It never ends by itself: the client leaves, the thread is deleted, or the server shuts down.

Its ids name a run and an event of it (``<run>:<n>``), so a client back with ``Last-Event-ID`` gets what came after:
the rest of that run, then the runs made after it. Without one, the runs going on or waiting their turn (each from
its start, as a run's own join sends it) and those made after. A run's frames are the ones its stream keeps, so
this needs ``resume`` on, as joining a run does.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from quart import Response, request, stream_with_context

from ..errors import RequestError
from ..events import RunEnded, RunStarted
from ..logs import LogReader
from ..payloads import to_json
from ..settings import Settings
from .base import SSE_HEADERS
from .langgraph_encoder import LangGraphEncoder
from .response import sse_response
from .sse import OPEN, PING, encode_event, event_number, with_id
from .threads import ThreadAccess

__all__ = ["thread_stream_route"]

MODES = frozenset(("run_modes", "lifecycle", "state_update"))
"""What a client may ask of a thread's stream: its runs' frames, only their starts and ends, its state's updates
(none are sent here: a state is written by a run, whose frames carry it)."""

POLL_SECONDS = 0.2
"""How often the stream looks for a run new on the thread (LangGraph's server looks as often)."""

_BACKLOG = 256  # frames waiting for a slow client before the runs' readers wait too


def thread_stream_route(threads: ThreadAccess, settings: Settings) -> tuple[str, str, Callable[..., Any]]:
    """The route of a thread's stream, each owner's own."""

    async def join_thread(thread_id: str) -> Response:
        modes = _modes(request.args.getlist("stream_modes") or request.args.getlist("stream_mode"))
        mine = await threads.for_request()
        made, going = await mine.run_ids(thread_id)  # 404 unless the owner's, with its runs kept
        start = _after(request.headers.get("Last-Event-ID") or "", made)
        if start is None:  # from now: the runs going on or waiting their turn (from their starts), then those made
            start = dict.fromkeys(going, 0)
        let_go = mine.follower()  # counted as a stream is, until its body ends (or is let go unrun)
        frames = _Frames(mine, thread_id, settings, modes)
        body = stream_with_context(frames.run)(start, set(made), let_go)
        weakref.finalize(body, let_go)
        return sse_response(body, SSE_HEADERS)

    return "/threads/<thread_id>/stream", "GET", join_thread


def _modes(asked: list[str]) -> frozenset[str]:
    """The modes named (each value may list several, comma-separated), in ``stream_modes`` as LangGraph's server
    reads them, or else in ``stream_mode`` as its SDKs send them (their default beside a client's ``stream_modes``);
    ``run_modes`` when none; ``422`` for one it has not."""
    modes = frozenset(mode.strip() for value in asked for mode in value.split(",")) or frozenset(("run_modes",))
    if unknown := sorted(modes - MODES):
        raise RequestError(422, "invalid_request", f"Invalid stream mode: {unknown[0]}")
    return modes


def _after(last_event_id: str, made: list[str]) -> dict[str, int] | None:
    """Where a client back with ``Last-Event-ID`` goes on: each run to follow, after the event it had of it — the
    named run after its event, every run made after it from its start (all the runs kept, from their starts, for
    ``0`` or ``-1``, or a run no longer kept: every run kept was made after it); None without an id."""
    if not last_event_id:
        return None
    if last_event_id in ("0", "-1"):
        return dict.fromkeys(made, 0)
    run, _, number = last_event_id.rpartition(":")
    if not run or (seq := event_number(number)) is None:
        raise RequestError(422, "invalid_request", "Last-Event-ID: an id this thread's stream sent (<run>:<n>)")
    if run not in made:
        return dict.fromkeys(made, 0)
    return {run: seq} | dict.fromkeys(made[made.index(run) + 1 :], 0)


class _Frames:
    """One client's thread stream: its runs followed one after another, in the order they were made (one at a time
    runs on a thread), their frames queued for the client; new runs looked for meanwhile."""

    def __init__(self, threads: ThreadAccess, thread_id: str, settings: Settings, modes: frozenset[str]) -> None:
        self.threads, self.thread_id, self.settings = threads, thread_id, settings
        self.every_frame, self.lifecycle = "run_modes" in modes, "lifecycle" in modes
        self.frames: asyncio.Queue[bytes] = asyncio.Queue(_BACKLOG)
        self.runs: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
        self.following: str | None = None
        self.body: asyncio.Task[Any] | None = None

    async def run(self, start: dict[str, int], seen: set[str], let_go: Callable[[], None]) -> AsyncIterator[bytes]:
        self.body, loop = asyncio.current_task(), asyncio.get_running_loop()
        for run in start.items():
            self.runs.put_nowait(run)
        follower = asyncio.create_task(self._follow())
        try:
            yield OPEN
            quiet_since = loop.time()
            while True:
                if frames := await self._waiting(POLL_SECONDS):
                    quiet_since = loop.time()
                    yield frames
                elif self.settings.heartbeat and loop.time() - quiet_since >= self.settings.heartbeat:
                    quiet_since = loop.time()
                    yield PING
                if self.threads.draining():  # the server shuts down: the runs' ends, then the stream's
                    if self.following is None and self.runs.empty() and self.frames.empty():
                        break
                    continue
                try:
                    made, _ = await self.threads.run_ids(self.thread_id)
                except RequestError:  # the thread was deleted
                    break
                for run_id in made:
                    if run_id not in seen:
                        seen.add(run_id)
                        self.runs.put_nowait((run_id, 0))
        finally:  # no yield in here: the client may be gone
            follower.cancel()
            let_go()

    async def _waiting(self, timeout: float) -> bytes:
        """The frames queued now, or the first within ``timeout``, with those queued by then."""
        frames = []
        if self.frames.empty():
            try:
                frames.append(await asyncio.wait_for(self.frames.get(), timeout))
            except TimeoutError:
                return b""
        while not self.frames.empty():
            frames.append(self.frames.get_nowait())
        return b"".join(frames)

    async def _follow(self) -> None:
        while True:
            run_id, after = await self.runs.get()
            self.following = run_id
            await self._run_frames(run_id, after)
            self.following = None

    async def _run_frames(self, run_id: str, after: int) -> None:
        """A run's frames after ``after``, each event's last with its id, then its ``run_done``; a run whose process
        died (nothing comes, and it is not going on) just its ``run_done``."""
        try:
            reader = await self.threads.follow(self.thread_id, run_id)
        except RequestError:  # no longer kept
            return
        encoder, seen, quiet = LangGraphEncoder(run_id, thread_id=self.thread_id), 0, 0
        ticking = asyncio.create_task(_tick(reader))
        try:
            while not reader.ended:
                if not (entries := await reader.read()):
                    quiet += 1
                    if quiet > 1:
                        await self._put(_done(run_id, None))
                        return
                    if run_id in (await self.threads.run_ids(self.thread_id))[1]:
                        quiet = 0
                    continue
                quiet = 0
                for seq, event in entries:
                    if seq > seen + 1 and seq > after + 1:  # the store let go of events this client never had
                        await self._put(encoder.encode(RunEnded.failed("trimmed")) + _done(run_id, seq))
                        return
                    seen, frame = seq, encoder.encode(event)  # every event through the encoder, for its state
                    if seq <= after:  # the client had it
                        continue
                    if not (self.every_frame or (self.lifecycle and type(event) is RunStarted)):
                        frame = b""
                    if type(event) is RunEnded and (self.every_frame or self.lifecycle):
                        frame += _done(run_id, None)
                    if frame:
                        await self._put(with_id(frame, b"%s:%d" % (run_id.encode(), seq)))
        except RequestError:  # the thread was deleted
            return
        finally:
            ticking.cancel()
            reader.close()

    async def _put(self, frame: bytes) -> None:
        """Queue a frame for the client; one that read nothing for ``send_timeout`` is cut off, as from a run's
        own stream (a run waits for its slowest reader)."""
        try:
            await asyncio.wait_for(self.frames.put(frame), self.settings.send_timeout)
        except TimeoutError:
            if self.body is not None:
                self.body.cancel()


async def _tick(reader: LogReader) -> None:
    """A quiet run's reader woken every second: is the run going on still?"""
    while True:
        await asyncio.sleep(1)
        reader.interrupt()


def _done(run_id: str, seq: int | None) -> bytes:
    """The frame after a run's end (with its id, when it is the event's last)."""
    frame = encode_event(to_json({"status": "run_done", "run_id": run_id}), event="metadata")
    return frame if seq is None else with_id(frame, b"%s:%d" % (run_id.encode(), seq))
