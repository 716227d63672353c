"""The extension: shutdown ends every open stream cleanly and in time, signal handlers are restored after
serving, and tracing is checked for every blueprint."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from quart import Quart

from quart_llmstream import ConfigError, LLMStream, create_blueprint, drain
from quart_llmstream.run.threads import LocalHolds

from fakes import answering
from helpers import SUPPORT, free_port, listening, post_stream, read_until, subprocess_env
from sse_parser import parse


def assert_ended_by_shutdown(body: bytes) -> None:
    messages = parse(body).messages
    assert messages[0] == '{"token":"tick"}'
    assert json.loads(messages[-2])["code"] == "shutdown"
    assert messages[-1] == "[DONE]"
    assert parse(body).incomplete == ""


async def stream_until_first_token(client: httpx.AsyncClient, url: str) -> tuple[Any, bytes]:
    """Open a stream and read its first token; return the stream's iterator and what was read."""
    request = client.build_request("POST", url, json={"question": "q"})
    response = await client.send(request, stream=True)
    body = response.aiter_raw()
    return (response, body), await read_until(body, 1)


@pytest.mark.parametrize(
    ("workers", "to_group"),
    [("0", False), ("1", True)],
    ids=["in-process: SIGTERM to hypercorn", "worker process: SIGTERM to the process group"],
)
async def test_sigterm_ends_every_open_stream_cleanly_within_the_graceful_timeout(workers: str, to_group: bool) -> None:
    port = free_port()
    command = [sys.executable, "-m", "hypercorn", "slow_app:app", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(
        [*command, "--graceful-timeout", "3", "--workers", workers],
        cwd=SUPPORT,
        env=subprocess_env(),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/chat"
    try:
        await listening(port)
        async with httpx.AsyncClient(timeout=10) as client:
            opened = [await stream_until_first_token(client, url) for _ in range(3)]
            if to_group:
                os.killpg(server.pid, signal.SIGTERM)
            else:
                server.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            for (response, body), seen in opened:
                rest = b"".join([chunk async for chunk in body])
                await response.aclose()
                assert_ended_by_shutdown(seen + rest)
        await asyncio.to_thread(server.wait, 10)
        assert time.monotonic() - signalled < 3, "the server did not exit within its graceful timeout"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)


async def test_drain_ends_open_streams_for_a_server_started_from_code(server: Any) -> None:
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering(*["tick"] * 1000, delay=0.05)))
    async with server(app) as url, httpx.AsyncClient(timeout=10) as client:
        (response, body), seen = await stream_until_first_token(client, f"{url}/chat")
        await drain(app, timeout=2)
        rest = b"".join([chunk async for chunk in body])
        await response.aclose()
        assert_ended_by_shutdown(seen + rest)
        refused = await client.post(f"{url}/chat", json={"question": "q"})
        assert refused.status_code == 503
        assert refused.json()["error"] == "shutting_down"
        assert "Retry-After" in refused.headers


async def test_streams_that_ended_leave_the_registry(server: Any) -> None:
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering("a"), max_streams=1))
    async with server(app) as url:
        for _ in range(3):  # with a cap of one, each request only works if the last one left
            response, stream = await post_stream(f"{url}/chat", {"question": "q"})
            assert response.status_code == 200 and stream.messages[-1] == "[DONE]"


SERVE_TWO_APPS_THEN_CTRL_C = """
import asyncio, os, signal, time
from quart import Quart
from quart_llmstream import LLMStream, create_blueprint

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (a background job inherits it ignored)
original = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
for explicit in (False, True):
    app = Quart(__name__)
    if explicit:
        LLMStream(app)
    app.register_blueprint(create_blueprint(lambda _: None))

    async def serve_once(app=app):
        await app.startup()
        assert signal.getsignal(signal.SIGINT) is not original[signal.SIGINT], "no handler while serving"
        await app.shutdown()

    asyncio.run(serve_once())
    assert {s: signal.getsignal(s) for s in original} == original, "handlers not restored"
try:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(5)
except KeyboardInterrupt:
    print("KeyboardInterrupt")
"""


def test_ctrl_c_after_serving_is_a_plain_keyboard_interrupt_and_handlers_are_restored() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_TWO_APPS_THEN_CTRL_C], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "KeyboardInterrupt"
    assert "Event loop is closed" not in done.stderr


@pytest.mark.parametrize("first", [None, False, True], ids=["after a keyless default", "after off", "alone"])
def test_langfuse_true_without_keys_fails_at_registration_whatever_came_before(
    first: bool | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LANGFUSE_PUBLIC_KEY", "LANGFUSE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = Quart(__name__)
    if first is not True:
        app.register_blueprint(create_blueprint(lambda _: answering("a"), name="first", langfuse=first))
    with pytest.raises(ConfigError, match="LANGFUSE_PUBLIC_KEY"):
        app.register_blueprint(create_blueprint(lambda _: answering("b"), name="traced", langfuse=True))


def test_the_extension_lives_in_app_extensions_and_is_shared_by_blueprints() -> None:
    app = Quart(__name__)
    extension = LLMStream()
    extension.init_app(app)
    app.register_blueprint(create_blueprint(lambda _: answering("a"), name="one"), url_prefix="/one")
    app.register_blueprint(create_blueprint(lambda _: answering("b"), name="two"), url_prefix="/two")
    assert app.extensions["llmstream"] is extension
    assert LLMStream.of(app) is extension


def test_an_llmstream_made_after_a_blueprint_registered_is_refused_not_silently_unused() -> None:
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering("a")))  # makes the app's default LLMStream
    with pytest.raises(ConfigError, match="before registering"):
        LLMStream(app, holds=LocalHolds())
    with pytest.raises(ConfigError, match="already"):
        LLMStream.of(app).init_app(app)
