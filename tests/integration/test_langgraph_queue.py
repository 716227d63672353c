"""Runs that wait their turn (``multitask_strategy="enqueue"`` while a run is on the thread), driven by LangGraph's
Python client against a real server: in the background (``runs.create``) answered at once as ``pending``; streamed
or waited for (``runs.stream``, ``runs.wait``) followed from their request; either way listed and read so, joined,
cancelled by id, with ``/runs/cancel``'s ``status: pending`` or by a run that interrupts before they start (and
then they never run), refused when their turn comes if their input no longer fits the thread, and cancelled with
their thread when it is deleted."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langgraph_sdk import get_client

from helpers import running
from test_langgraph_protocol import ALICE, BOB, langgraph_app

LONG = {"messages": [{"role": "user", "content": "a long question " * 20}]}  # paced: about two seconds


async def busy_thread(client: Any) -> tuple[str, dict[str, Any]]:
    """A new thread with a paced run under way on it (the run before the queued ones)."""
    thread = (await client.threads.create())["thread_id"]
    first = await client.runs.create(thread, "reviewer", input=LONG, stream_mode="messages-tuple")
    await asyncio.sleep(0.2)
    return thread, first


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def test_a_queued_run_is_answered_at_once_listed_pending_and_runs_when_its_turn_comes() -> None:
    app, _ = langgraph_app(delay=0.05)
    async with running(app) as url:
        client = get_client(url=f"{url}/lg", headers=ALICE)
        thread, first = await busy_thread(client)
        began = time.monotonic()
        queued = await client.runs.create(thread, "reviewer", input=ask("next"), multitask_strategy="enqueue")
        answered_in = time.monotonic() - began
        read = await client.runs.get(thread, queued["run_id"])
        listed = [(run["run_id"], run["status"]) for run in await client.runs.list(thread)]
        joined = [part.event async for part in client.runs.join_stream(thread, queued["run_id"])]
        ended = await client.runs.get(thread, queued["run_id"])
        first_ended = await client.runs.get(thread, first["run_id"])
        state = await client.threads.get_state(thread)
    assert answered_in < 1.0, "its request did not wait for the run before it"
    assert queued["status"] == read["status"] == "pending"
    assert listed == [(queued["run_id"], "pending"), (first["run_id"], "running")]
    assert joined[0] == "metadata" and "values" in joined and "error" not in joined
    assert ended["status"] == first_ended["status"] == "success"
    asked = [message["content"] for message in state["values"]["messages"] if message["type"] == "human"]
    assert asked == [LONG["messages"][0]["content"], "next"], "in order: the queued run after the first"


async def test_a_queued_run_cancelled_before_its_turn_never_runs() -> None:
    app, _ = langgraph_app(delay=0.05)
    async with running(app) as url:
        client, bob = get_client(url=f"{url}/lg", headers=ALICE), get_client(url=f"{url}/lg", headers=BOB)
        thread, first = await busy_thread(client)
        by_id = await client.runs.create(thread, "reviewer", input=ask("by id"), multitask_strategy="enqueue")
        by_status = await client.runs.create(thread, "reviewer", input=ask("by status"), multitask_strategy="enqueue")
        kept = await client.runs.create(thread, "reviewer", input=ask("kept"), multitask_strategy="enqueue")
        refused_for_bob = await _status(bob.runs.cancel(thread, by_id["run_id"])) == 404
        await client.runs.cancel(thread, by_id["run_id"], wait=True)
        cancelled = await client.runs.get(thread, by_id["run_id"])
        joined = [(part.event, part.data) async for part in client.runs.join_stream(thread, by_id["run_id"])]
        await client.runs.cancel_many(status="pending")  # the waiting ones; the first goes on
        first_now = await client.runs.get(thread, first["run_id"])
        await client.runs.join(thread, first["run_id"])
        statuses = {run["run_id"]: run["status"] for run in await client.runs.list(thread)}
        state = await client.threads.get_state(thread)
    assert refused_for_bob, "another owner cannot name the run"
    assert cancelled["status"] == "interrupted"
    assert joined == [], "a run stopped before it started says nothing, as on LangGraph's server"
    assert first_now["status"] == "running"
    assert statuses[by_status["run_id"]] == statuses[kept["run_id"]] == "interrupted"
    assert statuses[first["run_id"]] == "success"
    asked = [message["content"] for message in state["values"]["messages"] if message["type"] == "human"]
    assert asked == [LONG["messages"][0]["content"]], "no cancelled run ran"


async def test_a_queued_run_whose_input_no_longer_fits_ends_with_an_error_and_the_thread_deleted_takes_its_queue() -> (
    None
):
    ran: list[str] = []  # the questions of the runs that started (on_end: a run that never started has no end)
    app, review = langgraph_app(delay=0.05, on_end=lambda chat_request, _: ran.append(chat_request.question))
    async with running(app) as url:
        client = get_client(url=f"{url}/lg", headers=ALICE)
        thread, _ = await busy_thread(client)
        resume = await client.runs.create(thread, "reviewer", command={"resume": "yes"}, multitask_strategy="enqueue")
        await client.runs.join(thread, resume["run_id"])
        refused = await client.runs.get(thread, resume["run_id"])
        frames = [(part.event, part.data) async for part in client.runs.join_stream(thread, resume["run_id"])]
        other, _ = await busy_thread(client)
        await client.runs.create(other, "reviewer", input=ask("never"), multitask_strategy="enqueue")
        await client.threads.delete(other)
        await asyncio.sleep(0.5)  # a queued run left to start would have begun the thread again by now
    assert refused["status"] == "error"
    assert frames[-1][0] == "error" and frames[-1][1]["error"] == "conflict"
    left = review.graph.checkpointer.storage.get(f"alice:{other}", {})
    assert not any(left.values()) and "never" not in ran, "the queued run of the deleted thread never started"


async def test_an_interrupt_stops_the_runs_waiting_too_and_a_waiting_run_is_cancelled_kept_or_deleted() -> None:
    app, _ = langgraph_app(delay=0.05)
    async with running(app) as url:
        client = get_client(url=f"{url}/lg", headers=ALICE)
        thread, first = await busy_thread(client)
        waiting = [
            await client.runs.create(thread, "reviewer", input=ask(f"q{n}"), multitask_strategy="enqueue")
            for n in range(4)
        ]
        await client.runs.cancel(thread, waiting[0]["run_id"], action="rollback")  # it wrote nothing: kept
        await client.runs.delete(thread, waiting[1]["run_id"])
        deleted = await _status(client.runs.get(thread, waiting[1]["run_id"]))
        stopping = await client.runs.create(thread, "reviewer", input=ask("now"), multitask_strategy="interrupt")
        await client.runs.join(thread, stopping["run_id"])
        statuses = {run["run_id"]: run["status"] for run in await client.runs.list(thread)}
        state = await client.threads.get_state(thread)
    assert deleted == 404 and waiting[1]["run_id"] not in statuses
    assert [statuses[run["run_id"]] for run in (first, waiting[0], waiting[2], waiting[3])] == ["interrupted"] * 4
    assert statuses[stopping["run_id"]] == "success"
    asked = [message["content"] for message in state["values"]["messages"] if message["type"] == "human"]
    assert asked == [LONG["messages"][0]["content"], "now"], "as LangGraph's server: the waiting runs never ran"


async def test_a_streamed_or_waited_run_that_waits_is_listed_pending_and_an_interrupt_cancels_it() -> None:
    """As LangGraph's server: an interrupt stops the run going on and those waiting, whichever request waits on them;
    a stream stopped so ends quietly (no ``error`` event), one that never started with no frame at all."""
    app, _ = langgraph_app(delay=0.05)
    async with running(app) as url:
        client = get_client(url=f"{url}/lg", headers=ALICE)
        thread = (await client.threads.create())["thread_id"]
        paced = client.runs.stream(thread, "reviewer", input=LONG, stream_mode=["values", "messages-tuple"])
        first = asyncio.create_task(_read_all(paced))
        await asyncio.sleep(0.3)
        streamed = asyncio.create_task(
            _read_all(client.runs.stream(thread, "reviewer", input=ask("streamed"), multitask_strategy="enqueue"))
        )
        waited = asyncio.create_task(
            client.runs.wait(thread, "reviewer", input=ask("waited"), multitask_strategy="enqueue")
        )
        await asyncio.sleep(0.3)
        listed = [run["status"] for run in await client.runs.list(thread)]
        stopping = await client.runs.create(thread, "reviewer", input=ask("now"), multitask_strategy="interrupt")
        await client.runs.join(thread, stopping["run_id"])
        first_frames, streamed_frames, waited_values = await asyncio.gather(first, streamed, waited)
        statuses = [run["status"] for run in await client.runs.list(thread)]
        state = await client.threads.get_state(thread)
    assert listed == ["pending", "pending", "running"]
    assert statuses == ["success", "interrupted", "interrupted", "interrupted"]
    first_events = [part.event for part in first_frames]
    assert first_events[0] == "metadata" and "messages" in first_events and "error" not in first_events
    assert streamed_frames == [] and waited_values == {}
    asked = [message["content"] for message in state["values"]["messages"] if message["type"] == "human"]
    assert asked == [LONG["messages"][0]["content"], "now"], "the waiting runs never ran"


async def test_without_a_stream_store_a_run_that_must_wait_waits_in_its_request() -> None:
    """Nothing could follow or cancel it in the background: its request is answered once it has started."""
    app, _ = langgraph_app(delay=0.05, resume=None)
    async with running(app) as url:
        client = get_client(url=f"{url}/lg", headers=ALICE)
        thread = (await client.threads.create())["thread_id"]
        first = asyncio.create_task(
            _read_all(client.runs.stream(thread, "reviewer", input=LONG, stream_mode="messages-tuple"))
        )
        await asyncio.sleep(0.3)
        began = time.monotonic()
        await client.runs.create(thread, "reviewer", input=ask("next"), multitask_strategy="enqueue")
        waited = time.monotonic() - began
        await first
    assert waited > 0.5, "it waited for the run before it"


async def _read_all(stream: Any) -> list[Any]:
    return [part async for part in stream]


async def _status(call: Any) -> Any:
    try:
        return await call
    except Exception as error:  # the SDK's NotFoundError
        return getattr(getattr(error, "response", None), "status_code", None)
