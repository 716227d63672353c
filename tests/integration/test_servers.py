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

from helpers import SUPPORT, eventually, free_port, listening, read_until, subprocess_env
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
async def serving(name: str) -> AsyncIterator[tuple[str, subprocess.Popen[bytes], str]]:
    command, signalled = SERVERS[name]
    port = free_port()
    args = [sys.executable, "-m", *(part.format(port=port) for part in command)]
    process = subprocess.Popen(args, cwd=SUPPORT, env=subprocess_env(), start_new_session=True)
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
