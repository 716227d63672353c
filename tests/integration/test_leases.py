"""Holds across processes as leases in a shared store (Redis, a cluster's included, and PostgreSQL): two stores'
worth of holds stand for two processes. A second run is refused, waits, or stops the first, which hears of it at its
next renewal; a holder that stops renewing (a killed process) frees the thread within the lease."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from quart_llmstream.errors import RequestError
from quart_llmstream.run.threads.leases import LeaseHolds, PostgresHolds, RedisHolds
from quart_llmstream.run.threads.records import ThreadRecords

from fakes import PausingStore
from helpers import redis_cluster, redis_server
from postgres import postgres_server


@asynccontextmanager
async def two_processes(store: str) -> AsyncIterator[tuple[LeaseHolds, LeaseHolds]]:
    """Two processes' holds on one store, with a lease of a second."""
    if store == "postgres":
        async with postgres_server() as url:
            first = PostgresHolds(url, lease=1.0)
            await first.busy("x")  # its table, made before the second process asks
            holds: tuple[LeaseHolds, LeaseHolds] = (first, PostgresHolds(url, lease=1.0))
            yield holds
    elif store == "redis-cluster":
        async with redis_cluster() as urls:
            from redis.asyncio.cluster import RedisCluster

            holds = (
                RedisHolds(RedisCluster.from_url(urls[0]), lease=1.0),
                RedisHolds(RedisCluster.from_url(urls[1]), lease=1.0),
            )
            yield holds
    else:
        async with redis_server() as url:
            holds = (RedisHolds(url, lease=1.0), RedisHolds(url, lease=1.0))
            yield holds
    for held in holds:
        await held.close()


STORES = ["redis", "redis-cluster", "postgres"]


async def taken_once_free(holds: LeaseHolds, thread: str, run: str, within: float) -> Any:
    """The thread taken by ``run`` as soon as it is free, which it must be ``within`` seconds."""
    asked = time.monotonic()
    while True:
        try:
            return await holds.take(None, thread, run)
        except RequestError:
            assert time.monotonic() - asked < within
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("store", STORES)
async def test_a_second_run_elsewhere_is_refused_waits_or_stops_the_first(store: str) -> None:
    async with two_processes(store) as (one, two):
        first = await one.take(None, "alice:t1", "run-1")
        with pytest.raises(RequestError) as refused:
            await two.take(None, "alice:t1", "run-2", "reject")
        assert refused.value.status == 409 and await two.busy("alice:t1") and not await two.busy("alice:t2")
        other = await two.take(None, "alice:t2", "run-3")  # another thread is free
        stopped = asyncio.Event()
        first.on_stop(stopped.set)
        taking = asyncio.create_task(two.take(None, "alice:t1", "run-4", "interrupt"))
        await asyncio.wait_for(stopped.wait(), 2)  # heard at the holder's next renewal, a fifth of the lease
        assert not taking.done()
        await first.release()
        second = await asyncio.wait_for(taking, 2)
        assert second.stopped_runs == ("run-1",) and second.waited and not first.waited and not other.waited
        waiting = asyncio.create_task(one.take(None, "alice:t1", "run-5", "enqueue"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await second.release()
        third = await asyncio.wait_for(waiting, 2)
        assert third.waited, "a run that waited its turn knows it (the thread may have been deleted meanwhile)"
        assert await two.stop("alice:t1", "run-4") is False, "a stop by a run's name stops only that run"
        assert await two.stop("alice:t1", "run-5") is True
        for held in (third, other):
            await held.release()
        assert not await one.busy("alice:t1")


@pytest.mark.parametrize("store", STORES)
async def test_a_holder_that_stops_renewing_frees_the_thread_within_its_lease(store: str) -> None:
    async with two_processes(store) as (one, two):
        held: Any = await one.take(None, "alice:t1", "run-1")
        held._renewing.cancel()  # the process is gone: nothing renews, nothing frees
        gone = time.monotonic()
        taken = await taken_once_free(two, "alice:t1", "run-2", within=2.0)
        assert 0.5 < time.monotonic() - gone <= 1.5
        await taken.release()
        held = await one.take(None, "alice:t2", "run-3")
        held._renewing.cancel()
        while await two.busy("alice:t2"):
            await asyncio.sleep(0.05)
        assert await two.stop("alice:t2") is False, "a lapsed lease is no run to stop"
        await (await two.take(None, "alice:t2", "run-4")).release()


@pytest.mark.parametrize("store", STORES)
async def test_a_holder_cut_off_longer_than_its_lease_is_stopped_and_its_release_frees_nothing(store: str) -> None:
    """A store away from one process for longer than the lease: another takes the thread; the first run, back,
    hears its lease is lost and stops, and its release leaves the new holder's lease alone — never two runs."""
    async with two_processes(store) as (one, two):
        held = await one.take(None, "alice:t1", "run-1")
        stopped = asyncio.Event()
        held.on_stop(stopped.set)
        renew = one._renew

        async def away(*_: Any) -> Any:
            raise ConnectionError("the store is away")

        one._renew = away  # type: ignore[method-assign]
        taken = await taken_once_free(two, "alice:t1", "run-2", within=3.0)
        one._renew = renew  # type: ignore[method-assign]  # back: its next renewal finds the lease another's
        await asyncio.wait_for(stopped.wait(), 2)
        await held.release()
        assert await one.busy("alice:t1"), "the first run's release left the new holder's lease alone"
        with pytest.raises(RequestError):
            await one.take(None, "alice:t1", "run-3")
        await taken.release()
        assert not await one.busy("alice:t1")


@pytest.mark.parametrize("store", STORES)
async def test_a_holder_whose_store_stalls_is_stopped_before_another_can_take_the_thread(store: str) -> None:
    """A store that answers nothing (a hung connection, not a refused one): the run stops as its lease runs out,
    without waiting for the store to answer, so it never runs beside the next holder."""
    async with two_processes(store) as (one, two):
        held = await one.take(None, "alice:t1", "run-1")
        stopped_at: list[float] = []
        held.on_stop(lambda: stopped_at.append(time.monotonic()))

        async def stalled(*_: Any) -> Any:
            await asyncio.sleep(3600)

        one._renew = stalled  # type: ignore[method-assign]
        taken = await taken_once_free(two, "alice:t1", "run-2", within=3.0)
        taken_at = time.monotonic()
        assert stopped_at and stopped_at[0] <= taken_at, "stopped before the thread was free for another"
        await taken.release()
        await held.release()


@pytest.mark.parametrize("store", STORES)
async def test_a_run_that_takes_the_thread_while_an_interrupt_waits_is_stopped_too(store: str) -> None:
    async with two_processes(store) as (one, two):
        two.poll = 0.3  # the waiter asks seldom: a run elsewhere takes the thread between its asks
        first = await one.take(None, "alice:t1", "run-1")
        asked = asyncio.Event()
        first.on_stop(asked.set)
        taking = asyncio.create_task(two.take(None, "alice:t1", "run-2", "interrupt"))  # a deletion, say
        await asyncio.wait_for(asked.wait(), 2)
        await first.release()  # the first run stops
        thief = await one.take(None, "alice:t1", "run-3")  # a client's next turn, sent again on its 409
        stopped = asyncio.Event()
        thief.on_stop(stopped.set)
        await asyncio.wait_for(stopped.wait(), 2)
        await thief.release()
        second = await asyncio.wait_for(taking, 2)
        assert second.stopped_runs == ("run-1", "run-3"), "a rollback goes back to before every run it stopped"
        await second.release()


@pytest.mark.parametrize("store", STORES)
async def test_changes_to_a_record_made_at_once_on_two_processes_are_each_kept(store: str) -> None:
    """A store has no partial update: each process reads, changes and writes a record, under a lease on it."""
    shared = PausingStore()  # the database both processes' stores talk to
    async with two_processes(store) as (one, two):
        here, there = ThreadRecords(shared, one), ThreadRecords(shared, two)
        await here.started("alice", "t1", "hello", "run-0", "run-0")
        queued = [f"q{n}" for n in range(8)]
        await asyncio.gather(
            *(
                records.queued("alice", "t1", "next", run_id)
                for records, run_id in zip([here, there] * 4, queued, strict=True)
            ),
            there.rename("alice", "t1", "Trip"),
            here.ended("alice", "t1", "idle", "run-0"),
        )
        record = await here.get("alice", "t1")
        assert record is not None and sorted(record.queued) == queued and record.title == "Trip"
        assert record.status == "idle" and set(record.streams) == {"run-0", *queued}
        assert not await one.busy("alice:t1/record"), "the record's lease is let go"


async def test_after_the_database_dropped_every_connection_the_next_hold_is_taken_all_the_same() -> None:
    """A restart of PostgreSQL closes the pool's connections under it: none is handed out broken (a ``500``)."""
    from postgres import rows

    async with postgres_server() as url:
        holds = PostgresHolds(url)
        try:
            await (await holds.take(None, "t1", "r1")).release()
            others = "pid <> pg_backend_pid() AND backend_type = 'client backend'"
            await rows(url, f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {others}")
            held = await holds.take(None, "t1", "r2")
            assert await holds.busy("t1")
            await held.release()
        finally:
            await holds.close()
