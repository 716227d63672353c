"""The OpenAI-compatible endpoint, checked by the official ``openai`` SDK (sync and async) and by
``langchain_openai.ChatOpenAI`` against a real Hypercorn."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import openai
import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from fakes import QUESTION_PROMPT, ProbedChatModel
from helpers import chat_app, eventually, running
from sse_parser import parse

WORDS = ["Hello", " from", " the", " runnable", "."]
USAGE = AIMessageChunk(content="", usage_metadata={"input_tokens": 7, "output_tokens": 5, "total_tokens": 12})


def model(*chunks: Any, **fields: Any) -> ProbedChatModel:
    return ProbedChatModel(responses=[list(chunks or (*WORDS, USAGE))], **fields)


def openai_app(chat_model: ProbedChatModel, **options: Any) -> Any:
    return chat_app(QUESTION_PROMPT | chat_model, url_prefix="/v1", protocol="openai", **options)


def question(text: str = "Hi") -> list[Any]:
    return [{"role": "user", "content": text}]


@pytest.mark.parametrize("usage", [False, True])
async def test_the_async_sdk_streams_tokens_then_stop_then_usage(usage: bool) -> None:
    async with running(openai_app(model())) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        options = {"stream_options": {"include_usage": True}} if usage else {}
        stream = await client.chat.completions.create(model="any", messages=question(), stream=True, **options)
        chunks = [chunk async for chunk in stream]
    contents = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert contents == WORDS
    assert chunks[0].choices[0].delta.role == "assistant"
    finishing = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishing == ["stop"]
    assert len({c.id for c in chunks}) == 1 and chunks[0].model == "any"
    if usage:
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (7, 5)
    else:
        assert all(c.usage is None for c in chunks)


async def test_the_sync_sdk_streams_and_answers_whole() -> None:
    async with running(openai_app(model())) as url:

        def use_sync_client() -> tuple[list[str], Any]:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
            stream = client.chat.completions.create(model="m", messages=question(), stream=True)
            streamed = [c.choices[0].delta.content or "" for c in stream if c.choices]
            return streamed, client.chat.completions.create(model="m", messages=question())

        streamed, whole = await asyncio.to_thread(use_sync_client)
    assert "".join(streamed) == "".join(WORDS)
    assert whole.object == "chat.completion"
    assert whole.choices[0].message.content == "".join(WORDS)
    assert whole.choices[0].finish_reason == "stop"
    assert whole.usage is not None and whole.usage.total_tokens == 12


async def test_models_lists_the_configured_ids_and_refuses_others() -> None:
    async with running(openai_app(model(), models="alpha,beta")) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        assert [m.id async for m in client.models.list()] == ["alpha", "beta"]
        with pytest.raises(openai.NotFoundError) as refused:
            await client.chat.completions.create(model="gamma", messages=question())
        assert refused.value.code == "model_not_found"
        whole = await client.chat.completions.create(model="beta", messages=question())
        assert whole.model == "beta"


async def test_without_a_model_list_models_names_the_blueprint_and_any_model_is_served() -> None:
    async with running(openai_app(model())) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        assert [m.id async for m in client.models.list()] == ["llmstream"]
        assert (await client.chat.completions.create(model="whatever", messages=question())).choices


@pytest.mark.parametrize("expose", [False, True])
async def test_a_mid_stream_failure_raises_api_error_in_the_sdk(expose: bool) -> None:
    async with running(openai_app(model(*WORDS, fail_at=2), expose_errors=expose)) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        stream = await client.chat.completions.create(model="m", messages=question(), stream=True)
        seen = []
        with pytest.raises(openai.APIError) as failed:
            async for chunk in stream:
                seen.append(chunk.choices[0].delta.content)
    assert seen[1:] == WORDS[:2]
    assert ("hunter2" in str(failed.value.message)) == expose


async def test_an_overloaded_server_raises_a_503_status_error() -> None:
    slow = model(*["t"] * 100, delay=0.05)
    async with running(openai_app(slow, max_streams=1, retry_after=2)) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        first = await client.chat.completions.create(model="m", messages=question(), stream=True)
        await anext(aiter(first))
        with pytest.raises(openai.APIStatusError) as refused:
            await client.chat.completions.create(model="m", messages=question(), stream=True)
        await first.close()
    assert refused.value.status_code == 503
    assert refused.value.response.headers["Retry-After"] == "2"
    assert refused.value.code == "overloaded"


async def test_closing_the_sdk_stream_early_cancels_the_run() -> None:
    slow = model(*["t "] * 200, delay=0.02)
    async with running(openai_app(slow)) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        stream = await client.chat.completions.create(model="m", messages=question(), stream=True)
        for _ in range(4):
            await anext(aiter(stream))
        await stream.close()
        await eventually(lambda: slow.probe.cancelled_at is not None, seconds=1)
    assert slow.probe.chunks_sent < 100


async def test_chat_openai_streams_from_the_endpoint_tokens_exactly_once() -> None:
    async with running(openai_app(model())) as url:
        client = ChatOpenAI(base_url=f"{url}/v1", api_key="none", model="m", max_retries=0)  # type: ignore[arg-type]
        pieces = [chunk.text async for chunk in client.astream("Hi")]
    assert [piece for piece in pieces if piece] == WORDS


async def test_a_multi_turn_conversation_reaches_the_runnable_as_history_in_order() -> None:
    chat_model = model()
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Say "}, {"type": "text", "text": "hi"}]},
        {"role": "assistant", "content": "Hi!"},
        {"role": "user", "content": "Again"},
    ]
    async with running(openai_app(chat_model)) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        await client.chat.completions.create(model="m", messages=messages)  # type: ignore[arg-type]
    seen = chat_model.probe.calls[-1]
    assert [type(m) for m in seen] == [SystemMessage, HumanMessage, AIMessage, HumanMessage]
    assert [m.text for m in seen] == ["Be brief.", "Say hi", "Hi!", "Again"]


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            400,
            "image_url",
        ),
        ({"model": "m", "messages": []}, 400, "messages"),
        ({"messages": question()}, 400, "model"),
        ({"model": "m", "messages": [{"role": "assistant", "content": "no question"}]}, 400, "user"),
        ({"model": "m", "messages": question(), "stream": "yes"}, 400, "stream"),
    ],
)
async def test_errors_before_streaming_take_openais_shape(body: Any, status: int, needle: str) -> None:
    async with running(openai_app(model())) as url, httpx.AsyncClient() as client:
        response = await client.post(f"{url}/v1/chat/completions", json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert needle in error["message"]


async def test_a_refusal_of_what_the_client_sent_is_an_invalid_request_error_whatever_its_status() -> None:
    async with running(openai_app(model())) as url, httpx.AsyncClient() as client:
        as_text = await client.post(f"{url}/v1/chat/completions", content=b"{}", headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 415 and as_text.json()["error"]["type"] == "invalid_request_error"


async def test_a_body_over_the_apps_limit_is_a_413_in_openais_shape() -> None:
    app = openai_app(model())
    app.config["MAX_CONTENT_LENGTH"] = 1000
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 2000}]}
    async with running(app) as url, httpx.AsyncClient() as client:
        response = await client.post(f"{url}/v1/chat/completions", json=body)
    error = response.json()["error"]
    assert response.status_code == 413 and error["type"] == "invalid_request_error" and error["code"]


async def test_the_stream_keeps_the_sse_rules_for_openai_clients() -> None:
    slow = model(*WORDS, delay=0.15)
    async with running(openai_app(slow, heartbeat=0.05)) as url, httpx.AsyncClient() as client:
        body = {"model": "m", "messages": question(), "stream": True}
        async with client.stream("POST", f"{url}/v1/chat/completions", json=body) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
    stream = parse(raw)
    assert stream.comments.count("ping") >= 3  # heartbeats flowed...
    assert b": ping\n\n" not in raw and b": stream open\n\n" not in raw  # ...as single lines, never a block
    assert all(event.event == "message" and event.id == "" for event in stream.events)
    assert b"\nid:" not in raw and b"\nevent:" not in raw and b"\nretry:" not in raw
    assert stream.events[-1].data == "[DONE]"


async def test_the_example_app_answers_any_openai_client_below_v1() -> None:
    from example_app import create_app

    async with running(create_app({"DEMO_SECONDS_PER_TOKEN": 0.001})) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        assert [m.id async for m in client.models.list()] == ["demo-agent"]
        whole = await client.chat.completions.create(model="demo-agent", messages=question("What is SSE?"))
    assert whole.choices[0].message.content.startswith("(demo model) You asked: What is SSE?")


async def test_an_app_wide_resume_leaves_this_endpoint_without_it_and_the_keyword_is_refused() -> None:
    from quart import Quart

    from quart_llmstream import ConfigError, create_blueprint

    app = Quart(__name__)
    app.config["LLMSTREAM_RESUME"] = "memory"  # for the app's other blueprints
    app.register_blueprint(create_blueprint(lambda _: QUESTION_PROMPT | model(), protocol="openai"), url_prefix="/v1")
    async with running(app) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0)
        stream = await client.chat.completions.create(model="m", messages=question(), stream=True)
        assert "".join([c.choices[0].delta.content or "" async for c in stream if c.choices]) == "".join(WORDS)

    refused = Quart(__name__)
    with pytest.raises(ConfigError, match="openai protocol cannot resume"):
        refused.register_blueprint(create_blueprint(lambda _: model(), protocol="openai", resume="memory"))
