"""How a cancel sent to any process reaches the run on the process that produces the stream.

The cancel route sets the stream's cancel flag and publishes its id on one channel; each process holds one
subscription to it and stops the stream if it produces it. The producer's lease writes (every two seconds)
also read the flag, so a cancel is never lost, only late, while the subscription is down; and once it is
up again, the flags of every stream produced here are read at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol

__all__ = ["CHANNEL", "Asked", "CancelListener"]

CHANNEL = "llmstream:cancel"
_SUBSCRIBE_WAIT = 1.0  # how long the first stream waits for the subscription
_RETRY_SECONDS = 0.05  # the first wait before subscribing again; it doubles up to a second


class Cancellable(Protocol):
    def request_cancel(self) -> None: ...


class Asked:
    """A stream being created here: a cancel that comes before its log exists waits for it."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def request_cancel(self) -> None:
        self.cancelled = True


class CancelListener:
    """One subscription per process, for the streams in ``producing``; ``flag_key`` names a stream's flag."""

    def __init__(self, redis: Any, producing: Mapping[str, Cancellable], flag_key: Callable[[str], str]) -> None:
        self._redis, self._producing, self._flag_key = redis, producing, flag_key
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    async def start(self) -> None:
        """Listen, from the first stream on: the stream that starts it waits (a moment) for the subscription,
        so that no cancel for it can come before it."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), _SUBSCRIBE_WAIT)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._subscribed = asyncio.Event()  # served again, it subscribes again before its first stream

    async def _listen(self) -> None:
        """A cluster client learns the slots before it subscribes: redis-py's cluster pub/sub fails on a client
        whose slot cache is empty (``KeyError: <slot>``)."""
        retry = _RETRY_SECONDS
        while True:
            try:
                await self._redis.initialize()
                async with self._redis.pubsub() as pubsub:
                    await pubsub.subscribe(CHANNEL)
                    async for message in pubsub.listen():
                        if message["type"] == "subscribe":  # confirmed: what was published before is missed
                            retry = _RETRY_SECONDS
                            self._subscribed.set()
                            await self._missed()
                        elif message["type"] == "message":
                            self._stop(message["data"].decode())
            except asyncio.CancelledError:
                raise
            except Exception:
                self._subscribed.clear()
                await asyncio.sleep(retry)
                retry = min(retry * 2, 1.0)

    async def _missed(self) -> None:
        """Cancels sent while the subscription was down, read from the flags of the streams produced here."""
        streams = [key for key, known in self._producing.items() if not isinstance(known, Asked)]
        flags = await asyncio.gather(*(self._redis.get(self._flag_key(key)) for key in streams))
        for key, flag in zip(streams, flags, strict=True):
            if flag:
                self._stop(key)

    def _stop(self, key: str) -> None:
        known = self._producing.get(key)
        if known is not None:
            known.request_cancel()
