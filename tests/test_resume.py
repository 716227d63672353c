"""Resumable streams: reconnect to any process and miss nothing, stop from anywhere, survive a dead
producer and a Redis restart. Redis is a real ``redis-server`` of the tests' own; the two processes are
separate Hypercorn processes sharing it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from typing import Any

import httpx

from quart_llmstream import LLMStream

from fakes import QUESTION_PROMPT, ScriptedChatModel, answering
from helpers import app_process, chat_app, eventually, node, read_until, redis_server, running
from sse_parser import ParsedStream, parse

TOKENS = [f"t{i} " for i in range(1, 61)]
ALICE = {"X-User": "alice"}


async def leave_after(url: str, body: dict[str, Any], tokens: int, headers: Any = None) -> tuple[str, ParsedStream]:
    """POST a chat request, read ``tokens`` tokens, disconnect; the stream's id and what was read."""
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", url, json=body, headers=headers or {}) as response:
            assert response.status_code == 200, await response.aread()
            seen = await read_until(response.aiter_raw(), tokens)
            return response.headers["X-Stream-Id"], parse(seen)


async def resume(url: str, last_event_id: str | None = None, headers: Any = None) -> tuple[int, ParsedStream]:
    sent = dict(headers or {}) | ({"Last-Event-ID": last_event_id} if last_event_id is not None else {})
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("GET", url, headers=sent) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, parse(raw)


def tokens(stream: ParsedStream) -> list[str]:
    return [json.loads(data)["token"] for data in stream.messages if data.startswith('{"token"')]


def assert_rest(first: ParsedStream, rest: ParsedStream, expected: list[str]) -> None:
    """The first response's tokens and the resumed one's are exactly ``expected``, each once, then [DONE]."""
    assert tokens(first) + tokens(rest) == expected
    assert rest.messages[-1] == "[DONE]" and rest.incomplete == ""
    ids = [int(event.id) for event in first.events + rest.events]
    assert ids == sorted(set(ids)), "SSE ids are monotonic, none repeated"


async def test_a_client_that_drops_resumes_on_the_other_process_from_its_last_event_id() -> None:
    async with redis_server() as redis_url, app_process("resume_app", RESUME=redis_url) as (a, _):
        async with app_process("resume_app", RESUME=redis_url) as (b, _):
            stream_id, first = await leave_after(f"{a}/chat", {"question": "q", "id": "drop-1"}, 10, ALICE)
            assert stream_id == "drop-1" and tokens(first) == TOKENS[:10]
            status, rest = await resume(f"{b}/chat/drop-1/stream", first.events[-1].id, ALICE)
    assert status == 200
    assert_rest(first, rest, TOKENS)


async def test_the_same_on_one_process_with_the_memory_store() -> None:
    app = chat_app(answering(*TOKENS, delay=0.02), resume="memory")
    async with running(app) as url:
        stream_id, first = await leave_after(f"{url}/chat", {"question": "q"}, 10)
        assert len(stream_id) >= 20  # made by the server: unguessable
        status, rest = await resume(f"{url}/chat/{stream_id}/stream", first.events[-1].id)
        assert status == 200
        assert_rest(first, rest, TOKENS)
        # a browser's first request cannot set the header: the query parameter does the same
        status, again = await resume(f"{url}/chat/{stream_id}/stream?last_event_id={first.events[-1].id}")
        assert tokens(again) == TOKENS[10:]


async def test_replay_unknown_running_and_cancel_across_processes() -> None:
    async with redis_server() as redis_url, app_process("resume_app", RESUME=redis_url) as (a, _):
        async with app_process("resume_app", RESUME=redis_url, TOKEN_DELAY="0.002") as (b, _):
            async with httpx.AsyncClient(timeout=30) as client:
                done = await client.post(f"{b}/chat", json={"question": "q", "id": "fast"}, headers=ALICE)
                assert tokens(parse(done.content)) == TOKENS
            status, replay = await resume(f"{a}/chat/fast/stream", headers=ALICE)  # finished, other process
            assert status == 200 and tokens(replay) == TOKENS and replay.messages[-1] == "[DONE]"
            assert (await resume(f"{a}/chat/never-was/stream", headers=ALICE))[0] == 204

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
    assert len(tokens(stream)) < 30


async def test_a_killed_producer_ends_its_followers_with_lost() -> None:
    async with redis_server() as redis_url, app_process("resume_app", RESUME=redis_url) as (a, producer):
        async with app_process("resume_app", RESUME=redis_url) as (b, _):
            _, first = await leave_after(f"{a}/chat", {"question": "q", "id": "doomed"}, 3, ALICE)
            follower = asyncio.create_task(resume(f"{b}/chat/doomed/stream", first.events[-1].id, ALICE))
            await asyncio.sleep(0.3)
            os.kill(producer.pid, signal.SIGKILL)
            killed = time.monotonic()
            status, rest = await asyncio.wait_for(follower, 20)
    assert status == 200
    assert json.loads(rest.messages[-2])["code"] == "lost" and rest.messages[-1] == "[DONE]"
    assert time.monotonic() - killed < 10
    assert tokens(first) + tokens(rest) == TOKENS[: len(tokens(first) + tokens(rest))]


async def test_a_redis_restart_mid_stream_does_not_break_the_connected_client(caplog: Any) -> None:
    async with redis_server() as redis_url:
        port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    async with redis_server(port) as redis_url:
        app = chat_app(answering(*TOKENS, delay=0.02), resume=redis_url)
        async with running(app) as url, httpx.AsyncClient(timeout=30) as client:
            async with client.stream("POST", f"{url}/chat", json={"question": "q", "id": "r"}) as response:
                body = response.aiter_raw()
                seen = await read_until(body, 5)
                async with _restarted(redis_url):
                    seen += b"".join([chunk async for chunk in body])
    assert tokens(parse(seen)) == TOKENS and parse(seen).messages[-1] == "[DONE]"
    outages = [r for r in caplog.records if "Redis is unavailable" in r.getMessage()]
    assert len(outages) == 1, "one warning for the outage, not one per token"


class _restarted:  # a context: Redis goes down now and comes back (empty) before the block ends
    def __init__(self, url: str) -> None:
        self._port = int(url.rsplit(":", 1)[1].split("/")[0])

    async def __aenter__(self) -> None:
        os.system(f"redis-cli -p {self._port} shutdown nosave >/dev/null 2>&1")
        await asyncio.sleep(0.2)
        self._again = redis_server(self._port)
        await self._again.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self._again.__aexit__(*exc)


async def test_another_owner_gets_404_on_resume_and_cancel() -> None:
    app = chat_app(answering(*TOKENS, delay=0.02), resume="memory", stream_owner=lambda r: r.headers.get("X-User"))
    async with running(app) as url, httpx.AsyncClient(timeout=10) as client:
        stream_id, _ = await leave_after(f"{url}/chat", {"question": "q", "id": "mine"}, 2, ALICE)
        assert stream_id == "mine"
        assert (await resume(f"{url}/chat/mine/stream", headers={"X-User": "mallory"}))[0] == 404
        assert (await client.post(f"{url}/chat/mine/cancel", headers={"X-User": "mallory"})).status_code == 404
        assert (await client.post(f"{url}/chat/mine/cancel", headers=ALICE)).status_code == 202


async def test_with_resume_on_a_client_that_leaves_does_not_cancel_the_run() -> None:
    model = ScriptedChatModel(responses=[TOKENS], delay=0.01)
    ended: list[Any] = []
    app = chat_app(QUESTION_PROMPT | model, resume="memory", on_end=lambda _, result: ended.append(result))
    async with running(app) as url:
        await leave_after(f"{url}/chat", {"question": "q"}, 3)
        await eventually(lambda: ended, seconds=5)
    assert model.probe.cancelled_at is None and model.probe.finished == 1
    assert [result.status for result in ended] == ["completed"] and ended[0].text == "".join(TOKENS)


async def test_a_bad_stream_id_or_last_event_id_is_refused() -> None:
    async with running(chat_app(answering("a"), resume="memory")) as url, httpx.AsyncClient() as client:
        bad = await client.post(f"{url}/chat", json={"question": "q", "id": "no spaces/please"})
        assert bad.status_code == 400
        assert (await client.get(f"{url}/chat/x/stream", headers={"Last-Event-ID": "abc"})).status_code == 400


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
        _, early = await resume(f"{url}/chat/long/stream", "2")
        _, late = await resume(f"{url}/chat/long/stream", str(last - 5))
    assert tokens(early) == [] and json.loads(early.messages[-2])["code"] == "trimmed"
    assert early.messages[-1] == "[DONE]"
    assert tokens(late) == TOKENS[-5:] and late.messages[-1] == "[DONE]"


async def test_a_run_that_outlives_its_client_still_counts_against_max_streams() -> None:
    app = chat_app(answering(*TOKENS, delay=0.02), resume="memory", max_streams=1)
    async with running(app) as url, httpx.AsyncClient(timeout=10) as client:
        await leave_after(f"{url}/chat", {"question": "q", "id": "first"}, 2)
        refused = await client.post(f"{url}/chat", json={"question": "q", "id": "second"})
        assert refused.status_code == 503 and refused.json()["error"] == "overloaded"
        _, rest = await resume(f"{url}/chat/first/stream", "2")  # follow the first to its end
        assert rest.messages[-1] == "[DONE]"
        await eventually(lambda: len(LLMStream.of(app)) == 0)
        accepted = await client.post(f"{url}/chat", json={"question": "q", "id": "second"})
        assert accepted.status_code == 200


async def test_a_redis_client_of_the_apps_own_serves_resume_and_is_left_open() -> None:
    from redis.asyncio import Redis

    async with redis_server() as redis_url:
        client, observer = Redis.from_url(redis_url, client_name="apps-own"), Redis.from_url(redis_url)
        async with running(chat_app(answering("a", "b"), resume=client)) as url, httpx.AsyncClient() as http:
            await http.post(f"{url}/chat", json={"question": "q", "id": "own"})
            status, replay = await resume(f"{url}/chat/own/stream")
        assert status == 200 and tokens(replay) == ["a", "b"]
        connected = [c for c in await observer.client_list() if c["name"] == "apps-own"]
        assert connected, "the app's own client is left connected when the app stops"
        await client.aclose()
        await observer.aclose()


async def test_a_resumed_response_gets_heartbeats_while_the_run_is_silent() -> None:
    app = chat_app(answering("a", "b", delay=0.8), resume="memory", heartbeat=0.1)
    async with running(app) as url, httpx.AsyncClient(timeout=10) as client:
        _, first = await leave_after(f"{url}/chat", {"question": "q", "id": "quiet"}, 1)
        after = {"Last-Event-ID": first.events[-1].id}
        async with client.stream("GET", f"{url}/chat/quiet/stream", headers=after) as r:
            raw = b"".join([chunk async for chunk in r.aiter_raw()])
    assert raw.count(b": ping\n") >= 3
    assert tokens(parse(raw)) == ["b"] and parse(raw).messages[-1] == "[DONE]"


async def test_many_followers_of_a_stream_share_one_redis_reader_and_each_gets_every_token() -> None:
    from redis.asyncio import Redis

    async with redis_server() as redis_url, app_process("resume_app", RESUME=redis_url) as (a, _):
        async with app_process("resume_app", RESUME=redis_url) as (b, _), httpx.AsyncClient(timeout=30) as client:
            async with client.stream("POST", f"{a}/chat", json={"question": "q", "id": "crowd"}, headers=ALICE) as r:
                await read_until(r.aiter_raw(), 2)
                crowd = [asyncio.create_task(resume(f"{b}/chat/crowd/stream", headers=ALICE)) for _ in range(150)]
                await asyncio.sleep(1.0)
                observer = Redis.from_url(redis_url)
                reading = [c for c in await observer.client_list() if c["cmd"] == "xread"]
                await observer.aclose()
                followed = await asyncio.gather(*crowd)
    assert all(status == 200 and tokens(stream) == TOKENS for status, stream in followed)
    assert len(reading) <= 2, "150 followers of one stream in one process share one reader"


async def test_resume_and_cancel_work_on_a_redis_cluster() -> None:
    """A Redis Cluster refuses a command whose keys span slots: one hash tag per stream keeps them in one."""
    from redis.asyncio import RedisCluster

    async with redis_server(cluster=True) as redis_url:
        client = RedisCluster.from_url(redis_url)
        app = chat_app(answering(*TOKENS, delay=0.02), resume=client)
        async with running(app) as url, httpx.AsyncClient(timeout=10) as http:
            _, first = await leave_after(f"{url}/chat", {"question": "q", "id": "c1"}, 10)
            status, rest = await resume(f"{url}/chat/c1/stream", first.events[-1].id)
            async with http.stream("POST", f"{url}/chat", json={"question": "q", "id": "c2"}) as response:
                body = response.aiter_raw()
                seen = await read_until(body, 2)
                assert (await http.post(f"{url}/chat/c2/cancel")).status_code == 202
                seen += b"".join([chunk async for chunk in body])
        await client.aclose()
    assert status == 200
    assert_rest(first, rest, TOKENS)
    assert json.loads(parse(seen).messages[-2])["code"] == "cancelled"


async def test_a_stream_id_used_again_is_followed_anew_while_a_follower_of_its_last_run_lingers() -> None:
    """The AI SDK reuses its chat id for every turn: a follower must get this turn's answer, not the last."""
    from quart_llmstream.events import RunEnded, TextDelta
    from quart_llmstream.logs.redis import RedisStore
    from quart_llmstream.logs.store import StreamMeta

    async def run(store: RedisStore, text: str) -> None:
        stream_log = await store.create("chat-1", StreamMeta(None, ("token",)), 64)
        await stream_log.append(TextDelta(text))
        stream_log.close([RunEnded("completed", "stop")])

    async def read_all(reader: Any) -> list[Any]:
        events = []
        while not reader.ended:
            events += [event for _, event in await reader.read()]
        return events

    async with redis_server() as redis_url:
        store = RedisStore(redis_url, ttl=60, max_frames=100)
        await run(store, "first turn")
        _, lingering = await store.open("chat-1")  # a follower of the first turn that has not read yet
        await eventually(lambda: lingering.behind >= 2)
        await run(store, "second turn")
        await eventually(lambda: not store._producing)  # mirrored to Redis
        _, follower = await store.open("chat-1")
        assert TextDelta("second turn") in await read_all(follower)
        assert TextDelta("first turn") in await read_all(lingering)
        await store.close()
