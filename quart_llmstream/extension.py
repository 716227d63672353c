"""The extension object: what belongs to the app rather than to one blueprint.

It owns the registry of open runs (the ``max_streams`` cap and each owner's share, the end of every stream
at shutdown), the holds on threads (one run at a time on a thread: :class:`~.run.threads.ThreadHolds`, within
this process unless the app passes others, such as :class:`~.run.threads.leases.PostgresHolds`), the records of
threads (in the LangGraph store the app passes as ``thread_store``; in memory by default), the stores of
resumable streams, Langfuse tracing (one client per app) and the signal handlers, and it lives in
``app.extensions["llmstream"]``. ``create_blueprint`` makes one on first registration when the app has none,
so ``LLMStream(app)`` is needed only to set it up explicitly.

At shutdown (a signal: :mod:`.signals`; or :func:`drain`, for servers started from code) every open stream ends
with a ``shutdown`` error frame and its final frame, and new ones are refused; when the app stops serving, the
stores, holds and traces send what they owe.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from quart import Quart

from .errors import ConfigError, RequestError, public_message
from .logs import LogReader
from .logs.store import MemoryStore, StreamStore
from .metrics import Metrics
from .metrics.base import BlueprintMetrics
from .run import StopReason
from .run.ledger import RunLedger
from .run.threads import LocalHolds, ThreadHolds, ThreadRecords
from .settings import Settings
from .signals import ShutdownSignals
from .tracing import LangfuseTracing, langfuse_from_config, missing_keys

__all__ = ["LLMStream", "drain"]

log = logging.getLogger("quart_llmstream")

_EXTENSION = "llmstream"


class OpenRun(Protocol):
    done: asyncio.Future[None]

    def stop(self, reason: StopReason) -> None: ...


class LLMStream:
    """``LLMStream(app)`` or ``LLMStream()`` then ``init_app(app)``, in the Quart extension style."""

    def __init__(
        self,
        app: Quart | None = None,
        *,
        holds: ThreadHolds | None = None,
        thread_store: Any = None,
        metrics: Metrics | Sequence[Metrics] | None = None,
    ) -> None:
        self.runs: set[OpenRun] = set()
        self.metrics: tuple[Metrics, ...] = (metrics,) if isinstance(metrics, Metrics) else tuple(metrics or ())
        """The app's metrics backends (:mod:`.metrics`); none: metrics are off."""
        self._owners: dict[str | None, int] = {}  # each owner's open streams and followers
        self.holds = holds or LocalHolds()  # the holds on threads a run is on
        self.thread_store = thread_store
        """The LangGraph ``BaseStore`` of the threads' records (may be set until the app serves; None: memory)."""
        self._records: ThreadRecords | None = None
        self.draining = False
        self._config: Any = {}
        self._tracing: LangfuseTracing | None = None
        self._tracing_checked = False
        self._stores: dict[Any, StreamStore] = {}
        self._signals = ShutdownSignals(self.drain, self._let_go)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Quart) -> None:
        """Make this the app's extension; :class:`ConfigError` when the app has one already (a blueprint
        registered before made a default one, and keeps it: what this one holds would go unused)."""
        if isinstance(app.extensions.get(_EXTENSION), LLMStream):
            raise ConfigError(
                "the app has an LLMStream already: call LLMStream(app, ...) once, before registering the "
                "llmstream blueprints (registering one makes a default LLMStream, which the blueprint keeps)"
            )
        app.extensions[_EXTENSION] = self
        self._config = app.config
        app.before_serving(self._chain_signals)
        app.after_serving(self._after_serving)

    @classmethod
    def of(cls, app: Quart) -> LLMStream:
        """The app's extension, made on first use."""
        extension = app.extensions.get(_EXTENSION)
        return extension if isinstance(extension, LLMStream) else cls(app)

    # The registry of open runs.

    def __len__(self) -> int:
        return len(self.runs)

    def add(self, run: OpenRun, owner: str | None = None) -> None:
        self.runs.add(run)
        let_go = self.count(owner)

        def ended(_: object) -> None:
            self.runs.discard(run)
            let_go()

        run.done.add_done_callback(ended)

    def owned(self, owner: str | None) -> int:
        """How many streams and followers ``owner`` has open in this process."""
        return self._owners.get(owner, 0)

    def admit(self, settings: Settings, owner: str | None = None, *, per_owner: bool = False) -> None:
        """Refuse a stream this process cannot take (``503``: shutting down, or ``max_streams`` open), and with
        ``per_owner`` one past its owner's share (``429``: ``max_streams_per_owner`` streams and followers)."""
        if self.draining:
            raise RequestError(503, "shutting_down", public_message("shutting_down"), retry_after=settings.retry_after)
        if settings.max_streams is not None and len(self) >= settings.max_streams:
            raise RequestError(503, "overloaded", public_message("overloaded"), retry_after=settings.retry_after)
        if per_owner:
            self.admit_owner(settings, owner)

    def admit_owner(self, settings: Settings, owner: str | None) -> None:
        """Refuse (``429``) one more stream or follower of ``owner`` past ``max_streams_per_owner``."""
        limit = settings.max_streams_per_owner
        if limit is not None and self.owned(owner) >= limit:
            detail = f"at most {limit} open streams per user: wait for one to end"
            raise RequestError(429, "too_many_streams", detail, retry_after=settings.retry_after)

    def follower(self, settings: Settings, owner: str | None, reader: LogReader | None = None) -> Callable[[], None]:
        """One more follower of ``owner``'s runs, admitted (``429`` past ``max_streams_per_owner``) and counted as a
        stream is, with no await between: followers asking at once are counted one by one; the function returned
        counts it out (once). Refused, the ``reader`` it would have read is closed."""
        try:
            self.admit_owner(settings, owner)
        except RequestError:
            if reader is not None:
                reader.close()
            raise
        return self.count(owner)

    def count(self, owner: str | None) -> Callable[[], None]:
        """Count one more open stream or follower of ``owner``; the function returned counts it out (once)."""
        self._owners[owner] = self._owners.get(owner, 0) + 1
        counted = True

        def let_go() -> None:
            nonlocal counted
            if counted:
                counted = False
                if (left := self._owners[owner] - 1) > 0:
                    self._owners[owner] = left
                else:
                    del self._owners[owner]

        return let_go

    async def drain(self, timeout: float | None = None) -> None:
        """End every open stream with a ``shutdown`` error frame and refuse new ones (503)."""
        self.draining = True
        open_runs = list(self.runs)
        if open_runs:
            log.info("shutting down: ending %d open stream(s)", len(open_runs))
        for run in open_runs:
            run.stop(StopReason.SHUTDOWN)
        if open_runs:
            await asyncio.wait([run.done for run in open_runs], timeout=timeout)

    def metrics_of(self, protocol: str, blueprint: str) -> BlueprintMetrics | None:
        """The metrics of a blueprint, bound to its labels (None when the app has none)."""
        return BlueprintMetrics(self.metrics, protocol, blueprint) if self.metrics else None

    # Tracing.

    def tracing(self, enabled: bool | None) -> LangfuseTracing | None:
        """The app's Langfuse tracing for a blueprint whose ``langfuse`` option is ``enabled``.

        ``True`` without keys is a :class:`ConfigError` for every blueprint that asks, whatever was
        registered before; the client is made once, by the first blueprint that can have it.
        """
        if enabled is False:
            return None
        if enabled and (missing := missing_keys(self._config)):
            raise ConfigError(f"LLMSTREAM_LANGFUSE is True but {', '.join(missing)} is not set")
        if not self._tracing_checked:
            self._tracing = langfuse_from_config(self._config)
            self._tracing_checked = True
        return self._tracing

    @property
    def langfuse(self) -> LangfuseTracing | None:
        """The app's Langfuse tracing, once a blueprint made it."""
        return self._tracing

    # Threads.

    def keeps_records(self) -> bool:
        """Whether there is a LangGraph store for the threads' records and the runs to rate: the app's, or one made
        here (without LangGraph installed, no runnable keeps a thread)."""
        if self.thread_store is not None:
            return True
        try:
            return importlib.util.find_spec("langgraph.store.memory") is not None
        except ModuleNotFoundError:
            return False

    def records(self) -> ThreadRecords:
        """The records of the app's threads, in ``thread_store`` (an ``InMemoryStore`` made on first use when the
        app gave none)."""
        if self._records is None or self._records.store is not self.thread_store:
            if self.thread_store is None:
                from langgraph.store.memory import InMemoryStore

                self.thread_store = InMemoryStore()
            self._records = ThreadRecords(self.thread_store, self.holds)
        return self._records

    def ledger(self) -> RunLedger:
        """The runs of the app's owners, kept beside the threads' records (for feedback on answers)."""
        return RunLedger(self.records().store)

    # Resumable streams.

    def store(self, resume: Any, ttl: float, max_frames: int) -> StreamStore:
        """The app's store for a ``resume`` option: one per URL or client, shared by its blueprints."""
        key = resume if isinstance(resume, str) else id(resume)
        if key not in self._stores:
            if resume == "memory":
                self._stores[key] = MemoryStore(ttl, max_frames)
            else:
                from .logs.redis import RedisStore

                try:
                    self._stores[key] = RedisStore(resume, ttl, max_frames)
                except ImportError as exc:  # redis is imported when a URL is made a client
                    raise ConfigError("LLMSTREAM_RESUME names Redis: pip install 'quart-llmstream[redis]'") from exc
        return self._stores[key]

    # Serving: signals in, drain and flush out.

    async def _chain_signals(self) -> None:
        self._signals.chain()

    async def _after_serving(self) -> None:
        self._signals.restore()
        await self.drain()
        await self._let_go()
        self.draining = False  # served again, it takes streams again

    async def _let_go(self) -> None:
        """What must reach the other processes and services before this one ends: the stores' last writes (each
        stream's end, its lease let go), the holds' leases, the traces."""
        for store in self._stores.values():
            await store.close()
        await self.holds.close()
        if self._tracing is not None:
            await self._tracing.flush()


async def drain(app: Quart, timeout: float | None = None) -> None:
    """End every open stream of ``app`` cleanly (a ``shutdown`` error frame, then the final frame).

    Call it before stopping a server started from code; signals do it for a server run from the
    command line.
    """
    await LLMStream.of(app).drain(timeout)
