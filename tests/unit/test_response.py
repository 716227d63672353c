"""The response below any server: a log read into frames through an encoder, SSE ids when it can be resumed,
and what it tells the run when its client leaves."""

from __future__ import annotations

import asyncio
from typing import Any

from quart_llmstream import Settings
from quart_llmstream.events import Event, RunEnded, TextDelta
from quart_llmstream.logs import MemoryLog
from quart_llmstream.protocols.response import event_stream
from quart_llmstream.protocols.sse import encode_event

from sse_parser import parse


def encode(event: Event) -> bytes:
    return encode_event(event.text if isinstance(event, TextDelta) else "end")


class Watched:
    def __init__(self) -> None:
        self.left = self.dropped = 0

    async def client_left(self) -> None:
        self.left += 1

    def drop(self) -> None:
        self.dropped += 1


async def body(log: MemoryLog, after: int | None, watched: Watched, **settings: Any) -> bytes:
    frames = event_stream(
        log.reader(), encode, b"", Settings(**settings), left=watched.client_left, drop=watched.drop, after=after
    )
    return b"".join([frame async for frame in frames])


async def filled(*texts: str) -> MemoryLog:
    log = MemoryLog(keep=True)
    for text in texts:
        await log.append(TextDelta(text))
    log.close([RunEnded("completed", "stop", None)])
    return log


async def test_frames_follow_the_log_to_its_end_with_ids_only_when_resumable() -> None:
    watched = Watched()
    plain = parse(await body(await filled("a", "b"), None, watched))
    assert [event.data for event in plain.events] == ["a", "b", "end"]
    assert not any(event.id for event in plain.events)
    numbered = parse(await body(await filled("a", "b"), 0, watched))
    assert [(event.data, event.id) for event in numbered.events] == [("a", "1"), ("b", "2"), ("end", "3")]
    resumed = parse(await body(await filled("a", "b"), 2, watched))
    assert [(event.data, event.id) for event in resumed.events] == [("end", "3")]
    assert (watched.left, watched.dropped) == (0, 0), "a stream read to its end leaves no one behind"


async def test_a_client_that_leaves_mid_stream_tells_the_run() -> None:
    log, watched = MemoryLog(), Watched()
    await log.append(TextDelta("a"))
    frames = event_stream(log.reader(), encode, b"", Settings(), left=watched.client_left, drop=watched.drop)
    assert b"stream open" in await anext(frames)
    assert b"data: a" in await anext(frames)
    await frames.aclose()  # the client went away
    assert watched.left == 1


async def test_events_the_store_let_go_of_end_the_stream_with_a_trimmed_error_never_a_gap() -> None:
    log = MemoryLog(keep=True, max_events=2)
    for text in "abcd":
        await log.append(TextDelta(text))
    log.close([RunEnded("completed", "stop", None)])
    seen = parse(await body(log, 1, Watched()))
    assert [event.data for event in seen.events] == ["end"], "the trimmed ending, not 'd' after a gap"


async def test_a_quiet_stream_gets_heartbeats() -> None:
    log, watched = MemoryLog(), Watched()
    frames = event_stream(
        log.reader(), encode, b"", Settings(heartbeat=0.05), left=watched.client_left, drop=watched.drop
    )
    await anext(frames)
    assert await asyncio.wait_for(anext(frames), 2) == b": ping\n"
    await frames.aclose()


async def test_only_a_reader_that_holds_up_the_run_is_dropped_at_the_send_timeout() -> None:
    """A caught-up reader of a quiet run waits as long as the run is quiet; one that reads nothing while the log
    fills to its bound (the run waits for it) is dropped."""
    settings = Settings(heartbeat=0, send_timeout=0.1)

    def stream(log: MemoryLog, watched: Watched) -> Any:
        return event_stream(log.reader(), encode, b"", settings, left=watched.client_left, drop=watched.drop)

    quiet, patient = MemoryLog(), Watched()
    frames = stream(quiet, patient)
    await anext(frames)  # the opening
    waiting = asyncio.ensure_future(anext(frames))
    await asyncio.sleep(0.5)
    assert patient.dropped == 0 and not waiting.done()
    await quiet.append(TextDelta("late"))
    assert parse(await asyncio.wait_for(waiting, 2)).messages == ["late"]
    await frames.aclose()

    full, stuck = MemoryLog(bound=2), Watched()

    async def client() -> None:  # the response's body: it reads the opening, then nothing
        frames = stream(full, stuck)
        await anext(frames)
        await asyncio.sleep(10)
        await frames.aclose()

    async def writes() -> None:
        for text in "abc":
            await full.append(TextDelta(text))

    body, writer = asyncio.ensure_future(client()), asyncio.ensure_future(writes())
    await asyncio.sleep(0.5)
    assert stuck.dropped == 1 and body.cancelled()
    writer.cancel()
