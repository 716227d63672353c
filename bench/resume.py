"""Scenario (r), resume on Redis: what resume costs the server and Redis, how fast a resume or a cancel
reaches another process, and how many followers of one stream a process serves."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from bench import load
from bench.processes import cpu_per_token, cpu_seconds, percentile, redis_server, server, side_by_side


async def resume_costs(streams: int, tries: int) -> dict[str, Any]:
    """Scenario (r), resume on Redis: server CPU per token beside the same source without resume, and
    Redis's own; from a resume request on another process to its first replayed frame; bytes per stored token."""
    import redis.asyncio as aioredis

    with redis_server() as (redis_pid, redis_port):
        os.environ["BENCH_REDIS"] = url = f"redis://127.0.0.1:{redis_port}/0"
        results: dict[str, Any] = await side_by_side(["default", "resume-redis"], streams)
        before = cpu_seconds(redis_pid)
        await cpu_per_token("resume-redis", streams, 200)
        results["redis_cpu_us_per_token"] = (cpu_seconds(redis_pid) - before) / ((streams + 2) * 200) * 1e6
        finished, running = [], []
        with server("resume-redis") as (_, a), server("resume-redis") as (b_pid, b):
            results["followers"] = await crowd(a, b, b_pid, tries * 5)
            results["cancel_ms"] = await cancel_elsewhere(a, b, tries)
            for i in range(tries):
                await load.stream(a, 200, 0.0, id=f"done-{i}")
                finished.append(await load.first_resumed_frame(b, f"/chat/done-{i}/stream", "100"))
                await load.stream(a, 400, 0.005, leave_after=20, id=f"live-{i}")
                running.append(await load.first_resumed_frame(b, f"/chat/live-{i}/stream", "10"))
            await load.stream(a, 100, 0.02, id="paced")  # 50 tokens/s: about one token per entry
        redis = aioredis.Redis.from_url(url)
        stored = {sid: await _stored_bytes(redis, sid) for sid in ("done-0", "paced")}
        await redis.aclose()
    ms = {"finished": finished, "running": running}
    results["resume_ms"] = {k: (percentile(v, 50) * 1e3, percentile(v, 99) * 1e3, len(v)) for k, v in ms.items()}
    results["bytes_per_token"] = {"burst": stored["done-0"] / 200, "paced": stored["paced"] / 100}
    return results


async def crowd(a: int, b: int, b_pid: int, followers: int) -> dict[str, float]:
    """Many followers of one stream that runs on process ``a``, all on process ``b``: ``b``'s CPU per
    frame it delivers, and whether every follower got every token."""
    producing = asyncio.create_task(load.stream(a, 400, 0.005, id="crowd"))
    await asyncio.sleep(0.1)
    before = cpu_seconds(b_pid)
    runs = await asyncio.gather(*(load.follow(b, "/chat/crowd/stream") for _ in range(followers)))
    used = cpu_seconds(b_pid) - before
    await producing
    frames = sum(len(run.arrivals) for run in runs)
    complete = sum(len(run.arrivals) == 400 for run in runs)
    return {"count": followers, "complete": complete, "cpu_us_per_frame": used / max(frames, 1) * 1e6}


async def cancel_elsewhere(a: int, b: int, tries: int) -> tuple[float, float, int]:
    """From a cancel sent to process ``b`` to the final frame of the stream process ``a`` serves: p50, p99 (ms)."""
    latencies = []
    for i in range(tries):
        run = load.StreamRun()
        streaming = asyncio.create_task(load.stream(a, 1000, 0.005, run=run, id=f"stop-{i}"))
        while len(run.arrivals) < 3:
            await asyncio.sleep(0.002)
        asked = time.monotonic()
        assert await load.post_empty(b, f"/chat/stop-{i}/cancel") == 202
        await streaming
        latencies.append(run.ended - asked)
    return percentile(latencies, 50) * 1e3, percentile(latencies, 99) * 1e3, len(latencies)


async def _stored_bytes(redis: Any, stream_id: str) -> int:
    keys = [f"llmstream:{{{stream_id}}}:{part}" for part in ("ev", "meta")]  # the store's key layout
    return sum([await redis.memory_usage(key) or 0 for key in keys])
