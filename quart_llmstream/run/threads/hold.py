"""One run at a time on a thread, as LangGraph's server keeps it, and what happens to a second one meanwhile.

A request takes the hold before the thread's state is read and its run lets go just before the run's final
frame, so two decisions sent at once cannot both run an approved call, nor two runs write one thread, while a
client that sends its next turn on that frame is never refused. What a second request does while a run holds the
thread is the blueprint's ``multitask_strategy``, LangGraph's four: ``reject`` (``409``), ``enqueue`` (wait for
it, in order within a process; across processes, in no set order), ``interrupt`` (stop it, wherever it runs,
then run) and ``rollback`` (stop it and run from where it started, dropping what it wrote).

:class:`ThreadHolds` is the interface; :class:`LocalHolds` holds within one process; :mod:`.leases` holds across
processes and hosts (a lease in PostgreSQL or Redis, renewed while the run lives).
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable
from typing import Any, get_args

from ...errors import RequestError
from ...options import Strategy

__all__ = ["STRATEGIES", "Held", "LocalHolds", "Strategy", "ThreadHolds", "busy_error"]

STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)


def busy_error() -> RequestError:
    return RequestError(409, "conflict", "a run on this thread is still going")


class Held(ABC):
    """A hold on one thread, until :meth:`release` (which may be called more than once)."""

    stopped_runs: tuple[str, ...] = ()
    """The runs this hold stopped to take the thread (``interrupt``, ``rollback``), first to last."""
    waited: bool = False
    """Another run held the thread when this one asked for it."""

    @abstractmethod
    async def release(self) -> None: ...

    @abstractmethod
    def on_stop(self, stop: Callable[[], None]) -> None:
        """Call ``stop`` when a request with ``interrupt`` or ``rollback`` wants the thread."""


class ThreadHolds(ABC):
    """Where holds on threads are kept."""

    @abstractmethod
    async def take(self, checkpointer: Any, thread_id: str, run_id: str, strategy: Strategy = "reject") -> Held:
        """Hold ``checkpointer``'s thread ``thread_id`` for run ``run_id``; while another run holds it, do what
        ``strategy`` says (``reject``: :class:`RequestError` ``409``)."""

    @abstractmethod
    async def busy(self, thread_id: str) -> bool:
        """A run holds ``thread_id`` now."""

    @abstractmethod
    async def stop(self, thread_id: str, run_id: str | None = None) -> bool:
        """Ask the run holding ``thread_id`` (if it is ``run_id``, when named) to stop, wherever it runs; False when
        none does."""

    @contextlib.asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[None]:
        """Hold ``key`` (not a thread id) for a moment, against every process these holds reach: a thread's record
        is changed under it. Within one process there is nothing to do: the caller's own lock does it."""
        yield

    async def close(self) -> None:  # noqa: B027  # a store with connections closes them
        """Let go of what the holds keep open (at the app's shutdown)."""


class LocalHolds(ThreadHolds):
    """Holds within one process: requests routed to other processes do not see them."""

    def __init__(self) -> None:
        self.held: dict[tuple[int, str], _LocalHeld] = {}
        self._queues: dict[tuple[int, str], list[tuple[asyncio.Future[_LocalHeld], str]]] = {}

    async def take(self, checkpointer: Any, thread_id: str, run_id: str, strategy: Strategy = "reject") -> Held:
        key = (id(checkpointer), thread_id)
        holder = self.held.get(key)
        if holder is None:
            held = self.held[key] = _LocalHeld(self, key, run_id)
            return held
        if strategy == "reject":
            raise busy_error()
        stopped: tuple[str, ...] = ()
        if strategy in ("interrupt", "rollback"):
            stopped = (holder.run_id,)
            holder.stop()
        held = await self._wait(key, run_id)
        held.stopped_runs, held.waited = stopped, True
        return held

    async def _wait(self, key: tuple[int, str], run_id: str) -> _LocalHeld:
        """Wait for the thread, after whoever waited before: a release hands it to the next in line."""
        turn: asyncio.Future[_LocalHeld] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, []).append((turn, run_id))
        try:
            return await asyncio.shield(turn)
        except BaseException:
            if turn.done() and not turn.cancelled():  # handed the thread just as its waiter left: pass it on
                await turn.result().release()
            else:
                turn.cancel()
            raise

    def _released(self, held: _LocalHeld) -> None:
        if self.held.get(held.key) is not held:
            return
        del self.held[held.key]
        queue = self._queues.get(held.key, [])
        while queue:
            turn, run_id = queue.pop(0)
            if not turn.done():
                self.held[held.key] = _LocalHeld(self, held.key, run_id)
                turn.set_result(self.held[held.key])
                break
        if not queue:
            self._queues.pop(held.key, None)

    async def busy(self, thread_id: str) -> bool:
        return any(name == thread_id for _, name in self.held)

    async def stop(self, thread_id: str, run_id: str | None = None) -> bool:
        holders = [held for (_, name), held in self.held.items() if name == thread_id and run_id in (None, held.run_id)]
        for held in holders:
            held.stop()
        return bool(holders)


class _LocalHeld(Held):
    __slots__ = ("_holds", "_stop", "key", "run_id", "stopped_runs", "waited")

    def __init__(self, holds: LocalHolds, key: tuple[int, str], run_id: str) -> None:
        self._holds: LocalHolds | None = holds
        self.key, self.run_id = key, run_id
        self._stop: Callable[[], None] | None = None
        self.stopped_runs, self.waited = (), False

    def on_stop(self, stop: Callable[[], None]) -> None:
        self._stop = stop

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()

    async def release(self) -> None:
        if self._holds is not None:  # once: the key may be another request's by a second call
            self._holds._released(self)
            self._holds = None
