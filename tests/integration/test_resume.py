"""Resumable streams: reconnect to any process and miss nothing, stop from anywhere, survive a dead
producer. Redis is a real ``redis-server`` of the tests' own; the two processes are separate Hypercorn
processes sharing it. What Redis failures and clusters do is in ``test_redis_store.py``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any

import httpx

from quart_llmstream import LLMStream

from fakes import QUESTION_PROMPT, ProbedChatModel, answering
from helpers import (
    app_process,
    assert_resumed,
    chat_app,
    drop_after,
    eventually,
    node,
    read_until,
    redis_server,
    resume_from,
    running,
    token_texts,
)
from sse_parser import parse

TOKENS = [f"t{i} " for i in range(1, 61)]
ALICE = {"X-User": "alice"}


async def test_a_client_that_drops_resumes_on_the_other_process_from_its_last_event_id() -> None:
    async with redis_server() as redis_url, app_process("resume_app", RESUME=redis_url) as (a, _):
        async with app_process("resume_app", RESUME=redis_url) as (b, _):
            stream_id, first = await drop_after(f"{a}/chat", {"question": "q", "id": "drop-1"}, 10, ALICE)
            assert stream_id == "drop-1" and token_texts(first) == TOKENS[:10]
            status, rest = await resume_from(f"{b}/chat/drop-1/stream", first.events[-1].id, ALICE)
    assert status == 200
    assert_resumed(first, rest, TOKENS)


async def test_the_same_on_one_process_with_the_memory_store() -> None:
    app = chat_app(answering(*TOKENS, delay=0.02), resume="memory")
    async with running(app) as url:
        stream_id, first = await drop_after(f"{url}/chat", {"question": "q"}, 10)
        assert len(stream_id) >= 20  # made by the server: unguessable
        status, rest = await resume_from(f"{url}/chat/{stream_id}/stream", first.events[-1].id)
        assert status == 200
        assert_resumed(first, rest, TOKENS)
        # a browser's first request cannot set the header: the query parameter does the same
        status, again = await resume_from(f"{url}/chat/{stream_id}/stream?last_event_id={first.events[-1].id}")
        assert token_texts(again) == TOKENS[10:]


async def test_replay_unknown_running_and_cancel_across_processes() -> None:
    async with redis_server() as redis_url, app_process("resume_app", RESUME=redis_url) as (a, _):
        async with app_process("resume_app", RESUME=redis_url, TOKEN_DELAY="0.002") as (b, _):
            async with httpx.AsyncClient(timeout=30) as client:
                done = await client.post(f"{b}/chat", json={"question": "q", "id": "fast"}, headers=ALICE)
                assert token_texts(parse(done.content)) == TOKENS
            status, replay = await resume_from(f"{a}/chat/fast/stream", headers=ALICE)  # finished, other process
            assert status == 200 and token_texts(replay) == TOKENS and replay.messages[-1] == "[DONE]"
            assert (await resume_from(f"{a}/chat/never-was/stream", headers=ALICE))[0] == 204

            async with httpx.AsyncClient(timeout=30) as client:
                async with client.stream("POST", f"{a}/chat", json={"question": "q", "id": "slow"}, headers=ALICE) as r:
                    body = r.aiter_raw()
                    seen = await read_until(body, 2)
                    conflict = await client.post(f"{b}/chat", json={"question": "q", "id": "slow"}, headers=ALICE)
                    assert conflict.status_code == 409
                    cancelled = await client.post(f"{b}/chat/slow/cancel", headers=ALICE)
                    assert cancelled.status_code == 202
                    asked = time.monotonic()
                    seen += b"".join([chunk async for chunk in body])
                    ended = time.monotonic() - asked
    stream = parse(seen)
    assert json.loads(stream.messages[-2])["code"] == "cancelled" and stream.messages[-1] == "[DONE]"
    assert ended < 1.0
    assert len(token_texts(stream)) < 30


async def test_a_killed_producer_ends_its_followers_with_lost() -> None:
    async with redis_server() as redis_url, app_process("resume_app", RESUME=redis_url) as (a, producer):
        async with app_process("resume_app", RESUME=redis_url) as (b, _):
            _, first = await drop_after(f"{a}/chat", {"question": "q", "id": "doomed"}, 3, ALICE)
            follower = asyncio.create_task(resume_from(f"{b}/chat/doomed/stream", first.events[-1].id, ALICE))
            await asyncio.sleep(0.3)
            os.kill(producer.pid, signal.SIGKILL)
            killed = time.monotonic()
            status, rest = await asyncio.wait_for(follower, 20)
    assert status == 200
    assert json.loads(rest.messages[-2])["code"] == "lost" and rest.messages[-1] == "[DONE]"
    assert time.monotonic() - killed < 10
    assert token_texts(first) + token_texts(rest) == TOKENS[: len(token_texts(first) + token_texts(rest))]


async def test_another_owners_stream_id_answers_as_an_unknown_one_on_resume_and_cancel() -> None:
    app = chat_app(answering(*TOKENS, delay=0.02), resume="memory", stream_owner=lambda r: r.headers.get("X-User"))
    async with running(app) as url, httpx.AsyncClient(timeout=10) as client:
        stream_id, _ = await drop_after(f"{url}/chat", {"question": "q", "id": "mine"}, 2, ALICE)
        assert stream_id == "mine"
        mallory = {"X-User": "mallory"}
        assert (await resume_from(f"{url}/chat/mine/stream", headers=mallory))[0] == 204
        assert (await resume_from(f"{url}/chat/unknown/stream", headers=mallory))[0] == 204
        assert (await client.post(f"{url}/chat/mine/cancel", headers=mallory)).status_code == 404
        assert (await client.post(f"{url}/chat/mine/cancel", headers=ALICE)).status_code == 202


async def test_with_resume_on_a_client_that_leaves_does_not_cancel_the_run() -> None:
    model = ProbedChatModel(responses=[TOKENS], delay=0.01)
    ended: list[Any] = []
    app = chat_app(QUESTION_PROMPT | model, resume="memory", on_end=lambda _, result: ended.append(result))
    async with running(app) as url:
        await drop_after(f"{url}/chat", {"question": "q"}, 3)
        await eventually(lambda: ended, seconds=5)
    assert model.probe.cancelled_at is None and model.probe.finished == 1
    assert [result.status for result in ended] == ["completed"] and ended[0].text == "".join(TOKENS)


async def test_a_bad_stream_id_or_last_event_id_is_refused() -> None:
    async with running(chat_app(answering("a"), resume="memory")) as url, httpx.AsyncClient() as client:
        bad = await client.post(f"{url}/chat", json={"question": "q", "id": "no spaces/please"})
        assert bad.status_code == 400
        assert (await client.get(f"{url}/chat/x/stream", headers={"Last-Event-ID": "abc"})).status_code == 400
        for number in ("\u00b2", "\u0663", "9" * 19, "9" * 5000):  # not ASCII digits, or past any stream's count
            refused = await client.get(f"{url}/chat/x/stream", params={"last_event_id": number})
            assert (refused.status_code, refused.json()["error"]) == (400, "invalid_request")


async def test_the_ai_sdk_reconnects_mid_answer_and_assembles_the_whole_message() -> None:
    ended: list[Any] = []
    app = chat_app(
        answering(*TOKENS, delay=0.05), protocol="ai-sdk", resume="memory", on_end=lambda *_: ended.append(1)
    )
    async with running(app) as url:
        api = f"{url}/chat"
        user = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "q"}]}
        first = await node("ai_sdk.mjs", op="send", api=api, chatId="chat-7", messages=[user], abortAfterChunks=8)
        assert first["aborted"] and not ended, "the client left mid-answer"
        again = await node("ai_sdk.mjs", op="reconnect", api=api, chatId="chat-7")
        gone = await node("ai_sdk.mjs", op="reconnect", api=api, chatId="no-such-chat")
    assert again["error"] is None and not again["noStream"]
    text = "".join(part["text"] for part in again["message"]["parts"] if part["type"] == "text")
    assert text == "".join(TOKENS), "replayed from the start, each token once"
    assert again["chunks"][-1] == {"type": "finish", "finishReason": "stop"}
    assert gone["noStream"], "204 for a stream the server does not know"


async def test_a_resume_from_before_the_kept_history_ends_with_trimmed_never_a_silent_gap() -> None:
    app = chat_app(answering(*TOKENS), resume="memory", resume_max_frames=16)
    async with running(app) as url, httpx.AsyncClient(timeout=10) as client:
        done = await client.post(f"{url}/chat", json={"question": "q", "id": "long"})
        last = int(parse(done.content).events[-2].id)  # the last token's event number
        _, early = await resume_from(f"{url}/chat/long/stream", "2")
        _, late = await resume_from(f"{url}/chat/long/stream", str(last - 5))
    assert token_texts(early) == [] and json.loads(early.messages[-2])["code"] == "trimmed"
    assert early.messages[-1] == "[DONE]"
    assert token_texts(late) == TOKENS[-5:] and late.messages[-1] == "[DONE]"


async def test_a_run_that_outlives_its_client_still_counts_against_max_streams() -> None:
    app = chat_app(answering(*TOKENS, delay=0.02), resume="memory", max_streams=1)
    async with running(app) as url, httpx.AsyncClient(timeout=10) as client:
        await drop_after(f"{url}/chat", {"question": "q", "id": "first"}, 2)
        refused = await client.post(f"{url}/chat", json={"question": "q", "id": "second"})
        assert refused.status_code == 503 and refused.json()["error"] == "overloaded"
        _, rest = await resume_from(f"{url}/chat/first/stream", "2")  # follow the first to its end
        assert rest.messages[-1] == "[DONE]"
        await eventually(lambda: len(LLMStream.of(app)) == 0)
        accepted = await client.post(f"{url}/chat", json={"question": "q", "id": "second"})
        assert accepted.status_code == 200


async def test_a_resumed_response_gets_heartbeats_while_the_run_is_silent() -> None:
    app = chat_app(answering("a", "b", delay=0.8), resume="memory", heartbeat=0.1)
    async with running(app) as url, httpx.AsyncClient(timeout=10) as client:
        _, first = await drop_after(f"{url}/chat", {"question": "q", "id": "quiet"}, 1)
        after = {"Last-Event-ID": first.events[-1].id}
        async with client.stream("GET", f"{url}/chat/quiet/stream", headers=after) as r:
            raw = b"".join([chunk async for chunk in r.aiter_raw()])
    assert raw.count(b": ping\n") >= 3
    assert token_texts(parse(raw)) == ["b"] and parse(raw).messages[-1] == "[DONE]"


async def test_each_ai_sdk_answer_has_its_own_message_id_and_a_resumed_answer_keeps_its_own() -> None:
    """``useChat`` replaces the message whose id a ``start`` names: one id per chat overwrote each answer."""
    app = chat_app(answering(*TOKENS, delay=0.04), protocol="ai-sdk", resume="memory")
    async with running(app) as url:
        api, ask = f"{url}/chat", {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "q"}]}
        first = await node("ai_sdk.mjs", op="send", api=api, chatId="chat-8", messages=[ask])
        turns = [ask, first["message"], {**ask, "id": "u2"}]
        second = await node("ai_sdk.mjs", op="send", api=api, chatId="chat-8", messages=turns, abortAfterChunks=8)
        again = await node("ai_sdk.mjs", op="reconnect", api=api, chatId="chat-8")
    assert not again["noStream"], "the second answer was still running"
    starts = [run["chunks"][0]["messageId"] for run in (first, second, again)]
    assert starts[0] != starts[1], "each answer has an id of its own"
    assert starts[2] == starts[1], "a resumed answer keeps the id of the answer it resumes"


async def test_the_ai_sdk_gets_204_once_the_chat_has_no_active_stream_and_a_last_event_id_still_gets_the_rest() -> None:
    """A page that reloads after an answer ended (``useChat({resume: true})``) must not get the answer again."""
    app = chat_app(answering("a", "b", "c"), protocol="ai-sdk", resume="memory")
    async with running(app) as url:
        api, ask = f"{url}/chat", {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "q"}]}
        done = await node("ai_sdk.mjs", op="send", api=api, chatId="chat-9", messages=[ask])
        reload = await node("ai_sdk.mjs", op="reconnect", api=api, chatId="chat-9")
        status, rest = await resume_from(f"{api}/chat-9/stream", last_event_id="3")
    assert done["error"] is None and reload["noStream"]
    assert status == 200 and [json.loads(data)["type"] for data in rest.messages[:-1]][-1] == "finish"
    assert any('"delta":"c"' in data for data in rest.messages) and not any('"delta":"a"' in d for d in rest.messages)


async def test_a_last_event_id_past_the_streams_end_gets_its_final_frame_not_an_empty_answer() -> None:
    """An id of an earlier, longer stream of the same id: the client is told the stream ended, not left to loop."""
    async with running(chat_app(answering("a", "b"), resume="memory")) as url, httpx.AsyncClient() as client:
        await client.post(f"{url}/chat", json={"question": "q", "id": "short"})
        status, rest = await resume_from(f"{url}/chat/short/stream", last_event_id="999")
    assert status == 200 and rest.messages == ["[DONE]"]


async def test_a_client_that_falls_far_behind_then_reads_on_gets_the_whole_stream_from_a_memory_store() -> None:
    """A kept log holds up its run while a reader is ``bound`` events behind, and lets it go on as the reader reads
    (it used to wait for the reader to leave, forever)."""
    big = [f"{n:03d}" + "x" * 16000 + " " for n in range(400)]  # 6.4 MB: more than the sockets hold
    async with running(chat_app(answering(*big), resume="memory")) as url, httpx.AsyncClient(timeout=30) as client:
        async with client.stream("POST", f"{url}/chat", json={"question": "q"}) as response:
            body = response.aiter_raw()
            seen = await read_until(body, 1)
            await asyncio.sleep(1.0)  # not reading: the run gets far ahead, then waits
            seen += await asyncio.wait_for(_read_rest(body), 15)
    stream = parse(seen)
    assert token_texts(stream) == big and stream.messages[-1] == "[DONE]"


async def _read_rest(body: Any) -> bytes:
    return b"".join([chunk async for chunk in body])
