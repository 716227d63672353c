"""Owners: who a thread or a stream belongs to, by the ``stream_owner`` hook, and the names that keep owners apart.

A thread id and a stream id are each owner's own: the checkpointer and the stream store see them within their
owner's (:func:`scoped`), so another owner naming the same id reaches another thread or stream — one that
does not exist yet — and learns nothing of the first. Client ids hold no ``:`` and the owner is quoted, so no two
owners share a prefix and a request without an owner cannot name a scoped id. What the library keeps of an owner
in an app's store (threads' records, runs to rate) is under their own namespace (:func:`library_namespace`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .lifecycle import maybe_await

__all__ = ["LIBRARY_NAMESPACE", "library_namespace", "owner_of", "scoped"]

LIBRARY_NAMESPACE = "llmstream"
"""The first label of the namespaces the library keeps in an app's LangGraph store (threads' records, runs kept to
rate): never a client's to read or write."""


def library_namespace(kind: str, owner: str | None) -> tuple[str, str, str]:
    """Where the library keeps ``owner``'s ``kind`` (``threads``, ``runs``) in an app's store, apart from every
    other owner's: the owner quoted (a store joins labels with ``.``), ``-`` for an app's single user."""
    return (LIBRARY_NAMESPACE, kind, "-" if owner is None else "u" + quote(owner, safe="").replace(".", "%2E"))


def scoped(name: str, owner: str | None) -> str:
    """``name`` within ``owner``'s names (the owner ``""`` is an owner: it is not None)."""
    return name if owner is None else f"{quote(owner, safe='')}:{name}"


async def owner_of(hook: Callable[..., Any] | None, chat_request: Any) -> str | None:
    """Who a request (its :class:`~.request.ChatRequest`) speaks for, by the ``stream_owner`` ``hook`` (sync or
    async); None without one."""
    if hook is None:
        return None
    owner = await maybe_await(hook(chat_request))
    return None if owner is None else str(owner)
