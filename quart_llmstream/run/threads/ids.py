"""A thread's names: the one its client uses, and the checkpointer's, within its owner's.

A client names its thread in 1 to 128 characters of ``A-Z a-z 0-9 _ . @ -`` (not ``.`` or ``..``, which no URL
path reaches): no ``:``, which separates an
owner from its threads (:func:`~...owners.scoped`), so a request without an owner cannot name someone else's.
A request that names none, to a graph that keeps threads, gets a new conversation of its own. A request that
speaks for no one (a ``stream_owner`` hook named none for it: a guest) names no thread: callers of no name would
share theirs (:func:`owned`).
"""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from ...errors import RequestError
from ...owners import scoped

__all__ = ["checked_name", "new_name", "owned", "stored_name", "thread_config"]

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,128}")


def checked_name(name: str | None) -> str | None:
    """The client's name for its thread, or a ``400`` for one that is not a thread id."""
    if name is not None and (not _NAME.fullmatch(name) or name in (".", "..")):  # no path reaches those two
        raise RequestError(400, "invalid_request", "thread id: 1 to 128 characters of A-Z, a-z, 0-9 and _ . @ -")
    return name


NO_OWNER = "threads are each user's: this request names none (stream_owner); a guest needs an id of its own"


def owned(owner: str | None, owners_told_apart: bool, reaches_thread: bool = True) -> str | None:
    """``owner``, whose threads the request reaches (``reaches_thread``: it names one); a ``403`` for a request the
    ``stream_owner`` hook (``owners_told_apart``) names no one for."""
    if owner is None and owners_told_apart and reaches_thread:
        raise RequestError(403, "forbidden", NO_OWNER)
    return owner


def new_name() -> str:
    """A name for a new conversation: unguessable, so no one else comes upon it."""
    return uuid4().hex


def stored_name(name: str, owner: str | None) -> str:
    """The checkpointer's name for ``owner``'s thread ``name``: another owner naming it gets another thread."""
    return scoped(name, owner)


def thread_config(name: str, owner: str | None) -> dict[str, Any]:
    """The config that names ``owner``'s thread ``name`` to its graph (at its latest checkpoint)."""
    return {"configurable": {"thread_id": stored_name(name, owner)}}
