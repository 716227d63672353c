"""Scenario (s), the ASGI servers users deploy on: Hypercorn, Uvicorn and Granian, each started from its own
command line on one core (the whole process tree pinned to CPU 0), serving the lean source. Stream starts per
second: clients that open a 1-token stream after another, for a few seconds; CPU per token: sequential
streams of 200 tokens."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import load
from bench.processes import ROOT, SERVER_CPU, free_port, listening

COMMANDS = {
    "hypercorn": ["hypercorn", "bench.asgi:app", "--bind", "127.0.0.1:{port}", "--workers", "0"],
    "uvicorn": ["uvicorn", "bench.asgi:app", "--host", "127.0.0.1", "--port", "{port}", "--no-access-log"],
    "granian": [
        "granian",
        "--interface",
        "asgi",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
        "--no-access-log",
        "bench.asgi:app",
    ],
}
CLIENTS = 16  # concurrent clients, each opening its next stream when the last one ends


def tree_cpu_seconds(pid: int) -> float:
    """CPU of a process and all its descendants (a server's workers)."""
    from bench.processes import cpu_seconds

    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            total += cpu_seconds(current)
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(child) for child in (task / "children").read_text().split()]
    return total


@contextlib.contextmanager
def started(name: str) -> Iterator[tuple[int, int]]:
    port = free_port()
    command = [sys.executable, "-m", *(part.format(port=port) for part in COMMANDS[name])]
    env = {**os.environ, "BENCH_APP": "lean"}
    pin = lambda: os.sched_setaffinity(0, {SERVER_CPU})  # noqa: E731  # inherited by every worker
    with listening(command, port, cwd=ROOT, env=env, preexec_fn=pin, stdout=asyncio.subprocess.DEVNULL) as pid:
        yield pid, port


async def starts_per_second(port: int, pid: int, seconds: float) -> dict[str, float]:
    done = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            run = await load.stream(port, 1, 0.0)
            done += len(run.arrivals) == 1

    before, began = tree_cpu_seconds(pid), time.monotonic()
    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    elapsed, used = time.monotonic() - began, tree_cpu_seconds(pid) - before
    return {"starts_per_s": done / elapsed, "cpu_ms_per_start": used / max(done, 1) * 1e3}


async def server_costs(seconds: float, streams: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name in COMMANDS:
        with started(name) as (pid, port):
            await load.streams(port, 4, 10, 0.0)  # warm up
            figures = await starts_per_second(port, pid, seconds)
            before = tree_cpu_seconds(pid)
            runs = [await load.stream(port, 200, 0.0) for _ in range(streams)]
            tokens = sum(len(r.arrivals) for r in runs)
            figures["cpu_us_per_token"] = (tree_cpu_seconds(pid) - before) / tokens * 1e6
            figures["complete"] = sum(len(r.arrivals) == 200 for r in runs)
        results[name] = figures
    return results
