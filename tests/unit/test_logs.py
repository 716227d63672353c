"""The in-memory stream log: numbered events, readers from any position, bounded back-pressure."""

from __future__ import annotations

import asyncio

import pytest

from quart_llmstream.events import RunEnded, TextDelta
from quart_llmstream.logs import MemoryLog

from helpers import eventually

END = RunEnded("completed", "stop")


async def read_all(log: MemoryLog, after: int = 0) -> list[tuple[int, object]]:
    reader, seen = log.reader(after), []
    while not reader.ended:
        seen += await reader.read()
    reader.close()
    return seen


async def test_a_reader_follows_the_log_to_its_final_event() -> None:
    log = MemoryLog(bound=8)
    reading = asyncio.create_task(read_all(log))
    for text in "abc":
        await log.append(TextDelta(text))
        await asyncio.sleep(0)
    log.close([END])
    assert await reading == [(1, TextDelta("a")), (2, TextDelta("b")), (3, TextDelta("c")), (4, END)]


async def test_a_kept_log_is_read_again_from_any_position() -> None:
    log = MemoryLog(bound=8, keep=True)
    for text in "abc":
        await log.append(TextDelta(text))
    log.close([END])
    assert await read_all(log, after=2) == [(3, TextDelta("c")), (4, END)]
    assert len(await read_all(log)) == 4


@pytest.mark.parametrize("keep", [False, True])  # a kept log (a resumable stream's) holds up its run alike
async def test_the_run_waits_for_a_slow_reader_and_goes_on_when_it_reads_or_leaves(keep: bool) -> None:
    log = MemoryLog(bound=2, keep=keep)
    reader = log.reader()
    writer = asyncio.create_task(log.append(TextDelta("a")))
    await asyncio.sleep(0.01)
    assert writer.done()
    blocked = asyncio.create_task(log.append(TextDelta("b")))  # two behind: waits for the reader
    await asyncio.sleep(0.01)
    assert not blocked.done() and reader.holds_up_run
    assert [n for n, _ in await reader.read()] == [1, 2]
    await eventually(blocked.done)
    blocked = asyncio.create_task(log.append(TextDelta("c")))
    reader.close()  # the client left: nothing holds the run any more
    await eventually(blocked.done)


async def test_an_unkept_log_holds_only_what_its_reader_has_not_read() -> None:
    log = MemoryLog(bound=100)
    reader = log.reader()
    for text in "abcdef":
        await log.append(TextDelta(text))
    await reader.read()
    from_start = log.reader(after=0)  # what it asks for is gone: the numbers it gets show the gap
    late = log.reader(after=6)
    log.close([END])
    assert await late.read() == [(7, END)] == await from_start.read()
    assert reader.behind == 1 and late.ended
