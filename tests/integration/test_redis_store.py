"""The Redis store: what a connected client and followers get when Redis fails, restarts or runs as a
cluster, and how a process shares one Redis reader between the followers of a stream. Redis is a real
``redis-server`` of the tests' own; "the other process" is a separate Hypercorn process sharing it."""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx

from fakes import QUESTION_PROMPT, ProbedChatModel, answering
from helpers import (
    app_process,
    assert_resumed,
    chat_app,
    drop_after,
    eventually,
    free_port,
    leave_after,
    post_stream,
    read_until,
    redis_cluster,
    redis_server,
    resume_from,
    running,
    token_texts,
)
from sse_parser import parse

TOKENS = [f"t{i} " for i in range(1, 61)]
ALICE = {"X-User": "alice"}


async def test_a_redis_restart_mid_stream_does_not_break_the_connected_client(caplog: Any) -> None:
    async with redis_server() as redis_url:
        port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
    async with redis_server(port) as redis_url:
        app = chat_app(answering(*TOKENS, delay=0.05), resume=redis_url)  # three seconds
        async with running(app) as url, httpx.AsyncClient(timeout=30) as client:
            async with client.stream("POST", f"{url}/chat", json={"question": "q", "id": "r"}) as response:
                body = response.aiter_raw()
                seen = await read_until(body, 5)
                async with _restarted(redis_url):
                    seen += b"".join([chunk async for chunk in body])
    assert token_texts(parse(seen)) == TOKENS and parse(seen).messages[-1] == "[DONE]"
    outages = [r for r in caplog.records if "Redis is unavailable" in r.getMessage()]
    assert len(outages) == 1, "one warning for the outage, not one per token"


async def test_a_stream_started_while_redis_is_down_is_answered_whole_and_offers_no_id_to_resume_by() -> None:
    """Nothing could answer a resume of it: no ``X-Stream-Id``, no SSE ids, and its run ends with its client."""
    model = ProbedChatModel(responses=[TOKENS], delay=0.02)
    app = chat_app(QUESTION_PROMPT | model, resume=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    async with running(app) as url:
        response, whole = await post_stream(f"{url}/chat", {"question": "q", "id": "down"})
        assert response.status_code == 200 and "X-Stream-Id" not in response.headers
        left_at = await leave_after(f"{url}/chat", 3, {"question": "q", "id": "down-2"})
        await eventually(lambda: model.probe.cancelled_at is not None, seconds=2.0)
    assert token_texts(whole) == TOKENS and whole.messages[-1] == "[DONE]"
    assert all(event.id == "" for event in whole.events), "no SSE ids: a Last-Event-ID would name nothing"
    assert model.probe.cancelled_at is not None and model.probe.cancelled_at - left_at < 1.0


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


async def test_a_redis_client_of_the_apps_own_serves_resume_and_is_left_open() -> None:
    from redis.asyncio import Redis

    async with redis_server() as redis_url:
        client, observer = Redis.from_url(redis_url, client_name="apps-own"), Redis.from_url(redis_url)
        async with running(chat_app(answering("a", "b"), resume=client)) as url, httpx.AsyncClient() as http:
            await http.post(f"{url}/chat", json={"question": "q", "id": "own"})
            status, replay = await resume_from(f"{url}/chat/own/stream")
        assert status == 200 and token_texts(replay) == ["a", "b"]
        connected = [c for c in await observer.client_list() if c["name"] == "apps-own"]
        assert connected, "the app's own client is left connected when the app stops"
        await client.aclose()
        await observer.aclose()


async def test_many_followers_of_a_stream_share_one_redis_reader_and_each_gets_every_token() -> None:
    from redis.asyncio import Redis

    async with redis_server() as redis_url, app_process("resume_app", RESUME=redis_url) as (a, _):
        async with app_process("resume_app", RESUME=redis_url) as (b, _), httpx.AsyncClient(timeout=30) as client:
            async with client.stream("POST", f"{a}/chat", json={"question": "q", "id": "crowd"}, headers=ALICE) as r:
                await read_until(r.aiter_raw(), 2)
                crowd = [asyncio.create_task(resume_from(f"{b}/chat/crowd/stream", headers=ALICE)) for _ in range(150)]
                await asyncio.sleep(1.0)
                observer = Redis.from_url(redis_url)
                reading = [c for c in await observer.client_list() if c["cmd"] == "xread"]
                await observer.aclose()
                followed = await asyncio.gather(*crowd)
    assert all(status == 200 and token_texts(stream) == TOKENS for status, stream in followed)
    assert len(reading) <= 2, "150 followers of one stream in one process share one reader"


async def test_resume_and_cancel_work_on_a_redis_cluster() -> None:
    """A Redis Cluster refuses a command whose keys span slots: one hash tag per stream keeps them in one."""
    from redis.asyncio import RedisCluster

    async with redis_server(cluster=True) as redis_url:
        client = RedisCluster.from_url(redis_url)
        app = chat_app(answering(*TOKENS, delay=0.02), resume=client)
        async with running(app) as url, httpx.AsyncClient(timeout=10) as http:
            _, first = await drop_after(f"{url}/chat", {"question": "q", "id": "c1"}, 10)
            status, rest = await resume_from(f"{url}/chat/c1/stream", first.events[-1].id)
            async with http.stream("POST", f"{url}/chat", json={"question": "q", "id": "c2"}) as response:
                body = response.aiter_raw()
                seen = await read_until(body, 2)
                assert (await http.post(f"{url}/chat/c2/cancel")).status_code == 202
                seen += b"".join([chunk async for chunk in body])
        await client.aclose()
    assert status == 200
    assert_resumed(first, rest, TOKENS)
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
        _, lingering = await store.open("chat-1", None)  # a follower of the first turn that has not read yet
        await eventually(lambda: lingering.behind >= 2)
        await run(store, "second turn")
        await eventually(lambda: not store._producing)  # mirrored to Redis
        _, follower = await store.open("chat-1", None)
        assert TextDelta("second turn") in await read_all(follower)
        assert TextDelta("first turn") in await read_all(lingering)
        await store.close()


async def stream_ids_on_each_node(urls: list[str]) -> list[str]:
    """One stream id per node of the cluster: the slot of its keys' hash tag falls on that node."""
    from redis.asyncio import RedisCluster

    client = await RedisCluster.from_url(urls[0]).initialize()
    by_node: dict[int, str] = {}
    for n in range(100):
        by_node.setdefault(client.get_node_from_key(f"llmstream:{{s{n}}}:ev").port, f"s{n}")
    await client.aclose()
    assert len(by_node) == len(urls)
    return list(by_node.values())


async def test_on_a_three_node_cluster_streams_on_every_node_resume_on_another_process() -> None:
    async with redis_cluster(3) as urls:
        ids = await stream_ids_on_each_node(urls)
        cluster = {"RESUME": urls[0], "RESUME_CLUSTER": "1", "TOKEN_DELAY": "0.02"}
        async with app_process("resume_app", **cluster) as (a, _), app_process("resume_app", **cluster) as (b, _):
            for stream_id in ids:
                _, first = await drop_after(f"{a}/chat", {"question": "q", "id": stream_id}, 10, ALICE)
                status, rest = await resume_from(f"{b}/chat/{stream_id}/stream", first.events[-1].id, ALICE)
                assert status == 200
                assert_resumed(first, rest, TOKENS)


async def test_on_a_three_node_cluster_a_cancel_just_after_a_fresh_process_started_reaches_it_at_once() -> None:
    """The model is silent for 5 s, so only the cancel channel can stop the run within a second (the lease
    write that also checks the flag comes every 2 s); each stream is its fresh process's first."""
    async with redis_cluster(3) as urls:
        ids = await stream_ids_on_each_node(urls)
        cluster = {"RESUME": urls[0], "RESUME_CLUSTER": "1", "TOKEN_DELAY": "5"}
        async with app_process("resume_app", **cluster) as (b, _), httpx.AsyncClient(timeout=30) as client:
            for stream_id in ids:
                async with app_process("resume_app", **cluster) as (a, _):
                    body = {"question": "q", "id": stream_id}
                    async with client.stream("POST", f"{a}/chat", json=body, headers=ALICE) as response:
                        await asyncio.sleep(0.3)
                        sent = time.monotonic()
                        assert (await client.post(f"{b}/chat/{stream_id}/cancel", headers=ALICE)).status_code == 202
                        seen = parse(b"".join([chunk async for chunk in response.aiter_raw()]))
                        took = time.monotonic() - sent
                assert json.loads(seen.messages[-2])["code"] == "cancelled" and seen.messages[-1] == "[DONE]"
                assert took < 1.0, f"stream {stream_id} ended {took:.2f}s after its cancel"


async def test_a_lease_set_whose_reply_was_lost_and_retried_is_the_streams_own_not_a_conflict() -> None:
    """A cluster client retries a ``SET NX`` whose reply was lost: the retry finds the key set, by the first try."""
    from redis.asyncio import Redis

    class LostReply(Redis):  # type: ignore[misc]
        lost = True

        async def set(self, *args: Any, **kwargs: Any) -> Any:
            answer = await super().set(*args, **kwargs)
            if kwargs.get("nx") and LostReply.lost:
                LostReply.lost = False
                return await super().set(*args, **kwargs)  # the retry: None, the key is there
            return answer

    async with redis_server() as redis_url:
        client = LostReply.from_url(redis_url)
        async with running(chat_app(answering("a", "b"), resume=client)) as url, httpx.AsyncClient() as http:
            first = await http.post(f"{url}/chat", json={"question": "q", "id": "fresh"})
        await client.aclose()
    assert first.status_code == 200 and "[DONE]" in first.text and not LostReply.lost


async def test_a_run_whose_stream_id_redis_forgot_stops_writing_to_it_and_a_new_run_may_take_it() -> None:
    """Redis restarted without its data mid-stream: the id is free; the first run's client still gets its answer,
    and the run no longer writes where the new run of that id does."""
    from redis.asyncio import Redis

    async with redis_server() as redis_url:
        app = chat_app(answering(*TOKENS, delay=0.05), resume=redis_url)  # three seconds
        observer = Redis.from_url(redis_url)
        async with running(app) as url, httpx.AsyncClient(timeout=30) as http:
            first = asyncio.create_task(http.post(f"{url}/chat", json={"question": "q", "id": "dup"}))
            await asyncio.sleep(0.4)
            await observer.flushall()  # the data lost
            await asyncio.sleep(0.3)  # the first run's next write finds its lease gone
            second = await http.post(f"{url}/chat", json={"question": "q", "id": "dup"})
            answered = await first
            status, replay = await resume_from(f"{url}/chat/dup/stream")
        await observer.aclose()
    assert answered.status_code == 200 and "".join(token_texts(parse(answered.content))) == "".join(TOKENS)
    assert second.status_code == 200 and status == 200
    assert token_texts(replay) == token_texts(parse(second.content)), "the id's log is the second run's alone"


async def test_an_app_served_again_streams_resumes_and_cancels_on_redis_again() -> None:
    """Its first server's end closes its Redis store; the next serving opens it again (a test suite's app)."""
    async with redis_server() as redis_url:
        app = chat_app(answering(*TOKENS, delay=0.02), resume=redis_url)
        for serving in ("first", "second"):
            async with running(app) as url, httpx.AsyncClient(timeout=10) as http:
                _, first = await drop_after(f"{url}/chat", {"question": "q", "id": f"{serving}-1"}, 10)
                status, rest = await resume_from(f"{url}/chat/{serving}-1/stream", first.events[-1].id)
                async with http.stream("POST", f"{url}/chat", json={"question": "q", "id": f"{serving}-2"}) as response:
                    body = response.aiter_raw()
                    seen = await read_until(body, 2)
                    assert (await http.post(f"{url}/chat/{serving}-2/cancel")).status_code == 202, serving
                    seen += b"".join([chunk async for chunk in body])
            assert status == 200, serving
            assert_resumed(first, rest, TOKENS)
            assert json.loads(parse(seen).messages[-2])["code"] == "cancelled", serving
