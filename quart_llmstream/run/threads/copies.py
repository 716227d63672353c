"""A thread's checkpoints copied to another thread, and those some runs wrote taken out of one thread.

A LangGraph checkpointer may copy a thread itself (``acopy_thread``); one that does not (``InMemorySaver`` and
``AsyncPostgresSaver`` today) gets it done here with what every checkpointer has: listing a thread's checkpoints,
each with its pending writes, and putting them again under a thread's name. Every checkpoint keeps its id, its
parent and its metadata, so a copy's history is the thread's — and names the same runs, which is why a run's
checkpoints are taken out of one thread here (a checkpointer's own ``adelete_for_runs`` takes them out of every
thread, a copy's original too).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

__all__ = ["copy_checkpoints", "drop_runs"]


async def copy_checkpoints(saver: Any, source: str, target: str) -> None:
    """Every checkpoint of thread ``source`` (its subgraphs' too), with its pending writes, now also ``target``'s."""
    try:
        await saver.acopy_thread(source, target)
    except NotImplementedError:
        await _put(saver, [found async for found in saver.alist(_thread(source))], target)


async def drop_runs(saver: Any, thread: str, run_ids: Collection[str]) -> bool:
    """Take out of ``thread`` the checkpoints the runs ``run_ids`` wrote (each names its run in its metadata), as
    LangGraph's server does to a run it deletes or rolls back: the thread is then as the runs found it, when they
    were its last. Whether there were any. The thread is written again whole (the thread must be held)."""
    found = [checkpoint async for checkpoint in saver.alist(_thread(thread))]
    kept = [checkpoint for checkpoint in found if checkpoint.metadata.get("run_id") not in run_ids]
    if len(kept) == len(found):
        return False
    await saver.adelete_thread(thread)
    await _put(saver, kept, thread)
    return True


def _thread(name: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


async def _put(saver: Any, checkpoints: Sequence[Any], thread: str) -> None:
    """Put ``checkpoints`` (a listing's tuples, newest first) under ``thread``, oldest first, as they were."""
    for found in reversed(checkpoints):
        where = found.config["configurable"]
        parent = (found.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        config = {"configurable": {"thread_id": thread, "checkpoint_ns": where.get("checkpoint_ns", "")}}
        if parent is not None:
            config["configurable"]["checkpoint_id"] = parent
        checkpoint = found.checkpoint
        stored = await saver.aput(config, checkpoint, found.metadata, dict(checkpoint["channel_versions"]))
        writes: dict[str, list[tuple[str, Any]]] = {}
        for task_id, channel, value in found.pending_writes or ():
            writes.setdefault(task_id, []).append((channel, value))
        for task_id, task_writes in writes.items():
            await saver.aput_writes(stored, task_writes, task_id)
