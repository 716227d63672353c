"""The ASGI servers users deploy on, each started as its own process the way users start it: the stream
arrives as it is made, a client that leaves cancels its run, and SIGTERM ends open streams with the
``shutdown`` error frame and ``[DONE]`` before the server exits."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from helpers import (
    SUPPORT,
    eventually,
    free_port,
    langfuse_collector,
    listening,
    read_until,
    redis_server,
    subprocess_env,
)
from sse_parser import parse

SERVERS = {
    # Hypercorn's default runs one worker process; systemd and Ctrl-C signal the whole process group.
    "hypercorn": (["hypercorn", "server_app:app", "--bind", "127.0.0.1:{port}"], "group"),
    # One process, as in a container whose PID 1 alone gets the SIGTERM.
    "hypercorn --workers 0": (["hypercorn", "server_app:app", "--bind", "127.0.0.1:{port}", "--workers", "0"], "pid"),
    "uvicorn": (["uvicorn", "server_app:app", "--host", "127.0.0.1", "--port", "{port}"], "pid"),
    "granian": (["granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}", "server_app:app"], "pid"),
}


@asynccontextmanager
async def serving(name: str, **env: str) -> AsyncIterator[tuple[str, subprocess.Popen[bytes], str]]:
    command, signalled = SERVERS[name]
    port = free_port()
    args = [sys.executable, "-m", *(part.format(port=port) for part in command)]
    process = subprocess.Popen(args, cwd=SUPPORT, env=subprocess_env(**env), start_new_session=True)
    try:
        await listening(port, seconds=20)
        yield f"http://127.0.0.1:{port}", process, signalled
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.wait, 10)


@pytest.mark.parametrize("name", SERVERS)
async def test_each_server_streams_cancels_a_left_run_and_ends_streams_on_sigterm(name: str) -> None:
    async with serving(name) as (url, process, signalled), httpx.AsyncClient(timeout=20) as client:
        async with client.stream("POST", f"{url}/chat", json={"question": "q"}) as response:
            assert response.status_code == 200
            seen = await read_until(response.aiter_raw(), 3)  # arrives token by token: 1000 are due in 20 s
        assert len(parse(seen).messages) < 100

        async def left_run_cancelled() -> bool:
            return (await client.get(f"{url}/ended")).json()["ended"] == ["cancelled"]

        await eventually(left_run_cancelled, seconds=5)

        async with client.stream("POST", f"{url}/chat", json={"question": "q"}) as response:
            body = response.aiter_raw()
            seen = await read_until(body, 3)
            if signalled == "group":
                os.killpg(process.pid, signal.SIGTERM)
            else:
                process.send_signal(signal.SIGTERM)
            seen += b"".join([chunk async for chunk in body])
    stream = parse(seen)
    assert json.loads(stream.messages[-2])["code"] == "shutdown"
    assert stream.messages[-1] == "[DONE]" and stream.incomplete == ""
    assert await asyncio.to_thread(process.wait, 10) is not None


async def test_a_hypercorn_worker_ends_on_sigterm_only_once_its_streams_ends_are_in_redis() -> None:
    """A worker process ends by the signal itself (Hypercorn leaves SIGTERM at its default there): what other
    processes follow, its streams' ends in Redis and their leases let go, is written first."""
    import redis.asyncio as redis

    async with redis_server() as url:
        async with serving("hypercorn", SERVER_APP_REDIS=url) as (base, process, _):
            async with httpx.AsyncClient(timeout=20) as client:
                async with client.stream("POST", f"{base}/chat", json={"question": "q"}) as response:
                    stream_id, body = response.headers["X-Stream-Id"], response.aiter_raw()
                    seen = await read_until(body, 3)
                    os.killpg(process.pid, signal.SIGTERM)
                    seen += b"".join([chunk async for chunk in body])
            await asyncio.to_thread(process.wait, 10)
        kept = redis.from_url(url)
        keys = [key.decode() async for key in kept.scan_iter(f"*{stream_id}*")]
        [events] = [key for key in keys if key.endswith(":ev")]
        last = (await kept.xrevrange(events, count=1))[0][1][b"b"].decode()
        await kept.aclose()
    assert json.loads(parse(seen).messages[-2])["code"] == "shutdown"
    assert not [key for key in keys if key.endswith(":lease")], "its lease let go: the id is free again"
    assert '"shutdown"' in last, "the stream's end is in Redis, for a follower on another process"


async def test_a_hypercorn_worker_ended_by_sigterm_sends_its_runs_traces_to_langfuse_first() -> None:
    """The traces of the runs a worker ends at SIGTERM are exported before the process goes (Langfuse's exporter
    sends in batches, seconds apart: a worker that just ended would lose the last)."""
    async with langfuse_collector() as (collector, received):
        async with serving("hypercorn", SERVER_APP_LANGFUSE=collector) as (base, process, _):
            async with httpx.AsyncClient(timeout=20) as client:
                async with client.stream("POST", f"{base}/chat", json={"question": "traced at the end"}) as response:
                    body = response.aiter_raw()
                    await read_until(body, 3)
                    os.killpg(process.pid, signal.SIGTERM)
                    seen = b"".join([chunk async for chunk in body])
            await asyncio.to_thread(process.wait, 10)
    traces = b"".join(body for path, body in received if path.endswith("otel/v1/traces"))
    assert b'"shutdown"' in seen
    assert b"traced at the end" in traces, "the ended run's trace reached Langfuse before the worker went"
