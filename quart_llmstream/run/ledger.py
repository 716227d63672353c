"""Which runs each owner has had: what a rating of an answer (:mod:`..feedback`) needs to find its run.

Kept, when the blueprint takes feedback, in the store of the threads' records (a LangGraph ``BaseStore``), one
namespace per owner, so another owner's run is not there for a request, as for a thread. A run is found by its
id or by an id the protocol gave its answer (the AI SDK's message id, the OpenAI response's id, AG-UI's run id),
and a thread's deletion takes its runs with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..owners import library_namespace

__all__ = ["KeptRun", "RunLedger"]

_PAGE = 100


@dataclass(frozen=True, slots=True)
class KeptRun:
    run_id: str
    thread_id: str | None


class RunLedger:
    """The runs of each owner in ``store``."""

    def __init__(self, store: Any) -> None:
        self.store = store

    @staticmethod
    def namespace(owner: str | None) -> tuple[str, ...]:
        return library_namespace("runs", owner)

    async def keep(self, owner: str | None, run_id: str, thread_id: str | None, answer_ids: Sequence[str]) -> None:
        """Keep the run, found by its id and by each of ``answer_ids``, in one batch."""
        from langgraph.store.base import PutOp

        namespace, value = self.namespace(owner), {"run_id": run_id, "thread_id": thread_id}
        keys = dict.fromkeys((run_id, *answer_ids))
        await self.store.abatch([PutOp(namespace, key, value, index=False) for key in keys])

    async def find(self, owner: str | None, key: str) -> KeptRun | None:
        """The owner's run that ``key`` names (its id, or an id of its answer), or None."""
        item = await self.store.aget(self.namespace(owner), key)
        return None if item is None else KeptRun(item.value["run_id"], item.value.get("thread_id"))

    async def forget_run(self, owner: str | None, run_id: str) -> None:
        """Forget the owner's run ``run_id`` (it was deleted), and the ids of its answer."""
        await self._forget(owner, {"run_id": run_id})

    async def forget_thread(self, owner: str | None, thread_id: str) -> None:
        """Forget every run on the owner's thread ``thread_id`` (it is being deleted)."""
        await self._forget(owner, {"thread_id": thread_id})

    async def _forget(self, owner: str | None, where: dict[str, str]) -> None:
        namespace = self.namespace(owner)
        while items := await self.store.asearch(namespace, filter=where, limit=_PAGE):
            for item in items:
                await self.store.adelete(namespace, item.key)
