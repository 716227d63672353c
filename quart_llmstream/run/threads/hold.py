"""One run at a time on a thread, as LangGraph's server keeps it: a second request meanwhile gets ``409``.

A request takes the hold before the thread's state is read and its run lets go just before the run's final
frame, so two decisions sent at once cannot both run an approved call, nor two runs write one thread, while a
client that sends its next turn on that frame is never refused. A hold is on a checkpointer's thread: another
graph with a checkpointer of its own has its own thread of that name.

:class:`ThreadHolds` is the interface; :class:`LocalHolds` holds within one process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from ...errors import RequestError

__all__ = ["Held", "LocalHolds", "ThreadHolds"]


class Held(ABC):
    """A hold on one thread, until :meth:`release` (which may be called more than once)."""

    @abstractmethod
    async def release(self) -> None: ...


class ThreadHolds(ABC):
    """Where holds on threads are kept."""

    @abstractmethod
    async def take(self, checkpointer: Any, thread_id: str) -> Held:
        """Hold ``checkpointer``'s thread ``thread_id``; :class:`RequestError` ``409`` while another holds it."""


class LocalHolds(ThreadHolds):
    """Holds within one process: requests routed to other processes do not see them."""

    def __init__(self) -> None:
        self.held: set[tuple[int, str]] = set()

    async def take(self, checkpointer: Any, thread_id: str) -> Held:
        key = (id(checkpointer), thread_id)
        if key in self.held:
            raise RequestError(409, "conflict", "a run on this thread is still going")
        self.held.add(key)
        return _LocalHeld(self.held, key)


class _LocalHeld(Held):
    __slots__ = ("_held", "_key")

    def __init__(self, held: set[tuple[int, str]], key: tuple[int, str]) -> None:
        self._held: set[tuple[int, str]] | None = held
        self._key = key

    async def release(self) -> None:
        if self._held is not None:  # once: the key may be another request's by a second call
            self._held.discard(self._key)
            self._held = None
