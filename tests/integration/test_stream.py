"""Streaming through a real Hypercorn server on loopback: tokens, errors, timeouts, disconnects."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessageChunk
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from quart import Quart

from quart_llmstream import create_blueprint

from fakes import ProbedChatModel, words
from helpers import chat_app, eventually, leave_after, post_stream, read_until, tokens
from sse_parser import parse

PROMPT = ChatPromptTemplate.from_messages([("human", "{question}")])
ANSWER = words("The quick brown fox jumps over the lazy dog.")


def make_app(model: ProbedChatModel, *, parser: bool = True, **options: Any) -> Quart:
    return chat_app(PROMPT | model | StrOutputParser() if parser else PROMPT | model, **options)


@pytest.mark.parametrize("parser", [True, False], ids=["prompt|model|parser", "prompt|model"])
async def test_tokens_arrive_once_in_order_and_end_with_done(server: Any, parser: bool) -> None:
    app = make_app(ProbedChatModel(responses=[ANSWER], delay=0.001), parser=parser)
    async with server(app) as url:
        response, stream = await post_stream(f"{url}/chat", {"question": "fox?"})
    assert response.status_code == 200
    assert tokens(stream.messages) == ANSWER
    assert stream.incomplete == ""


async def test_content_block_chunks_yield_only_their_text(server: Any) -> None:
    chunks: list[Any] = [
        [{"type": "reasoning", "reasoning": "let me think"}],
        [{"type": "text", "text": "Hel"}],
        [{"type": "text", "text": "lo"}, {"type": "image_url", "image_url": {"url": "x"}}],
        AIMessageChunk(content="", tool_call_chunks=[{"name": "f", "args": "{}", "id": "1", "index": 0}]),
        [{"type": "text", "text": ""}],
        [{"type": "text", "text": "!"}],
    ]
    async with server(make_app(ProbedChatModel(responses=[chunks]), parser=False)) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "hi"})
    assert tokens(stream.messages) == ["Hel", "lo", "!"]


TRICKY = [
    "line\nbreak",
    "cr\rhere",
    "crlf\r\n",
    " leading",
    "data: inside",
    "ünïcødé 中文 🚀",
    "\u2028sep",
    "lone \ud800 surrogate",
    "",
    "event: x",
]


async def test_tricky_tokens_survive_the_wire(server: Any) -> None:
    async with server(make_app(ProbedChatModel(responses=[TRICKY]), parser=False)) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "hi"})
    assert tokens(stream.messages) == [t for t in TRICKY if t]
    assert [e.event for e in stream.events] == ["message"] * len(stream.events)


async def test_a_stream_longer_than_response_timeout_completes(server: Any) -> None:
    app = make_app(ProbedChatModel(responses=[["a", "b", "c", "d", "e"]], delay=0.3))
    app.config["RESPONSE_TIMEOUT"] = 0.5
    async with server(app) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "slow"})
    assert tokens(stream.messages) == ["a", "b", "c", "d", "e"]


async def test_max_duration_ends_with_a_timeout_frame_and_cancels_the_run(server: Any) -> None:
    model = ProbedChatModel(responses=[["a"] * 50], delay=0.05)
    async with server(make_app(model, max_duration=0.3)) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "long"})
    assert stream.messages[-1] == "[DONE]"
    assert json.loads(stream.messages[-2])["code"] == "timeout"
    assert model.probe.cancelled_at is not None
    assert model.probe.finished == 0


async def test_client_disconnect_after_three_tokens_cancels_the_model_run(server: Any) -> None:
    model = ProbedChatModel(responses=[["t"] * 200], delay=0.02)
    async with server(make_app(model)) as url:
        left_at = await leave_after(f"{url}/chat", 3)
        await eventually(lambda: model.probe.cancelled_at is not None, seconds=1.5)
    assert model.probe.cancelled_at - left_at < 1.0
    assert model.probe.finished == 0
    assert model.probe.chunks_sent < 200


async def test_mid_stream_exception_ends_cleanly_without_its_message(server: Any, caplog: Any) -> None:
    failing = ProbedChatModel(responses=[["a", "b", "c", "d"]], fail_at=2)
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda r: PROMPT | failing, name="fails"), url_prefix="/fails")
    app.register_blueprint(
        create_blueprint(lambda r: PROMPT | ProbedChatModel(responses=[["ok"]]), name="works"), url_prefix="/works"
    )
    with caplog.at_level(logging.ERROR, logger="quart_llmstream"):
        async with server(app) as url:
            # httpx raises RemoteProtocolError on a truncated chunked body: reading to the end proves it whole.
            response, stream = await post_stream(f"{url}/fails/chat", {"question": "q"})
            _, after = await post_stream(f"{url}/works/chat", {"question": "q"})
    assert response.status_code == 200
    assert stream.messages[:2] == ['{"token":"a"}', '{"token":"b"}']
    error = json.loads(stream.messages[2])
    assert error["code"] == "internal_error"
    assert "hunter2" not in error["error"] and "RuntimeError" not in error["error"]
    assert stream.messages[3:] == ["[DONE]"]
    assert stream.incomplete == ""
    assert "hunter2" in caplog.text  # the traceback goes to the log
    assert tokens(after.messages) == ["ok"]


async def test_expose_errors_sends_the_exception_text(server: Any) -> None:
    model = ProbedChatModel(responses=[["a", "b"]], fail_at=1, error="boom 42")
    async with server(make_app(model, expose_errors=True)) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "q"})
    assert json.loads(stream.messages[-2]) == {"error": "RuntimeError: boom 42", "code": "internal_error"}


async def test_frames_are_sent_one_by_one_as_the_model_streams() -> None:
    """Chunk-level: a comment flushes the headers at once, then each token reaches the client as its
    own body chunk, before the next exists."""
    model = ProbedChatModel(responses=[["a", "b", "c"]], delay=0.05)
    app = make_app(model)
    async with app.test_app():
        async with app.test_client().request(
            "/chat", method="POST", headers={"Content-Type": "application/json"}
        ) as connection:
            await connection.send(json.dumps({"question": "q"}).encode())
            await connection.send_complete()
            chunks = []
            while (chunk := await connection.receive()) != b"":
                chunks.append((chunk, model.probe.chunks_sent))
    assert [c for c, _ in chunks] == [
        b": stream open\n",
        b'data: {"token":"a"}\n\n',
        b'data: {"token":"b"}\n\n',
        b'data: {"token":"c"}\n\n',
        b"data: [DONE]\n\n",
    ]
    assert [sent for _, sent in chunks[:4]] == [0, 1, 2, 3]


async def test_heartbeats_while_the_runnable_is_silent_and_none_while_tokens_flow(server: Any) -> None:
    silent = ProbedChatModel(responses=[["late"]], delay=1.0)
    flowing = ProbedChatModel(responses=[["t"] * 40], delay=0.02)
    async with server(make_app(silent, heartbeat=0.2)) as url:
        _, quiet = await post_stream(f"{url}/chat", {"question": "q"})
    async with server(make_app(flowing, heartbeat=0.2)) as url:
        _, busy = await post_stream(f"{url}/chat", {"question": "q"})
    assert quiet.comments[0] == "stream open"
    assert quiet.comments.count("ping") >= 3
    assert tokens(quiet.messages) == ["late"]
    assert busy.comments == ["stream open"]
    assert tokens(busy.messages) == ["t"] * 40


async def test_a_hung_runnable_ends_with_a_timeout_frame_and_a_cancelled_run(server: Any) -> None:
    hung = ProbedChatModel(responses=[["never"]], delay=60)
    async with server(make_app(hung, idle_timeout=0.3, heartbeat=0.05)) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "q"})
    assert stream.messages[-1] == "[DONE]"
    assert json.loads(stream.messages[-2])["code"] == "timeout"
    assert hung.probe.cancelled_at is not None
    assert stream.comments.count("ping") >= 3  # heartbeats never reset the idle clock


async def test_a_client_that_never_reads_is_dropped_and_its_run_cancelled(server: Any) -> None:
    big = "x" * 65536
    model = ProbedChatModel(responses=[[big] * 400], delay=0.001)
    async with server(make_app(model, send_timeout=0.5)) as url:
        host, port = url.removeprefix("http://").split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        body = b'{"question": "q"}'
        writer.write(
            b"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        for _ in range(300):  # never read; wait for the server to give up
            if model.probe.cancelled_at is not None:
                break
            await asyncio.sleep(0.02)
        writer.close()
    assert model.probe.cancelled_at is not None, "the run of a client that never reads was not cancelled"
    assert model.probe.chunks_sent < 400  # the run waited for the reader: memory stayed bounded


async def test_on_disconnect_continue_finishes_the_run_and_reports_the_whole_text(server: Any) -> None:
    ended: list[Any] = []
    model = ProbedChatModel(responses=[["w"] * 30], delay=0.01)
    app = make_app(model, on_disconnect="continue", on_end=lambda request, result: ended.append(result))
    async with server(app) as url:
        await leave_after(f"{url}/chat", 3)
        await eventually(lambda: ended)
    assert model.probe.finished == 1 and model.probe.cancelled_at is None
    [result] = ended
    assert (result.status, result.text) == ("completed", "w" * 30)


async def test_max_streams_refuses_the_next_with_503_and_retry_after(server: Any) -> None:
    model = ProbedChatModel(responses=[["a", "b", "c", "d"]], delay=0.2)
    async with server(make_app(model, max_streams=2, retry_after=7)) as url:
        async with httpx.AsyncClient(timeout=10) as client:
            async with (
                client.stream("POST", f"{url}/chat", json={"question": "1"}) as first,
                client.stream("POST", f"{url}/chat", json={"question": "2"}) as second,
            ):
                bodies = [first.aiter_raw(), second.aiter_raw()]
                started = [await read_until(body, 1) for body in bodies]
                third = await client.post(f"{url}/chat", json={"question": "3"})
                rest = [b"".join([chunk async for chunk in body]) for body in bodies]
    assert third.status_code == 503
    assert third.headers["Retry-After"] == "7"
    assert third.json()["error"] == "overloaded"
    for head, tail in zip(started, rest, strict=True):
        assert tokens(parse(head + tail).messages) == ["a", "b", "c", "d"]


async def test_max_streams_holds_when_requests_arrive_together(server: Any) -> None:
    """Requests that pass the cap while their bodies are read and factories run are counted again."""

    async def slow_factory(_: Any) -> Any:
        await asyncio.sleep(0.2)  # every request is inside the view at once
        return PROMPT | ProbedChatModel(responses=[["a", "b"]], delay=0.2)

    app = Quart(__name__)
    app.register_blueprint(create_blueprint(slow_factory, max_streams=2))
    async with server(app) as url, httpx.AsyncClient(timeout=10) as client:
        responses = await asyncio.gather(*(client.post(f"{url}/chat", json={"question": "q"}) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 200, 503, 503, 503]
