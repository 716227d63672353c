"""Langfuse: traces reach a loopback OTLP endpoint with the request's user and session; a down host
neither breaks streaming nor blocks the event loop at shutdown; no keys, no tracing, one log line."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from quart import Quart

from quart_llmstream import ChatRequest, create_blueprint
from quart_llmstream.tracing import LangfuseTracing

from fakes import answering
from helpers import free_port, langfuse_collector, post_stream


def traced_app(base_url: str) -> Quart:
    app = Quart(__name__)
    app.config.update(
        LANGFUSE_PUBLIC_KEY=f"pk-lf-{uuid.uuid4()}",  # a fresh key: Langfuse keeps one client per key
        LANGFUSE_SECRET_KEY="sk-lf-test",
        LANGFUSE_BASE_URL=base_url,
    )

    def run_config(chat_request: ChatRequest) -> dict[str, Any]:
        return {
            "metadata": {
                "langfuse_user_id": chat_request.headers["X-User"],
                "langfuse_session_id": chat_request.body["session_id"],
            }
        }

    app.register_blueprint(create_blueprint(lambda _: answering("traced", " answer"), run_config=run_config))
    return app


async def test_traces_reach_the_langfuse_endpoint_with_user_and_session(server: Any) -> None:
    async with langfuse_collector() as (collector_url, received):
        app = traced_app(collector_url)
        assert isinstance(app.extensions["llmstream"].langfuse, LangfuseTracing)
        async with server(app) as url:
            _, stream = await post_stream(
                f"{url}/chat", {"question": "q", "session_id": "session-7"}, headers={"X-User": "user-42"}
            )
            assert stream.messages == ['{"token":"traced"}', '{"token":" answer"}', "[DONE]"]
        # Leaving the server ran after_serving, which flushed the exporter.
    traces = b"".join(body for path, body in received if path == "api/public/otel/v1/traces")
    assert b"user-42" in traces
    assert b"session-7" in traces


async def test_a_down_langfuse_host_neither_breaks_streaming_nor_blocks_shutdown(server: Any) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = traced_app(dead)
    longest_gap = 0.0

    async def ticker() -> None:
        nonlocal longest_gap
        last = time.monotonic()
        while True:
            await asyncio.sleep(0.01)
            now = time.monotonic()
            longest_gap = max(longest_gap, now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    try:
        async with server(app) as url:
            _, stream = await post_stream(f"{url}/chat", {"question": "q", "session_id": "s"}, headers={"X-User": "u"})
            assert stream.messages[-1] == "[DONE]"
            shutdown_started = time.monotonic()
        shutdown_took = time.monotonic() - shutdown_started
    finally:
        ticking.cancel()
    assert longest_gap < 0.5, f"the event loop stalled {longest_gap:.2f}s"
    assert shutdown_took < 6, "the flush is bounded (5 s) even when the host is down"


async def test_without_keys_tracing_stays_off_with_one_log_line(caplog: Any, server: Any, monkeypatch: Any) -> None:
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = Quart(__name__)
    with caplog.at_level(logging.INFO):
        app.register_blueprint(create_blueprint(lambda _: answering("a"), name="one"), url_prefix="/one")
        app.register_blueprint(create_blueprint(lambda _: answering("b"), name="two"), url_prefix="/two")
        async with server(app) as url:
            for prefix in ("one", "two", "one"):
                _, stream = await post_stream(f"{url}/{prefix}/chat", {"question": "q"})
                assert stream.messages[-1] == "[DONE]"
    assert app.extensions["llmstream"].langfuse is None
    off = [r for r in caplog.records if "Langfuse tracing is off" in r.getMessage()]
    assert len(off) == 1 and off[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and "langfuse" in r.name.lower()]


def test_langfuse_option_false_forces_it_off() -> None:
    app = Quart(__name__)
    app.config.update(LANGFUSE_PUBLIC_KEY="pk", LANGFUSE_SECRET_KEY="sk", LLMSTREAM_LANGFUSE=False)
    app.register_blueprint(create_blueprint(lambda _: answering("a")))
    assert app.extensions["llmstream"].langfuse is None
