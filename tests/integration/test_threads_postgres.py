"""Threads on a real PostgreSQL shared by two Hypercorn processes: a thread started on one is read, continued,
listed and deleted on the other (nothing of it left in the database or in Redis); two turns sent at once to the
two processes obey the strategy (``reject``: one ``409``; ``enqueue``: both, in order; ``interrupt`` and
``rollback``: the first stopped, its work kept or dropped); a holder killed with SIGKILL frees the thread within
its lease."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest

from helpers import app_process, redis_server
from postgres import postgres_server, prepare, rows

ALICE, BOB = {"X-User": "alice"}, {"X-User": "bob"}


@asynccontextmanager
async def deployment(delay: float = 0.01, redis: bool = False) -> AsyncIterator[tuple[str, list[Any], str, str]]:
    """PostgreSQL (and Redis), and two app processes on it; yields the database URL, the processes' (url,
    process) pairs, and the Redis URL (or "")."""
    async with AsyncExitStack() as stack:
        database = await stack.enter_async_context(postgres_server())
        redis_url = await stack.enter_async_context(redis_server()) if redis else ""
        await prepare(database)
        env = {"DATABASE_URL": database, "DELAY": str(delay), "REDIS_URL": redis_url, "LEASE": "2"}
        servers = [await stack.enter_async_context(app_process("pg_app", **env)) for _ in range(2)]
        yield database, servers, redis_url, ""


def question(text: str, thread: str = "t1") -> dict[str, Any]:
    return {"question": text, "thread_id": thread}


async def state_texts(http: httpx.AsyncClient, url: str, thread: str = "t1") -> list[tuple[str, str]]:
    read = (await http.get(f"{url}/reject/chat/threads/{thread}", headers=ALICE)).json()
    return [(message["role"], message["content"]) for message in read["messages"]]


async def test_a_thread_started_on_one_process_is_read_continued_listed_and_deleted_on_the_other() -> None:
    async with deployment(redis=True) as (database, servers, redis_url, _), httpx.AsyncClient(timeout=30) as http:
        (one, _), (two, _) = servers
        first = await http.post(f"{one}/reject/chat", json=question("hello"), headers=ALICE)
        read = (await http.get(f"{two}/reject/chat/threads/t1", headers=ALICE)).json()
        body = question("and again") | {"chat_history": read["messages"]}
        second = await http.post(f"{two}/enqueue/chat", json=body, headers=ALICE)
        listed = (await http.get(f"{one}/reject/chat/threads", headers=ALICE)).json()
        texts = await state_texts(http, one)
        by_bob = (await http.get(f"{two}/reject/chat/threads/t1", headers=BOB)).status_code
        stream_keys = await _redis_keys(redis_url)
        deleted = await http.delete(f"{two}/reject/chat/threads/t1", headers=ALICE)
        gone = (await http.get(f"{one}/reject/chat/threads/t1", headers=ALICE)).status_code
        left = {
            table: await rows(database, f"SELECT count(*) FROM {table} WHERE thread_id = %s", "alice:t1")
            for table in ("checkpoints", "checkpoint_writes", "checkpoint_blobs")
        }
        records = await rows(database, "SELECT count(*) FROM store WHERE key = %s", "t1")
        after_keys = await _redis_keys(redis_url)
    assert first.status_code == second.status_code == 200
    assert [role for role, _ in texts] == ["user", "assistant", "user", "assistant"]
    assert texts[0][1] == "hello" and texts[2][1] == "and again" and texts[3][1].startswith("Answer to and again")
    assert [(t["thread_id"], t["title"], t["status"]) for t in listed["threads"]] == [("t1", "hello", "idle")]
    assert by_bob == 404 and deleted.status_code == 204 and gone == 404
    assert left == {table: [(0,)] for table in left} and records == [(0,)]
    assert any("alice:" in key for key in stream_keys), "the runs' streams were kept in Redis"
    assert not [key for key in after_keys if "alice:" in key], after_keys


async def _redis_keys(url: str) -> list[str]:
    import redis.asyncio

    client = redis.asyncio.from_url(url)
    try:
        return [key.decode() for key in await client.keys("llmstream:*")]
    finally:
        await client.aclose()


async def two_at_once(http: httpx.AsyncClient, servers: list[Any], path: str, texts: tuple[str, str]) -> list[Any]:
    (one, _), (two, _) = servers
    return list(
        await asyncio.gather(
            http.post(f"{one}{path}", json=question(texts[0]), headers=ALICE),
            http.post(f"{two}{path}", json=question(texts[1]), headers=ALICE),
        )
    )


async def test_reject_two_turns_at_once_on_two_processes_one_runs_and_one_is_refused_fifty_times() -> None:
    async with deployment(delay=0.005) as (_database, servers, _, _), httpx.AsyncClient(timeout=30) as http:
        accepted = []
        for round in range(50):
            answers = await two_at_once(http, servers, "/reject/chat", (f"a{round}", f"b{round}"))
            statuses = sorted(answer.status_code for answer in answers)
            assert statuses == [200, 409], (round, [a.text for a in answers])
            refused = next(answer for answer in answers if answer.status_code == 409)
            assert refused.json()["error"] == "conflict"
            accepted.append(next(a for a in answers if a.status_code == 200).request.content)
        texts = await state_texts(http, servers[0][0])
    asked = [text for role, text in texts if role == "user"]
    assert asked == [json.loads(body)["question"] for body in accepted]  # every accepted turn, once, in order
    assert [role for role, _ in texts] == ["user", "assistant"] * 50


async def test_enqueue_runs_both_turns_one_after_the_other() -> None:
    async with deployment(delay=0.02) as (_database, servers, _, _), httpx.AsyncClient(timeout=30) as http:
        answers = await two_at_once(http, servers, "/enqueue/chat", ("first", "second"))
        texts = await state_texts(http, servers[0][0])
    assert [answer.status_code for answer in answers] == [200, 200]
    assert [role for role, _ in texts] == ["user", "assistant", "user", "assistant"]
    for (_, asked), (_, answered) in zip(texts[::2], texts[1::2], strict=True):
        assert answered.startswith(f"Answer to {asked} ")  # each answer follows its own question


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
async def test_interrupt_stops_the_run_on_the_other_process_and_rollback_drops_what_it_wrote(strategy: str) -> None:
    async with deployment(delay=0.2) as (_database, servers, _, _), httpx.AsyncClient(timeout=30) as http:
        (one, _), (two, _) = servers
        await http.post(f"{one}/reject/chat", json=question("before"), headers=ALICE)
        long = asyncio.create_task(http.post(f"{one}/reject/chat", json=question("long one"), headers=ALICE))
        await asyncio.sleep(0.6)  # the long run is under way on process one
        started = time.monotonic()
        second = await http.post(f"{two}/{strategy}/chat", json=question("cut in"), headers=ALICE)
        took = time.monotonic() - started
        first = await long
        texts = await state_texts(http, one)
    assert second.status_code == 200 and took < 4
    assert '"cancelled"' in first.text and "Answer to long one" not in "".join(t for _, t in texts)
    asked = [text for role, text in texts if role == "user"]
    assert asked == (["before", "long one", "cut in"] if strategy == "interrupt" else ["before", "cut in"])
    assert texts[-1][1].startswith("Answer to cut in")


async def test_a_holder_killed_with_sigkill_frees_the_thread_within_its_lease() -> None:
    async with deployment(delay=0.5) as (_database, servers, _, _), httpx.AsyncClient(timeout=30) as http:
        (one, process), (two, _) = servers
        never = asyncio.create_task(http.post(f"{one}/reject/chat", json=question("never finished"), headers=ALICE))
        await asyncio.sleep(1.0)
        refused = await http.post(f"{two}/reject/chat", json=question("meanwhile"), headers=ALICE)
        process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        while True:
            sent = time.monotonic()
            answer = await http.post(f"{two}/reject/chat", json=question("after"), headers=ALICE)
            if answer.status_code != 409:
                break
            assert sent - killed < 5, "the thread was not freed within the lease (2 s) and a margin"
            await asyncio.sleep(0.1)
        freed = sent - killed  # the answer itself streams for seconds
        with contextlib.suppress(httpx.HTTPError):
            await never
    assert refused.status_code == 409 and answer.status_code == 200 and freed <= 3.0


async def test_runs_of_a_process_killed_with_sigkill_are_listed_as_errors_and_deleted_with_their_thread() -> None:
    """A run going on and one waiting its turn, on a process that dies: listed as ``error`` once their leases run out
    (not ``running`` and ``pending`` for the hour their logs are kept), and a thread's stream joined from its start
    ends each with its ``run_done`` (it does not wait on them for ever); a thread deleted at once leaves nothing of
    its run in Redis (its log is deleted once the dead run's lease has run out)."""
    from langgraph_sdk import get_client
    from redis.asyncio import Redis

    async with deployment(delay=0.5, redis=True) as (_database, servers, redis_url, _):
        (one, process), (two, _) = servers
        here, there = get_client(url=f"{one}/lg", headers=ALICE), get_client(url=f"{two}/lg", headers=ALICE)
        thread = (await here.threads.create())["thread_id"]
        ask = {"messages": [{"role": "user", "content": "a long question " * 5}]}
        going = await here.runs.create(thread, "agent", input=ask, stream_mode="messages-tuple")
        waiting = await here.runs.create(thread, "agent", input=ask, multitask_strategy="enqueue")
        doomed = (await here.threads.create())["thread_id"]
        gone = await here.runs.create(doomed, "agent", input=ask, stream_mode="messages-tuple")
        await asyncio.sleep(0.5)
        process.send_signal(signal.SIGKILL)
        await there.threads.delete(doomed)  # at once, while the dead run's lease runs on
        killed, statuses = time.monotonic(), []
        while time.monotonic() - killed < 12:
            statuses = [run["status"] for run in await there.runs.list(thread)]
            if "running" not in statuses and "pending" not in statuses:
                break
            await asyncio.sleep(0.2)
        done: list[str] = []

        async def join_the_thread() -> None:  # its runs from their starts: each dead one ends with its run_done
            async for part in await there.threads.join_stream(thread, last_event_id="-1"):
                if part.event == "metadata" and part.data.get("status") == "run_done":
                    done.append(part.data["run_id"])
                    if len(done) == 2:
                        return

        await asyncio.wait_for(join_the_thread(), 15)
        redis = Redis.from_url(redis_url)
        left = [key async for key in redis.scan_iter("*") if gone["run_id"].encode() in key]
        await redis.aclose()
    assert statuses == ["error", "error"], (going["run_id"], waiting["run_id"])
    assert done == [going["run_id"], waiting["run_id"]], "a thread's stream gets past runs whose process died"
    assert left == [], "the dead run's log was deleted with its thread"


async def test_langgraph_clients_copy_a_thread_delete_a_run_and_prune_in_the_database_each_owner_their_own() -> None:
    """On ``AsyncPostgresSaver``, which copies and drops runs through this library (it has neither itself), and
    prunes to the latest checkpoint itself: each checked in the database, not only through the API."""
    from langgraph_sdk import get_client

    async def count(table: str, thread: str, run_id: str | None = None) -> int:
        where = "" if run_id is None else " AND metadata->>'run_id' = %s"
        found = await rows(
            database,
            f"SELECT count(*) FROM {table} WHERE thread_id = %s{where}",
            f"alice:{thread}",
            *([run_id] if run_id else []),
        )
        return int(found[0][0])

    ask = lambda text: {"messages": [{"role": "user", "content": text}]}  # noqa: E731
    async with deployment() as (database, servers, _, _):
        (one, _), _two = servers
        alice, bob = get_client(url=f"{one}/lg", headers=ALICE), get_client(url=f"{one}/lg", headers=BOB)
        thread = (await alice.threads.create(metadata={"topic": "tea"}))["thread_id"]
        await alice.runs.wait(thread, "agent", input=ask("hello"))
        after_first = (await alice.threads.get_state(thread))["values"]
        second = await alice.runs.create(thread, "agent", input=ask("and again"))
        await alice.runs.join(thread, second["run_id"])
        copy = (await alice.threads.copy(thread))["thread_id"]
        copied = {
            table: (await count(table, thread), await count(table, copy))
            for table in ("checkpoints", "checkpoint_writes")
        }
        same = (await alice.threads.get_state(copy))["values"] == (await alice.threads.get_state(thread))["values"]
        await alice.runs.wait(copy, "agent", input=ask("on the copy"))
        original = (await alice.threads.get_state(thread))["values"]["messages"]
        by_bob = [await _status(bob.threads.copy(thread)), await _status(bob.runs.delete(thread, second["run_id"]))]
        bob_pruned = await bob.threads.prune([thread, copy])
        second_rows = await count("checkpoints", thread, second["run_id"])
        await alice.runs.delete(thread, second["run_id"])
        after_delete = (await alice.threads.get_state(thread))["values"]
        dropped_rows = await count("checkpoints", thread, second["run_id"])
        kept = await alice.threads.prune([copy], strategy="keep_latest")
        latest_only = await count("checkpoints", copy)
        copy_values = (await alice.threads.get_state(copy))["values"]["messages"]
        pruned = await alice.threads.prune([thread, copy, "t-none"])
        left = [await count("checkpoints", thread), await count("checkpoints", copy)]
    assert copied["checkpoints"][0] == copied["checkpoints"][1] == 6 and same
    assert copied["checkpoint_writes"][0] == copied["checkpoint_writes"][1] > 0
    assert [m["content"] for m in original][-1].startswith("Answer to and again"), "the copy's turn stayed its own"
    assert by_bob == [404, 404] and bob_pruned == {"pruned_count": 0}
    assert second_rows == 3 and dropped_rows == 0 and after_delete == after_first
    assert kept == {"pruned_count": 1} and latest_only == 1 and copy_values[-1]["content"].startswith("Answer to on")
    assert pruned == {"pruned_count": 2} and left == [0, 0]


async def _status(call: Any) -> int:
    try:
        await call
    except httpx.HTTPStatusError as error:
        return error.response.status_code
    return 200


async def test_the_example_app_started_in_four_processes_at_once_on_a_new_database_serves_from_each() -> None:
    """As docs/example-app.md runs it (``--workers 4``): the processes make the tables in turn, not all at once."""
    async with postgres_server() as database, AsyncExitStack() as stack, httpx.AsyncClient(timeout=30) as http:
        env = {"DATABASE_URL": database, "DEMO_SECONDS_PER_TOKEN": "0.001"}
        started = await asyncio.gather(
            *(stack.enter_async_context(app_process("example_app", **env)) for _ in range(4))
        )
        answers = [
            await http.post(f"{url}/api/chat", json={"question": "hello", "thread_id": f"t{n}"})
            for n, (url, _) in enumerate(started)
        ]
        alive = [process.poll() is None for _, process in started]
    assert [answer.status_code for answer in answers] == [200] * 4 and all("[DONE]" in a.text for a in answers)
    assert alive == [True] * 4
