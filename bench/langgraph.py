"""Scenario (l): the LangGraph protocol's cost — against the native protocol on the same graph, and against
LangGraph's own server (``langgraph dev``, from ``langgraph-cli[inmem]``) serving the same graph on the same core.

Each server runs pinned to one CPU (``langgraph dev`` with its whole process tree: it serves from a child), the
load on the other; CPU comes from ``/proc``, summed over the tree. Per token: sequential stateless runs of 200
tokens in ``messages-tuple``. Starts: 100 runs of one token, 10 at a time; runs per second of wall time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import load
from bench.processes import ROOT, SERVER_CPU, cpu_seconds, free_port, listening, server

REFERENCE = Path(__file__).parent / "langgraph_reference"


@contextlib.contextmanager
def langgraph_dev() -> Iterator[tuple[int, int]]:
    """LangGraph's own server on the bench graph, pinned to the server CPU; its session id (the tree's) and port."""
    port = free_port()
    langgraph = shutil.which("langgraph") or str(Path(sys.executable).parent / "langgraph")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "reference"
        shutil.copytree(REFERENCE, folder)
        command = ["taskset", "-c", str(SERVER_CPU), langgraph, "dev", "--no-browser", "--no-reload"]
        command += ["--port", str(port), "--allow-blocking"]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with listening(
            command,
            port,
            cwd=folder,
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as pid:
            for _ in range(600):  # it listens some seconds after it starts
                with contextlib.suppress(OSError):
                    import socket

                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                time.sleep(0.1)
            try:
                yield pid, port
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, 15)


def tree_cpu(session: int) -> float:
    """CPU seconds of every process of ``session``."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
                if int(fields[3]) == session:
                    total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _wire(tokens: int) -> load.Wire:
    base = load.WIRES["langgraph"]
    body = {**base.body, "input": {"messages": [{"role": "user", "content": str(tokens)}]}, "assistant_id": "agent"}
    return load.Wire(body, base.token, base.done, base.path)


async def _costs(port: int, cpu: Any, streams: int) -> dict[str, float]:
    await load.streams(port, 3, 200, 0.0, wire=_wire(200))  # warm up
    before = cpu()
    runs = [await load.stream(port, 200, 0.0, wire=_wire(200)) for _ in range(streams)]
    used = cpu() - before
    count = sum(len(r.arrivals) for r in runs)
    started = time.monotonic()
    done = 0
    for _ in range(10):
        batch = await asyncio.gather(*(load.stream(port, 1, 0.0, wire=_wire(1)) for _ in range(10)))
        done += sum(bool(r.arrivals) for r in batch)
    return {"cpu_us_per_token": used / max(count, 1) * 1e6, "starts_per_s": done / (time.monotonic() - started)}


async def langgraph_costs(streams: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with server("langgraph-bench") as (pid, port):
        results["ours"] = await _costs(port, lambda: cpu_seconds(pid), streams)
    with langgraph_dev() as (session, port):
        results["langgraph dev"] = await _costs(port, lambda: tree_cpu(session), streams)
    return results
