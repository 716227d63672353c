"""A thread's record, below any server: changes made at once each kept (a store that pauses in every call, as
PostgreSQL's does), its streams in the order their runs were made, those going on or waiting never forgotten,
and the threads runs wait on found whatever their status."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langgraph.store.memory import InMemoryStore

from quart_llmstream.run.threads import records as records_module
from quart_llmstream.run.threads.records import ThreadRecords

from fakes import PausingStore


async def test_changes_made_at_once_are_each_kept() -> None:
    records = ThreadRecords(PausingStore())
    await records.started("alice", "t1", "hello", "run-0", "run-0")
    queued = [f"q{n}" for n in range(6)]
    await asyncio.gather(
        *(records.queued("alice", "t1", "next", run_id) for run_id in queued),
        records.rename("alice", "t1", "Trip"),
    )
    record = await records.get("alice", "t1")
    assert record is not None and sorted(record.queued) == queued and record.title == "Trip"
    assert set(record.streams) == {"run-0", *queued} and record.status == "busy"
    assert records._locks == {}, "no lock is kept once nobody waits on it"


async def test_streams_keep_the_order_runs_were_made_in_and_only_finished_ones_are_forgotten(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(records_module, "_KEPT_STREAMS", 2)
    records = ThreadRecords(InMemoryStore())
    await records.started("alice", "t1", "hello", "s0", "s0")
    await records.ended("alice", "t1", "idle", "s0")
    await records.started("alice", "t1", "again", "s1", "s1")
    gone = [await records.queued("alice", "t1", "later", run_id) for run_id in ("q1", "q2", "q3")]
    _, started_gone = await records.started("alice", "t1", "later", "q2", "q2")  # out of order (leases)
    record = await records.get("alice", "t1")
    assert gone == [["s0"], [], []] and started_gone == [], "only the finished s0 went; s1 and the queued stay"
    assert record is not None and record.streams == ("s1", "q1", "q2", "q3") and record.queued == ("q1", "q3")


async def test_threads_whose_runs_wait_are_found_whatever_their_status() -> None:
    records = ThreadRecords(InMemoryStore())
    await records.started("alice", "t1", "hello", "s0", "s0")
    await records.queued("alice", "t1", "next", "q1")
    await records.ended("alice", "t1", "idle", "s0")  # between two runs: idle, one still waiting
    await records.started("alice", "t2", "hello", "s2", "s2")
    await records.queued("bob", "t3", "next", "q3")
    waiting = await records.waiting("alice")
    await records.unqueued("alice", "t1", "q1")
    assert [(r.thread_id, r.status, r.queued) for r in waiting] == [("t1", "idle", ("q1",))]
    assert await records.waiting("alice") == []


async def test_threads_are_listed_in_the_order_asked_each_owner_only_their_own() -> None:
    records = ThreadRecords(InMemoryStore())
    for name in ("t-b", "t-a", "t-c"):
        await records.create("alice", name, {})
    await records.ended("alice", "t-a", "interrupted")
    await records.create("bob", "t-0", {})
    by_id = [await records.page("alice", 2, offset, order=("thread_id", False)) for offset in (0, 2)]
    newest_made = await records.page("alice", 10, 0, order=("created_at", True))
    by_status = await records.page("alice", 1, 0, order=("status", True))
    assert [([r.thread_id for r in page], more) for page, more in by_id] == [(["t-a", "t-b"], True), (["t-c"], False)]
    assert [r.thread_id for r in newest_made[0]] == ["t-c", "t-a", "t-b"]
    assert [r.thread_id for r in by_status[0]] == ["t-a"] and by_status[1] is True


async def test_a_full_page_says_nothing_follows_it_in_either_order() -> None:
    """A next page is promised only when there is one: a page exactly full is the last."""
    records = ThreadRecords(InMemoryStore())
    for name in ("t1", "t2", "t3"):
        await records.create("alice", name, {})
    latest, by_id = await records.page("alice", 3, 0), await records.page("alice", 3, 0, order=("thread_id", False))
    assert [(len(page), more) for page, more in (latest, by_id)] == [(3, False), (3, False)]


async def test_a_run_that_ends_or_is_forgotten_leaves_no_trace_of_itself_going_or_waiting() -> None:
    records = ThreadRecords(InMemoryStore())
    await records.started("alice", "t1", "hello", "s0", "s0")
    going = await records.get("alice", "t1")
    await records.ended("alice", "t1", "idle", "s0")
    ended = await records.get("alice", "t1")
    await records.queued("alice", "t1", "next", "q1")
    await records.forget_stream("alice", "t1", "q1", None)  # deleted, or rolled back, before its turn came
    forgotten = await records.get("alice", "t1")
    assert going is not None and (going.run_id, going.stream_id) == ("s0", "s0")
    assert ended is not None and (ended.run_id, ended.stream_id, ended.status) == (None, None, "idle")
    assert forgotten is not None and forgotten.queued == () and "q1" not in forgotten.streams


class _SlowWrites(InMemoryStore):
    """A store whose writes take a while: a change has read the record and not yet written it."""

    async def aput(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0.05)
        await super().aput(*args, **kwargs)


async def test_a_change_read_before_a_delete_never_writes_the_record_back() -> None:
    records = ThreadRecords(_SlowWrites())
    await records.started("alice", "t1", "hello", "s0", "s0")
    renaming = asyncio.create_task(records.rename("alice", "t1", "Trip"))
    await asyncio.sleep(0.01)  # it has read the record; its write is on the way
    await records.delete("alice", "t1")
    await renaming
    assert await records.get("alice", "t1") is None, "the rename came first; the delete after it"
    assert await records.rename("alice", "t1", "later") is None and await records.get("alice", "t1") is None
    assert records._locks == {}


async def test_a_run_queued_on_a_thread_that_must_be_there_makes_no_record_of_a_deleted_one() -> None:
    """LangGraph's runs (``if_not_exists: reject``) queued as the thread is deleted: the run finds no thread."""
    records = ThreadRecords(InMemoryStore())
    await records.queued("alice", "gone", "hello", "q1", make=False)
    await records.queued("alice", "new", "hello", "q2")  # a run that makes its thread: the record is made
    assert await records.get("alice", "gone") is None
    made = await records.get("alice", "new")
    assert made is not None and made.queued == ("q2",)
