"""Langfuse tracing (the ``langfuse`` extra): one client per app, a fresh callback handler per run.

It turns on when ``LANGFUSE_PUBLIC_KEY`` and ``LANGFUSE_SECRET_KEY`` are set, in app config or the
environment (``LANGFUSE_BASE_URL`` picks the server), unless the ``langfuse`` option is False. With no
keys it stays off with one log line: Langfuse itself would warn on every construction. Its exporter
sends spans from a thread; at shutdown the app flushes it in another thread, so a Langfuse host that is
down delays the exit a bounded time and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from langchain_core.callbacks import BaseCallbackHandler

from .errors import ConfigError

__all__ = ["LangfuseTracing", "langfuse_from_config", "missing_keys"]

log = logging.getLogger("quart_llmstream")

_KEYS = ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY")
_FLUSH_SECONDS = 5.0


class LangfuseTracing:
    """The app's Langfuse client; :meth:`handler` makes the callback handler of one run."""

    def __init__(self, public_key: str, secret_key: str, base_url: str | None) -> None:
        from langfuse import Langfuse
        from langfuse.langchain import CallbackHandler

        self.client = Langfuse(public_key=public_key, secret_key=secret_key, base_url=base_url)
        self._public_key = public_key
        self._handler_class = CallbackHandler

    def handler(self, trace_id: str | None = None) -> BaseCallbackHandler:
        """A run's handler; ``trace_id`` (32 hex digits: the run id's) names its trace, so feedback finds it."""
        context: Any = {"trace_id": trace_id} if trace_id is not None else None
        return self._handler_class(public_key=self._public_key, trace_context=context)

    def score(self, trace_id: str, name: str, value: float, comment: str | None, score_id: str | None = None) -> None:
        """A score on a trace (``score_id``: the same id again replaces it); queued, sent by the client's thread."""
        self.client.create_score(
            name=name, value=value, trace_id=trace_id, data_type="NUMERIC", comment=comment, score_id=score_id
        )

    async def flush(self, timeout: float = _FLUSH_SECONDS) -> None:
        """Export what is buffered, off the event loop, waiting at most ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def run() -> None:
            try:
                self.client.flush()
            except Exception:
                log.exception("Langfuse flush failed")
            finally:
                with contextlib.suppress(RuntimeError):  # the loop may be closed by now
                    loop.call_soon_threadsafe(_settle, done)

        threading.Thread(target=run, name="langfuse-flush", daemon=True).start()
        await asyncio.wait([done], timeout=timeout)


def langfuse_from_config(config: Mapping[str, Any]) -> LangfuseTracing | None:
    """Tracing from the keys in ``config`` or the environment; None (with a log line) when they are missing."""
    keys = {name: _setting(config, name) for name in _KEYS}
    missing = [name for name, value in keys.items() if not value]
    if missing:
        log.info("Langfuse tracing is off: %s not set", ", ".join(missing))
        return None
    try:
        return LangfuseTracing(
            keys["LANGFUSE_PUBLIC_KEY"],
            keys["LANGFUSE_SECRET_KEY"],
            _setting(config, "LANGFUSE_BASE_URL") or _setting(config, "LANGFUSE_HOST"),
        )
    except ImportError as exc:
        message = "Langfuse keys are set but langfuse is missing: pip install 'quart-llmstream[langfuse]'"
        raise ConfigError(message) from exc


def missing_keys(config: Mapping[str, Any]) -> list[str]:
    return [name for name in _KEYS if not _setting(config, name)]


def _setting(config: Mapping[str, Any], name: str) -> Any:
    return config.get(name) or os.environ.get(name)


def _settle(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)
