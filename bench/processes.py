"""The benchmark's server processes and what they cost: each server runs in its own process pinned to
CPU 0 (the load generator and redis-server on CPU 1); CPU and memory come from ``/proc``."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import load

SERVER_CPU, LOAD_CPU = 0, 1
TICKS = os.sysconf("SC_CLK_TCK")
ROOT = Path(__file__).parent.parent


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def resident_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


BASELINES: dict[str, Path] = {}  # "@<rev>" -> a folder holding that revision's quart_llmstream


def baseline(rev: str) -> str:
    """Extract ``quart_llmstream`` as it was at git revision ``rev``; servers named ``<app>@<rev>`` run it."""
    folder = Path(tempfile.mkdtemp(prefix="llmstream-baseline-"))
    archive = subprocess.run(["git", "archive", rev, "quart_llmstream"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    BASELINES[f"@{rev}"] = folder
    return f"@{rev}"


@contextlib.contextmanager
def listening(command: list[str], port: int, cpu: int | None = None, **popen: Any) -> Iterator[int]:
    """Run ``command`` (a server that binds ``port``), pinned to ``cpu``; its pid once it listens."""
    process = subprocess.Popen(command, **popen)
    if cpu is not None:
        os.sched_setaffinity(process.pid, {cpu})
    try:
        for _ in range(400):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.1):
                break
            time.sleep(0.025)
        yield process.pid
    finally:
        process.terminate()
        process.wait(10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def package_at(app: str) -> tuple[str, dict[str, str], Path]:
    """The app's name, and the environment and folder a process of ``app`` starts in: ``<app>@<rev>`` imports
    the package of that revision. (``python -m`` puts its folder first on ``sys.path``: started in this tree,
    it would import this tree's package whatever ``PYTHONPATH`` says.)"""
    name, at, rev = app.partition("@")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if not at:
        return name, env, ROOT
    folder = BASELINES[at + rev]
    return name, env | {"BENCH_PACKAGE": str(folder)}, folder


@contextlib.contextmanager
def server(app: str) -> Iterator[tuple[int, int]]:
    port = free_port()
    name, env, folder = package_at(app)
    command = [sys.executable, "-m", "bench.server", name, str(port), str(SERVER_CPU)]
    with listening(command, port, cwd=folder, env=env) as pid:
        yield pid, port


async def cpu_per_token(app: str, streams: int, tokens: int) -> dict[str, float]:
    """Scenario (a) and (f): sequential streams, no delay."""
    wire = load.WIRES.get(app.partition("@")[0], load.WIRES["native"])
    with server(app) as (pid, port):
        await load.streams(port, 2, tokens, 0.0, wire=wire)  # warm up
        before = cpu_seconds(pid)
        runs = [await load.stream(port, tokens, 0.0, wire=wire) for _ in range(streams)]
        used = cpu_seconds(pid) - before
    count = sum(len(r.arrivals) for r in runs)
    return {"cpu_us_per_token": used / count * 1e6, "bytes_per_token": sum(r.body_bytes for r in runs) / count}


async def side_by_side(apps: list[str], streams: int, rounds: int = 3) -> dict[str, dict[str, float]]:
    """Scenario (g): CPU per token of servers measured in turns, best of ``rounds`` each, so that a
    change of machine load hits them alike."""
    best: dict[str, dict[str, float]] = {}
    for _ in range(rounds):
        for app in apps:
            figures = await cpu_per_token(app, streams, 200)
            if app not in best or figures["cpu_us_per_token"] < best[app]["cpu_us_per_token"]:
                best[app] = figures
    return best


@contextlib.contextmanager
def redis_server() -> Iterator[tuple[int, int]]:
    """A ``redis-server`` with no persistence on the load generator's CPU; its pid and port."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with listening(command, port, LOAD_CPU, stdout=subprocess.DEVNULL) as pid:
        yield pid, port


async def cpu_per_start(app: str, starts: int) -> float:
    """Milliseconds of server CPU per stream start: sequential 1-token streams (a request's whole path, from the
    body to the final frame, with next to nothing streamed)."""
    with server(app) as (pid, port):
        for _ in range(20):  # warm up
            await load.stream(port, 1, 0.0)
        before = cpu_seconds(pid)
        for _ in range(starts):
            await load.stream(port, 1, 0.0)
        return (cpu_seconds(pid) - before) / starts * 1e3


async def starts_side_by_side(apps: list[str], starts: int, rounds: int = 3) -> dict[str, float]:
    """Start-up CPU of servers measured in turns, best of ``rounds`` each (as :func:`side_by_side`)."""
    best: dict[str, float] = {}
    for _ in range(rounds):
        for app in apps:
            best[app] = min(best.get(app, float("inf")), await cpu_per_start(app, starts))
    return best
