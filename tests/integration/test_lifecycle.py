"""Lifecycle hooks: on_start, and on_end exactly once per stream with its text and status."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from langchain_core.messages import AIMessageChunk
from quart import Quart

from quart_llmstream import ChatRequest, StreamResult, create_blueprint

from fakes import QUESTION_PROMPT, ProbedChatModel
from helpers import eventually, leave_after, post_stream


class Hooks:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.ended: list[tuple[str, StreamResult]] = []
        self.all_ended = asyncio.Event()

    async def on_start(self, chat_request: ChatRequest) -> None:
        self.started.append(chat_request.question)

    def on_end(self, chat_request: ChatRequest, result: StreamResult) -> None:  # a sync hook works too
        self.ended.append((chat_request.question, result))
        self.all_ended.set()


def app_with(model: ProbedChatModel, hooks: Hooks, **options: Any) -> Quart:
    app = Quart(__name__)
    app.register_blueprint(
        create_blueprint(lambda _: QUESTION_PROMPT | model, on_start=hooks.on_start, on_end=hooks.on_end, **options)
    )
    return app


async def test_completed_stream_reports_text_tokens_usage_and_duration(server: Any) -> None:
    hooks = Hooks()
    usage = {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    model = ProbedChatModel(responses=[["Hello", AIMessageChunk(content=" world", usage_metadata=usage)]])
    async with server(app_with(model, hooks, events="token,end")) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "hi"})
        await eventually(lambda: hooks.ended)
    assert stream.messages[-1] == "[DONE]"
    assert hooks.started == ["hi"]
    [(question, result)] = hooks.ended
    assert (question, result.status, result.text, result.tokens, result.usage) == (
        "hi",
        "completed",
        "Hello world",
        2,
        usage,
    )
    assert result.duration > 0 and len(result.run_id) == 36


async def test_failed_stream_reports_error_with_the_text_so_far(server: Any) -> None:
    hooks = Hooks()
    async with server(app_with(ProbedChatModel(responses=[["a", "b", "c"]], fail_at=2), hooks)) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "fail"})
        await eventually(lambda: hooks.ended)
    assert stream.messages[-1] == "[DONE]"
    assert [(r.status, r.text) for _, r in hooks.ended] == [("error", "ab")]


async def test_disconnected_stream_reports_cancelled_once(server: Any) -> None:
    hooks = Hooks()
    model = ProbedChatModel(responses=[["t"] * 500], delay=0.01)
    async with server(app_with(model, hooks)) as url:
        await leave_after(f"{url}/chat", 3, {"question": "leave"})
        await eventually(lambda: hooks.ended)
        await asyncio.sleep(0.2)  # nothing more arrives
    [(_, result)] = hooks.ended
    assert result.status == "cancelled"
    assert result.text.startswith("ttt") and result.tokens < 500
    assert model.probe.cancelled_at is not None


async def test_a_raising_hook_is_logged_and_never_breaks_the_stream(server: Any, caplog: Any) -> None:
    def broken(*args: Any) -> None:
        raise RuntimeError("hook bug")

    app = Quart(__name__)
    app.register_blueprint(
        create_blueprint(
            lambda _: QUESTION_PROMPT | ProbedChatModel(responses=[["fine"]]), on_start=broken, on_end=broken
        )
    )
    async with server(app) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "q"})
    assert stream.messages == ['{"token":"fine"}', "[DONE]"]
    failures = [r for r in caplog.records if r.getMessage() == "the broken hook failed"]
    assert len(failures) == 2 and all("hook bug" in str(r.exc_info[1]) for r in failures)


async def test_on_end_is_called_once_even_when_the_client_leaves_during_on_start(server: Any) -> None:
    ended: list[StreamResult] = []
    on_start_running = asyncio.Event()

    async def slow_start(chat_request: ChatRequest) -> None:
        on_start_running.set()
        await asyncio.sleep(10)

    app = Quart(__name__)
    app.register_blueprint(
        create_blueprint(
            lambda _: QUESTION_PROMPT | ProbedChatModel(responses=[["never"]]),
            on_start=slow_start,
            on_end=lambda request, result: ended.append(result),
        )
    )
    async with server(app) as url, httpx.AsyncClient() as client:
        async with client.stream("POST", f"{url}/chat", json={"question": "q"}) as response:
            assert response.status_code == 200
            await on_start_running.wait()
        await eventually(lambda: ended)
        await asyncio.sleep(0.1)
    assert [(r.status, r.text) for r in ended] == [("cancelled", "")]
