"""The hold on a thread within one process, under each ``multitask_strategy``: who waits, who is stopped, in
what order the thread is handed on, and that a waiter who leaves never keeps it."""

from __future__ import annotations

import asyncio

import pytest

from quart_llmstream.errors import RequestError
from quart_llmstream.run.threads import LocalHolds


async def test_reject_refuses_a_second_run_while_enqueue_waits_for_it_and_then_hands_on_in_order() -> None:
    holds, saver = LocalHolds(), object()
    first = await holds.take(saver, "t", "r1")
    with pytest.raises(RequestError) as refused:
        await holds.take(saver, "t", "r2", "reject")
    assert refused.value.status == 409
    order: list[str] = []

    async def queued(run_id: str) -> None:
        held = await holds.take(saver, "t", run_id, "enqueue")
        order.append(run_id)
        await asyncio.sleep(0.01)
        await held.release()

    waiters = [asyncio.create_task(queued(f"q{i}")) for i in range(3)]
    await asyncio.sleep(0.01)
    assert order == [] and await holds.busy("t")
    await first.release()
    await asyncio.gather(*waiters)
    assert order == ["q0", "q1", "q2"] and not await holds.busy("t")


async def test_interrupt_stops_the_holder_and_takes_the_thread_once_it_lets_go() -> None:
    holds, saver = LocalHolds(), object()
    first = await holds.take(saver, "t", "r1")
    stopped: list[str] = []
    first.on_stop(lambda: stopped.append("r1"))
    taking = asyncio.create_task(holds.take(saver, "t", "r2", "rollback"))
    await asyncio.sleep(0.01)
    assert stopped == ["r1"] and not taking.done()  # asked to stop; the thread is still its own
    await first.release()
    second = await taking
    assert second.stopped_runs == ("r1",)
    assert await holds.stop("t", "r1") is False, "r1 holds it no more: nothing of r2's is stopped by r1's name"
    assert await holds.stop("t", "r2") is True and await holds.stop("t") is True and await holds.stop("other") is False
    await second.release()


async def test_a_waiter_that_leaves_passes_the_thread_on_and_keeps_nothing() -> None:
    holds, saver = LocalHolds(), object()
    first = await holds.take(saver, "t", "r1")
    leaving = asyncio.create_task(holds.take(saver, "t", "r2", "enqueue"))
    staying = asyncio.create_task(holds.take(saver, "t", "r3", "enqueue"))
    await asyncio.sleep(0.01)
    leaving.cancel()
    await first.release()
    third = await staying
    assert leaving.cancelled()
    await third.release()
    assert not await holds.busy("t") and (await holds.take(saver, "t", "r4")) is not None


async def test_a_hold_let_go_twice_never_frees_the_next_runs() -> None:
    """A run's release may come twice (its end, and a cleanup after a failure): the second is nothing, whoever
    holds the thread by then."""
    holds, saver = LocalHolds(), object()
    first = await holds.take(saver, "t", "r1")
    await first.release()
    second = await holds.take(saver, "t", "r2")
    await first.release()
    with pytest.raises(RequestError):
        await holds.take(saver, "t", "r3", "reject")
    await second.release()
    assert not await holds.busy("t")


async def test_redis_holds_close_the_client_they_made_and_leave_an_apps_own_open() -> None:
    """The app's client may serve it (and the stream store) after the holds let go, at its shutdown."""
    import redis.asyncio

    from quart_llmstream import RedisHolds

    closed: list[str] = []

    class Client(redis.asyncio.Redis):
        async def aclose(self, close_connection_pool: bool | None = None) -> None:
            closed.append(self.connection_pool.connection_kwargs["host"])

    apps = Client(host="apps")
    await RedisHolds(apps).close()
    made = RedisHolds("redis://made:6379")
    made._redis.__class__ = Client  # the client it made from the URL, watched
    await made.close()
    assert closed == ["made"]
