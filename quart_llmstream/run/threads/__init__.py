"""Threads: every rule of a LangGraph thread, in one place.

A thread is the conversation a checkpointer keeps. Here are its names (:mod:`.ids`: the client's, checked, or a
new one; the checkpointer's, within its owner's), the hold that lets one run at a time on it (:mod:`.hold`, and
across processes :mod:`.leases`), the record an owner's list shows (:mod:`.records`),
what it holds (:mod:`.state`), what of a request it may store (:mod:`.messages`), the decisions checked against
what it waits on (:mod:`.decisions`), and the tools of its graph that a client may and may not answer for
(:mod:`.tools`). A run on a thread is a :class:`RunThread` (:mod:`.run_thread`).
"""

from .hold import STRATEGIES, Held, LocalHolds, Strategy, ThreadHolds
from .ids import checked_name, new_name, owned, stored_name, thread_config
from .messages import checked_write
from .records import LATEST_FIRST, Record, ThreadRecords
from .run_thread import Recorded, RunThread, open_thread
from .state import (
    ThreadState,
    checkpointed,
    graph_of,
    hides_a_thread,
    innermost,
    is_interrupt,
    shared_keys,
    status_of,
)

__all__ = [
    "LATEST_FIRST",
    "STRATEGIES",
    "Held",
    "LocalHolds",
    "Record",
    "Recorded",
    "RunThread",
    "Strategy",
    "ThreadHolds",
    "ThreadRecords",
    "ThreadState",
    "checked_name",
    "checked_write",
    "checkpointed",
    "graph_of",
    "hides_a_thread",
    "innermost",
    "is_interrupt",
    "new_name",
    "open_thread",
    "owned",
    "shared_keys",
    "status_of",
    "stored_name",
    "thread_config",
]
