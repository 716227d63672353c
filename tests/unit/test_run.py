"""The run's own contract, below HTTP: however early a stop comes, the log ends with its final event and
``on_end`` is called once (a task cancelled before it first runs would skip its ``finally``)."""

from __future__ import annotations

import asyncio
from typing import Any

from werkzeug.datastructures import Headers

from quart_llmstream import ChatRequest, Settings
from quart_llmstream.events import RunEnded
from quart_llmstream.logs import MemoryLog
from quart_llmstream.run import Run, StopReason
from quart_llmstream.run.mapping import Mapper

from fakes import answering


async def final_event(stream_log: MemoryLog) -> Any:
    reader, last = stream_log.reader(), None
    while not reader.ended:
        entries = await asyncio.wait_for(reader.read(), 5)
        last = entries[-1][1] if entries else last
    return last


def new_run(stream_log: MemoryLog, ended: list[Any]) -> Run:
    runnable = answering(*["tick"] * 100, delay=0.05)
    settings = Settings(on_end=lambda _, result: ended.append(result.status))
    chat_request = ChatRequest("q", [], {}, Headers())

    def source(emit: Any) -> Any:
        return runnable.ainvoke({"question": "q", "chat_history": []})

    return Run(source, Mapper()("run-1"), stream_log, settings, chat_request)


async def test_a_stop_before_the_run_started_ends_it_with_its_error_frame() -> None:
    stream_log, ended = MemoryLog(), []
    new_run(stream_log, ended).stop(StopReason.SHUTDOWN)
    last = await final_event(stream_log)
    assert isinstance(last, RunEnded) and last.error == "shutdown"
    await asyncio.sleep(0)
    assert ended == ["cancelled"]


async def test_a_cancel_asked_of_the_log_before_its_run_attached_reaches_the_run() -> None:
    stream_log, ended = MemoryLog(), []
    stream_log.request_cancel()  # a store heard of the cancel while it made the log
    run = new_run(stream_log, ended)
    last = await final_event(stream_log)
    assert isinstance(last, RunEnded) and last.error == "cancelled"
    await run.done
    assert ended == ["cancelled"]


async def test_a_client_that_leaves_before_the_run_started_cancels_it_cleanly() -> None:
    stream_log, ended = MemoryLog(), []
    run = new_run(stream_log, ended)
    await run.client_left()  # at once, before the run's task first ran
    assert isinstance(await final_event(stream_log), RunEnded)
    assert ended == ["cancelled"]
