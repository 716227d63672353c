"""Lifecycle hooks: ``on_start(chat_request)`` and ``on_end(chat_request, result)`` of each stream.

``on_end`` is called exactly once per stream whatever happens (the run completes, fails, times out,
the client leaves, the server shuts down), which makes it the place to persist a conversation. A hook
that raises is logged and never breaks the stream. Hooks may be sync or async.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

__all__ = ["Status", "StreamResult", "call_hook", "maybe_await"]

T = TypeVar("T")

log = logging.getLogger("quart_llmstream")

Status = Literal["completed", "interrupted", "cancelled", "error", "timeout"]


@dataclass(frozen=True, slots=True)
class StreamResult:
    """What ``on_end`` learns of a finished stream."""

    status: Status
    """``completed``; ``interrupted`` (the thread waits for a decision); ``cancelled`` (client left, or server
    shut down); ``error``; ``timeout``."""
    text: str
    """The whole text of the tokens produced (also after a disconnect, with ``on_disconnect="continue"``)."""
    tokens: int
    usage: dict[str, int] | None
    """Token usage the models reported, summed, or None."""
    duration: float
    """Seconds from the start of the run to its end."""
    run_id: str
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    """The interrupts the thread waits on, when ``interrupted``: ``{"id", "value", "actions"?}``."""


async def maybe_await(value: T | Awaitable[T]) -> T:
    """What a user's function returned, awaited when it is awaitable: every hook and factory may be either."""
    return await value if inspect.isawaitable(value) else value


async def call_hook(hook: Callable[..., Any] | None, *args: Any) -> None:
    """Call a user's hook, sync or async; log what it raises instead of raising it."""
    if hook is None:
        return
    try:
        await maybe_await(hook(*args))
    except Exception:
        log.exception("the %s hook failed", getattr(hook, "__name__", "lifecycle"))
