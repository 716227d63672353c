"""A run's stream: its id, the log its events go to, and whether a client can come back for them.

A stream is resumable when the blueprint has a store: its log lives there under its id (the request's, or its run's,
unguessable), its frames carry SSE ids, and its run goes on for a client that leaves, to come back for
the rest. Otherwise (or while the store is down) its log lives in memory for its one response, under the run's id.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

from ..errors import RequestError
from ..events import RunEnded
from .base import LogReader, StreamLog
from .memory import MemoryLog
from .store import StoreDown, StreamConflict, StreamMeta, StreamStore

__all__ = ["BUFFERED_EVENTS", "Stream", "check_stream_id", "ending", "open_stream"]

BUFFERED_EVENTS = 64
"""Events held for a slow reader before the run waits for it."""
_STREAM_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True, slots=True)
class Stream:
    id: str
    log: StreamLog
    resumable: bool

    @property
    def after(self) -> int | None:
        """Where its first response starts, numbering its frames (resumable), or None: no SSE ids."""
        return 0 if self.resumable else None

    @property
    def headers(self) -> dict[str, str]:
        """What its responses say of it: the id to resume it by."""
        return {"X-Stream-Id": self.id} if self.resumable else {}


def check_stream_id(stream_id: str) -> str:
    if not is_stream_id(stream_id):
        raise RequestError(400, "invalid_request", "id: 1 to 128 characters of A-Z, a-z, 0-9, _ and -")
    return stream_id


def is_stream_id(stream_id: str) -> bool:
    return _STREAM_ID.fullmatch(stream_id) is not None


async def open_stream(store: StreamStore | None, run_id: str, requested: str | None, meta: StreamMeta) -> Stream:
    """The stream of a new run: in ``store`` under ``requested`` (or its run's id, so that a run has one id: a
    LangGraph client's, that of the checkpoints it writes), for ``meta.owner`` (``409`` while a run of that owner's
    stream of that id goes on); in memory under ``run_id`` without a store."""
    if store is None:
        return Stream(run_id, MemoryLog(BUFFERED_EVENTS), resumable=False)
    stream_id = check_stream_id(requested or run_id)
    try:
        return Stream(stream_id, await store.create(stream_id, meta, BUFFERED_EVENTS), resumable=True)
    except StreamConflict:
        raise RequestError(409, "conflict", f"the stream {stream_id} is still running") from None
    except StoreDown:  # its client gets its answer, but no id to come back by: nothing would answer it
        return Stream(run_id, MemoryLog(BUFFERED_EVENTS), resumable=False)


async def ending(reader: LogReader) -> str:
    """How the stream ``reader`` reads ended (``running`` while it goes on), read from what is there already."""
    try:
        while not reader.ended:
            entries = await asyncio.wait_for(reader.read(), 0.05)
            if not entries:
                break
            for _, event in entries:
                if isinstance(event, RunEnded):
                    return event.status
    except TimeoutError:
        pass
    finally:
        reader.close()
    return "running"
