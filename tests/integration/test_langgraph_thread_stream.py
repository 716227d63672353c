"""A thread's stream (``GET /threads/{id}/stream``), driven by LangGraph's Python client (``threads.join_stream``)
against a real server: every run on the thread in the order they were made, each run's frames whole and a
``run_done`` after each; a client back with its last id gets the rest; another owner's thread a ``404``; it ends
when the thread is deleted and when the server shuts down. (What LangGraph's own server sends is compared in
``test_langgraph_reference.py``.)"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError

from quart_llmstream import drain

from helpers import running
from test_langgraph_protocol import ALICE, BOB, ask, langgraph_app

DONE = "run_done"
SLOW = "a question answered slowly, word by word, for a second or so"


async def listen(client: Any, thread: str, into: list[Any], **options: Any) -> None:
    async for part in await client.threads.join_stream(thread, **options):
        into.append(part)


async def until(check: Any, seconds: float = 10) -> None:
    for _ in range(int(seconds * 20)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not in time")


def dones(parts: list[Any]) -> list[str]:
    return [part.data["run_id"] for part in parts if part.event == "metadata" and part.data.get("status") == DONE]


async def test_a_threads_stream_sends_each_run_whole_in_turn_and_a_client_back_with_its_id_gets_the_rest() -> None:
    app, _ = langgraph_app(delay=0.05)
    async with running(app) as url:
        client = get_client(url=f"{url}/lg", headers=ALICE)
        thread = (await client.threads.create())["thread_id"]
        first: list[Any] = []
        follower = asyncio.create_task(listen(client, thread, first))
        await asyncio.sleep(0.5)  # joined
        modes = ["values", "messages-tuple"]
        one = await client.runs.create(thread, "reviewer", input=ask(SLOW), stream_mode=modes)
        two = await client.runs.create(thread, "reviewer", input=ask("then this"), multitask_strategy="enqueue")
        late: list[Any] = []  # joined while the first run is going on
        await until(lambda: len(first) > 3)
        late_follower = asyncio.create_task(listen(client, thread, late))
        await until(lambda: len(dones(first)) == 2 and len(dones(late)) == 2)
        back: list[Any] = []  # a client back after an event of the first run's
        middle = len(first) // 3
        back_follower = asyncio.create_task(listen(client, thread, back, last_event_id=first[middle].id))
        await until(lambda: len(dones(back)) == 2)
        for task in (follower, late_follower, back_follower):
            task.cancel()
    runs = [part.data["run_id"] for part in first if part.event == "metadata" and "attempt" in part.data]
    assert runs == [one["run_id"], two["run_id"]] and dones(first) == runs  # in turn: a run's end, then the next
    owners = [part.id.rpartition(":")[0] for part in first]
    assert owners == sorted(owners, key=runs.index), "no frame of the second run before the first's end"
    for run in runs:
        numbers = [int(part.id.rpartition(":")[2]) for part in first if part.id.startswith(f"{run}:")]
        assert numbers == sorted(set(numbers)) and numbers[0] == 1
    tokens = [part.data[0]["content"] for part in first if part.event == "messages" and part.id.startswith(runs[0])]
    assert "".join(tokens) == f"Answer to {SLOW}" and len(tokens) > 3  # word by word
    values = [part.data for part in first if part.event == "values"]
    assert values[-1]["messages"][-1]["content"] == "Answer to then this"
    assert [(p.event, p.data, p.id) for p in late] == [(p.event, p.data, p.id) for p in first], "from the run's start"
    assert [(p.event, p.data, p.id) for p in back] == [(p.event, p.data, p.id) for p in first[middle + 1 :]]


async def test_a_threads_stream_is_its_owners_own_checked_and_ends_with_the_thread_or_the_server() -> None:
    app, _ = langgraph_app(delay=0.05)
    async with running(app) as url:
        alice, bob = get_client(url=f"{url}/lg", headers=ALICE), get_client(url=f"{url}/lg", headers=BOB)
        thread = (await alice.threads.create())["thread_id"]
        with pytest.raises(NotFoundError):
            await listen(bob, thread, [])
        async with httpx.AsyncClient(base_url=f"{url}/lg", headers=ALICE) as http:
            unknown_mode = await http.get(f"/threads/{thread}/stream", params={"stream_modes": "everything"})
            bad_id = await http.get(f"/threads/{thread}/stream", headers={"Last-Event-ID": "not an id"})
        lifecycle: list[Any] = []
        ended = asyncio.create_task(listen(alice, thread, lifecycle, stream_mode="lifecycle"))  # as the SDKs send it
        await asyncio.sleep(0.5)
        await alice.runs.wait(thread, "reviewer", input=ask("hello"))
        await until(lambda: len(dones(lifecycle)) == 1)
        await alice.threads.delete(thread)
        await asyncio.wait_for(ended, 5)  # the thread is gone: so is its stream

        thread = (await alice.threads.create())["thread_id"]
        shut: list[Any] = []
        shut_down = asyncio.create_task(listen(alice, thread, shut))
        await asyncio.sleep(0.5)
        await alice.runs.create(thread, "reviewer", input=ask("a long question " * 30), stream_mode="messages-tuple")
        await until(lambda: any(part.event == "messages" for part in shut))
        await drain(app, timeout=5)
        await asyncio.wait_for(shut_down, 5)
    assert unknown_mode.status_code == 422 and unknown_mode.json() == {"detail": "Invalid stream mode: everything"}
    assert bad_id.status_code == 422 and "Last-Event-ID" in bad_id.json()["detail"]
    assert [(part.event, set(part.data)) for part in lifecycle] == [
        ("metadata", {"run_id", "attempt"}),
        ("metadata", {"run_id", "status"}),
    ]
    assert [part.event for part in shut[-2:]] == ["error", "metadata"] and shut[-2].data["error"] == "shutdown"
    assert dones(shut) == [shut[0].data["run_id"]], "the run's end, then the stream's"


async def test_without_its_runs_kept_a_thread_has_no_stream_to_join() -> None:
    app, _ = langgraph_app(resume=None)
    async with running(app) as url:
        client = get_client(url=f"{url}/lg", headers=ALICE)
        thread = (await client.threads.create())["thread_id"]
        async with httpx.AsyncClient(base_url=f"{url}/lg", headers=ALICE) as http:
            refused = await http.get(f"/threads/{thread}/stream")
    assert refused.status_code == 404 and "resume" in refused.json()["detail"]


async def test_a_threads_stream_and_a_runs_join_are_each_an_owners_stream_held_to_their_share() -> None:
    app, _ = langgraph_app(max_streams_per_owner=1)
    async with running(app) as url:
        client = get_client(url=f"{url}/lg", headers=ALICE)
        thread = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread, "reviewer", input=ask("hello"))
        [made] = await client.runs.list(thread)
        async with httpx.AsyncClient(base_url=f"{url}/lg", headers=ALICE) as http:
            async with http.stream("GET", f"/threads/{thread}/stream") as following:
                assert following.status_code == 200
                second = await http.get(f"/threads/{thread}/stream")
                joined = await http.get(f"/threads/{thread}/runs/{made['run_id']}/stream")
                others = await http.get(f"/threads/{thread}/runs/{made['run_id']}/stream", headers=BOB)
            await asyncio.sleep(0.3)  # the first one's end counted out
            after = await http.get(f"/threads/{thread}/runs/{made['run_id']}/stream")
    assert second.status_code == joined.status_code == 429, "one stream or follower at a time: the share"
    assert others.status_code == 404, "another owner's share is another count; the thread is not theirs"
    assert after.status_code == 200 and "event: metadata" in after.text
