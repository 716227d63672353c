"""Test helpers: a real Hypercorn server on loopback, a client that reads its streams, and waiting."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import inspect
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from hypercorn.asyncio import serve
from hypercorn.config import Config
from quart import Quart

from sse_parser import ParsedStream, parse


@asynccontextmanager
async def running(app: Quart, **config: Any) -> AsyncIterator[str]:
    """Serve ``app`` with Hypercorn on a free loopback port; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    hypercorn_config = Config()
    hypercorn_config.bind = [f"fd://{sock.detach()}"]
    hypercorn_config.graceful_timeout = config.pop("graceful_timeout", 1.0)
    hypercorn_config.accesslog = None
    for key, value in config.items():
        setattr(hypercorn_config, key, value)
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, hypercorn_config, shutdown_trigger=stop.wait))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)


@asynccontextmanager
async def langfuse_collector() -> AsyncIterator[tuple[str, list[tuple[str, bytes]]]]:
    """A loopback stand-in for a Langfuse host: its URL, and each request's path and (unzipped) body."""
    from quart import request

    received: list[tuple[str, bytes]] = []
    collector = Quart("collector")

    @collector.route("/<path:path>", methods=["GET", "POST"])
    async def collect(path: str) -> dict[str, Any]:
        body = await request.get_data()
        received.append((path, gzip.decompress(body) if request.headers.get("Content-Encoding") == "gzip" else body))
        return {}

    async with running(collector) as url:
        yield url, received


async def post_stream(url: str, body: Any = None, **kwargs: Any) -> tuple[httpx.Response, ParsedStream]:
    """POST a chat request over real TCP and read the whole streamed body as a browser would."""
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("POST", url, json=body, **kwargs) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
    return response, parse(raw)


async def read_until(body: AsyncIterator[bytes], messages: int) -> bytes:
    """Read a streamed body until it holds ``messages`` unnamed messages; the rest stays unread."""
    seen = b""
    async for chunk in body:
        seen += chunk
        if len(parse(seen).messages) >= messages:
            break
    return seen


async def leave_after(url: str, messages: int, body: Any = None) -> float:
    """POST a chat request, read ``messages`` messages, then disconnect; return when the client left."""
    async with httpx.AsyncClient() as client:
        async with client.stream("POST", url, json=body or {"question": "q"}) as response:
            await read_until(response.aiter_raw(), messages)
    return time.monotonic()


async def drop_after(url: str, body: Any, messages: int, headers: Any = None) -> tuple[str, ParsedStream]:
    """POST a chat request, read ``messages`` messages, disconnect; the stream's id and what was read."""
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", url, json=body, headers=headers or {}) as response:
            assert response.status_code == 200, await response.aread()
            seen = await read_until(response.aiter_raw(), messages)
            return response.headers["X-Stream-Id"], parse(seen)


async def resume_from(url: str, last_event_id: str | None = None, headers: Any = None) -> tuple[int, ParsedStream]:
    """GET a stream's resume route (after ``last_event_id``, when given) to its end; status and stream."""
    sent = dict(headers or {}) | ({"Last-Event-ID": last_event_id} if last_event_id is not None else {})
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("GET", url, headers=sent) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            return response.status_code, parse(raw)


def token_texts(stream: ParsedStream) -> list[str]:
    """The tokens among a native stream's messages."""
    return [json.loads(data)["token"] for data in stream.messages if data.startswith('{"token"')]


def assert_resumed(first: ParsedStream, rest: ParsedStream, expected: list[str]) -> None:
    """The first response's tokens and the resumed one's are exactly ``expected``, each once, then [DONE]."""
    assert token_texts(first) + token_texts(rest) == expected
    assert rest.messages[-1] == "[DONE]" and rest.incomplete == ""
    ids = [int(event.id) for event in first.events + rest.events]
    assert ids == sorted(set(ids)), "SSE ids are monotonic, none repeated"


async def eventually(condition: Callable[[], Any], seconds: float = 3.0) -> None:
    """Wait until ``condition()`` holds (awaited, when it returns an awaitable), or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not ((await held) if inspect.isawaitable(held := condition()) else held):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds}s: {condition}")
        await asyncio.sleep(0.005)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def listening(port: int, seconds: float = 10.0) -> None:
    """Wait until a server (a subprocess) accepts connections on ``port``."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def chat_app(runnable: Any, url_prefix: str | None = None, **options: Any) -> Quart:
    """An app with one chat blueprint serving ``runnable`` (or a factory: any callable that is not a runnable)."""
    from langchain_core.runnables import Runnable

    from quart_llmstream import create_blueprint

    factory = (lambda _: runnable) if isinstance(runnable, Runnable) else runnable
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(factory, **options), url_prefix=url_prefix)
    return app


def tokens(messages: list[str]) -> list[str]:
    """The tokens of a native stream, checking it ends with [DONE] and holds nothing else."""
    assert messages[-1] == "[DONE]"
    return [json.loads(m)["token"] for m in messages[:-1]]


@asynccontextmanager
async def redis_server(port: int | None = None, *, cluster: bool = False) -> AsyncIterator[str]:
    """A ``redis-server`` of the tests' own on a free loopback port, with no persistence; yields its URL.
    With ``cluster``, a Redis Cluster of that one node, holding every slot."""
    async with _redis_process(port or free_port(), cluster=cluster) as port:
        if cluster:
            await _redis_cli(port, "cluster", "addslotsrange", "0", "16383")
            await _cluster_ok(port)
        yield f"redis://127.0.0.1:{port}/0"


@asynccontextmanager
async def redis_cluster(nodes: int = 3) -> AsyncIterator[list[str]]:
    """A Redis Cluster of ``nodes`` primaries, joined as users join one (``redis-cli --cluster create``),
    each holding a share of the slots; yields the nodes' URLs."""
    async with contextlib.AsyncExitStack() as stack:
        ports = [await stack.enter_async_context(_redis_process(free_port(), cluster=True)) for _ in range(nodes)]
        addresses = [f"127.0.0.1:{port}" for port in ports]
        await _redis_cli(ports[0], "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes")
        for port in ports:
            await _cluster_ok(port)
        yield [f"redis://{address}/0" for address in addresses]


@asynccontextmanager
async def _redis_process(port: int, *, cluster: bool) -> AsyncIterator[int]:
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with tempfile.TemporaryDirectory() as folder:
        if cluster:
            command += ["--cluster-enabled", "yes", "--cluster-config-file", f"{folder}/nodes.conf"]
            command += ["--cluster-port", str(free_port())]  # the default, port + 10000, may be taken or past 65535
        process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            await listening(port)
            yield port
        finally:
            process.kill()
            await asyncio.to_thread(process.wait, 10)


async def _cluster_ok(port: int) -> None:
    def ok() -> bool:
        return b"cluster_state:ok" in subprocess.check_output(["redis-cli", "-p", str(port), "cluster", "info"])

    await eventually(ok, seconds=15)


async def _redis_cli(port: int, *args: str) -> None:
    await asyncio.to_thread(subprocess.run, ["redis-cli", "-p", str(port), *args], check=True, capture_output=True)


SUPPORT = Path(__file__).parent
"""The tests' own modules: fakes, helpers, and the apps the tests serve in processes of their own."""
TESTS = SUPPORT.parent


def subprocess_env(**env: str) -> dict[str, str]:
    """The environment of a server process the tests start: theirs, with the tests' modules and
    ``example_app`` importable."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(SUPPORT), str(TESTS.parent)]), **env}


@asynccontextmanager
async def app_process(module: str, **env: str) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """``hypercorn tests/support/<module>:app`` in a process of its own on a free port; yields its URL and process."""
    port = free_port()
    command = [sys.executable, "-m", "hypercorn", f"{module}:app", "--bind", f"127.0.0.1:{port}", "--workers", "0"]
    process = subprocess.Popen(command, cwd=SUPPORT, env=subprocess_env(**env))
    try:
        await listening(port)
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.terminate()
            await asyncio.to_thread(process.wait, 10)


JS = TESTS / "js"


@cache
def node_clients() -> None:
    """``npm ci`` once per session, from the lock file: the JS clients at their pinned versions."""
    if shutil.which("node") is None:
        raise RuntimeError("node is needed for the protocol tests (Debian: apt-get install nodejs npm)")
    lock, installed = JS / "package-lock.json", JS / "node_modules" / ".package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS, check=True, capture_output=True, timeout=300)


async def node(script: str, **args: Any) -> dict[str, Any]:
    """Run ``tests/js/<script>`` with ``args`` as its JSON argument; its last printed line, parsed."""
    await asyncio.to_thread(node_clients)
    process = await asyncio.create_subprocess_exec(
        "node", str(JS / script), json.dumps(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()[-3000:]
    return json.loads(out.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


class Cutter:
    """A TCP proxy on loopback in front of a server; ``cut()`` drops every open connection at once, as a
    lost network or a restarted balancer does, while new connections still get through."""

    def __init__(self, url: str) -> None:
        self._upstream = url.removeprefix("http://").split(":")
        self._open: set[asyncio.StreamWriter] = set()
        self.connections = 0

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        self.cut()
        self._server.close()

    def cut(self) -> None:
        for writer in self._open:
            writer.transport.abort()
        self._open.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        host, port = self._upstream
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self._open |= {writer, up_writer}
        await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer), return_exceptions=True)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    finally:
        writer.transport.abort()
