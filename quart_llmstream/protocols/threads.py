"""What a protocol sees of a blueprint's threads: a thread read back (:class:`ThreadView`), and the access a
protocol's own thread API has to them (:class:`ThreadAccess`, LangGraph's server's)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from typing import Protocol as Interface

from ..logs import LogReader

__all__ = ["ThreadAccess", "ThreadView"]


@dataclass(frozen=True, slots=True)
class ThreadView:
    """A thread as the thread routes read it back, before a protocol shapes it: ``messages`` plain, as in
    :class:`~..events.MessagesSnapshot`; ``interrupts`` as in :class:`~..events.Interrupted`; ``state`` the keys
    shared with the client; ``stream_id`` the run going on now, if any."""

    thread_id: str
    title: str
    messages: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    stream_id: str | None = None


class ThreadAccess(Interface):
    """The blueprint's threads as a protocol's own thread routes reach them (:class:`~..thread_runs.ThreadRuns`):
    each owner's own, every refusal a :class:`RequestError` (``400`` a bad thread id, ``404`` none there). A route
    reaches them as the request's owner has them (:meth:`for_request`: ``403`` when it names none)."""

    async def for_request(self) -> ThreadAccess: ...

    @property
    def owner(self) -> str | None: ...

    def follower(self, reader: LogReader | None = None) -> Callable[[], None]: ...

    async def assistant_graph(self) -> Any: ...

    async def state(
        self,
        thread_id: str,
        checkpoint_id: str | None = None,
        subgraphs: bool = False,
        checkpoint_ns: str = "",
    ) -> Any: ...

    async def history(
        self,
        thread_id: str,
        limit: int,
        before: str | None = None,
        metadata: dict[str, Any] | None = None,
        checkpoint: tuple[str, str | None] = ("", None),
    ) -> list[Any]: ...

    async def record(self, thread_id: str) -> dict[str, Any] | None: ...

    async def create(self, thread_id: str, metadata: dict[str, Any]) -> dict[str, Any]: ...

    async def search(
        self,
        metadata: dict[str, Any] | None,
        limit: int,
        offset: int,
        status: str | None = None,
        names: list[str] | None = None,
        order: tuple[str, bool] | None = None,
    ) -> list[dict[str, Any]]: ...

    async def delete(self, thread_id: str) -> None: ...

    async def update(self, thread_id: str, metadata: dict[str, Any]) -> dict[str, Any]: ...

    async def update_state(
        self, thread_id: str, values: Any, as_node: str | None, checkpoint_id: str | None
    ) -> Any: ...

    async def cancel(self, thread_id: str, run_id: str | None, wait: bool = False, rollback: bool = False) -> None: ...

    async def going(self, pending: bool = False) -> list[tuple[str, str]]: ...

    async def copy(self, thread_id: str) -> dict[str, Any]: ...

    async def delete_run(self, thread_id: str, run_id: str) -> None: ...

    async def cut(self, thread_id: str) -> None: ...

    async def follow(self, thread_id: str, run_id: str) -> LogReader: ...

    async def runs(self, thread_id: str) -> list[tuple[str, str, Mapping[str, str]]]: ...

    async def run_ids(self, thread_id: str) -> tuple[list[str], list[str]]: ...

    def draining(self) -> bool: ...
