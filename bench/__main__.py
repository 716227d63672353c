"""Run the benchmark: ``.venv/bin/python -m bench [--quick]``.

Each server runs in its own process pinned to CPU 0; this process, the load generator, runs on
CPU 1. Server CPU comes from ``/proc/<pid>/stat``. The table is printed and written as JSON to
``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

from bench import load
from bench.attachments import attachment_costs
from bench.bodies import refusal_costs
from bench.calls import calls_per_token
from bench.langgraph import langgraph_costs
from bench.library import pipeline
from bench.metrics import metrics_costs, metrics_rows
from bench.processes import (
    LOAD_CPU,
    SERVER_CPU,
    baseline,
    cpu_per_token,
    cpu_seconds,
    percentile,
    resident_kib,
    server,
    side_by_side,
    starts_side_by_side,
)
from bench.resume import resume_costs
from bench.servers import server_costs
from bench.state import predicted_costs
from bench.threads import thread_costs, thread_rows

SPREAD = 1.0  # seconds over which concurrent streams start
RESULTS = Path(__file__).parent / "results"


PROTOCOL_APPS = ("ai-sdk", "ag-ui", "openai")


async def in_process_cpu_per_token(streams: int, tokens: int) -> float:
    """Scenario (a): iterating astream_events in this process, no HTTP at all."""
    os.sched_setaffinity(0, {SERVER_CPU})

    async def run() -> int:
        count = 0
        for _ in range(streams):
            chain = pipeline(tokens, 0.0)
            async for event in chain.astream_events({"question": "q", "chat_history": []}, version="v2"):
                count += event["event"] == "on_chat_model_stream"
        return count

    await run()  # warm up
    before = time.process_time()
    count = await run()
    used = time.process_time() - before
    os.sched_setaffinity(0, {LOAD_CPU})
    return used / count * 1e6


async def concurrent(port: int, pid: int, count: int, tokens: int, delay: float) -> dict[str, float]:
    """Scenario (b), and one step of (c): concurrent paced streams."""
    before, load_before = cpu_seconds(pid), time.process_time()
    runs = await load.streams(port, count, tokens, delay, spread=SPREAD)
    used, load_used = cpu_seconds(pid) - before, time.process_time() - load_before
    gaps = [gap for r in runs for gap in r.gaps]
    received = sum(len(r.arrivals) for r in runs)
    return {
        "streams": count,
        "complete": sum(len(r.arrivals) == tokens for r in runs),
        "p50_gap_ms": percentile(gaps, 50) * 1e3,
        "p99_gap_ms": percentile(gaps, 99) * 1e3,
        "p50_duration_s": percentile([r.ended - r.started for r in runs], 50),
        "cpu_us_per_token": used / max(received, 1) * 1e6,
        "load_cpu_us_per_token": load_used / max(received, 1) * 1e6,
    }


async def sweep(app: str, steps: list[int], tokens: int, delay: float) -> dict[str, Any]:
    """Scenario (c): the most concurrent streams one core holds with a p99 gap under 100 ms."""
    held, trail = 0, []
    with server(app) as (pid, port):
        await load.streams(port, 2, 10, 0.0)
        for count in steps:
            step = await concurrent(port, pid, count, tokens, delay)
            trail.append((count, round(step["p99_gap_ms"], 1)))
            if step["p99_gap_ms"] > 100 or step["complete"] < count:
                break
            held = count
    return {"max_streams": held, "trail": trail}


async def idle_memory(app: str, count: int) -> float:
    """Scenario (d): resident memory per open, idle stream."""
    with server(app) as (pid, port):
        await load.streams(port, 5, 10, 0.0)
        await asyncio.sleep(0.5)
        before = resident_kib(pid)
        runs = [load.StreamRun() for _ in range(count)]  # a token at once, then silence: idle, mid-answer
        opened = [asyncio.create_task(load.stream(port, 2, 3600.0, run=run, first_delay=0.0)) for run in runs]
        for _ in range(600):  # until every stream has its first token
            await asyncio.sleep(0.05)
            if all(run.arrivals for run in runs):
                break
        await asyncio.sleep(1.0)
        grown = resident_kib(pid) - before
        for task in opened:
            task.cancel()
        await asyncio.gather(*opened, return_exceptions=True)
    return grown / count


async def cancel_latency(app: str, times: int) -> dict[str, float]:
    """Scenario (e): from a client's disconnect to the run's cancellation."""
    latencies = []
    with server(app) as (_, port):
        for _ in range(times):
            seen = len((await load.get_json(port, "/cancelled"))["times"])  # type: ignore[index]
            run = await load.stream(port, 1000, 0.005, leave_after=3)
            for _ in range(200):
                cancelled = (await load.get_json(port, "/cancelled"))["times"]  # type: ignore[index]
                if len(cancelled) > seen:
                    latencies.append(cancelled[-1] - run.ended)
                    break
                await asyncio.sleep(0.005)
    return {"p50_ms": percentile(latencies, 50) * 1e3, "p99_ms": percentile(latencies, 99) * 1e3, "n": len(latencies)}


async def main(quick: bool, scenarios: str, rev: str | None) -> dict[str, Any]:
    os.sched_setaffinity(0, {LOAD_CPU})
    scale = 0.5 if quick else 1.0
    results: dict[str, Any] = {"machine": f"{os.cpu_count()} CPUs", "quick": quick}
    a_streams = int(20 * scale)
    if rev is not None:
        at = baseline(rev)
        apps = [app for name in ("default", "lean") for app in (name, name + at)]
        # 4x the streams: the lean source's CPU must span many of /proc's 10 ms ticks to compare within 5%
        results["g"] = {"rev": rev, **await side_by_side(apps, a_streams * 4)}
        starts = await starts_side_by_side(apps, int(400 * scale))
        for app in apps:
            results["g"][app] |= calls_per_token(app)
            results["g"][app]["cpu_ms_per_start"] = starts[app]
    if "h" in scenarios:
        results["h"] = await side_by_side(["default", *PROTOCOL_APPS], a_streams)
    if "r" in scenarios:
        results["r"] = await resume_costs(a_streams, int(40 * scale))
    if "s" in scenarios:
        results["s"] = await server_costs(4 * scale, a_streams)
    if "m" in scenarios:
        results["m"] = await attachment_costs(int(20 * scale))
    if "x" in scenarios:
        results["x"] = await refusal_costs(int(6 * scale))
    if "p" in scenarios:
        results["p"] = await thread_costs(int(300 * scale))
    if "l" in scenarios:
        results["l"] = await side_by_side(["graph-native", "langgraph"], a_streams)
        results["l"]["reference"] = await langgraph_costs(a_streams)
    if "o" in scenarios:
        results["o"] = await metrics_costs(a_streams * 4)  # 4x: the lean source's CPU over many ticks
    if "t" in scenarios:
        results["t"] = await side_by_side(["graph-no-state", "graph-state"], a_streams)
        results["t"]["predicted"] = predicted_costs()
    if "a" not in scenarios:
        return results
    results["a"] = {app: await cpu_per_token(app, a_streams, 200) for app in ("hand", "default", "lean")}
    results["a"]["in_process_astream_events"] = {"cpu_us_per_token": await in_process_cpu_per_token(a_streams, 200)}
    results["b"] = {}
    for app in ("hand", "default", "lean"):
        with server(app) as (pid, port):
            await load.streams(port, 2, 10, 0.0)
            results["b"][app] = await concurrent(port, pid, 50, 100, 0.02)
    steps = [50, 100, 150, 200, 250, 300, 400, 500]
    results["c"] = {app: await sweep(app, steps, int(100 * scale), 0.02) for app in ("default", "lean")}
    results["d"] = {app: {"kib_per_stream": await idle_memory(app, int(1000 * scale))} for app in ("default", "lean")}
    results["e"] = {app: await cancel_latency(app, int(40 * scale)) for app in ("default", "lean")}
    return results


def table(r: dict[str, Any]) -> str:
    """One row per scenario and server: scenario, server, figure, target."""
    scenarios = _side_by_side_rows(r["g"]) if "g" in r else []
    if "h" in r:
        scenarios += _protocol_rows(r["h"])
    if "r" in r:
        scenarios += _resume_rows(r["r"])
    if "s" in r:
        scenarios += _server_rows(r["s"])
    if "m" in r:
        scenarios += _media_rows(r["m"])
    if "x" in r:
        scenarios += _refusal_rows(r["x"])
    if "o" in r:
        scenarios += metrics_rows(r["o"])
    if "t" in r:
        scenarios += _state_rows(r["t"])
    if "p" in r:
        scenarios += thread_rows(r["p"])
    if "l" in r:
        scenarios += _langgraph_rows(r["l"])
    if "a" in r:
        scenarios += _rows(r)
    rows = [(label if i == 0 else "", *row) for label, lines in scenarios for i, row in enumerate(lines)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows)


Rows = list[tuple[str, list[tuple[str, str, str]]]]


def _side_by_side_rows(g: dict[str, Any]) -> Rows:
    rev = g["rev"]
    lines = []
    for app in ("default", "lean"):
        now, before = g[app]["cpu_us_per_token"], g[f"{app}@{rev}"]["cpu_us_per_token"]
        calls, calls_before = g[app]["calls_per_token"], g[f"{app}@{rev}"]["calls_per_token"]
        figure = f"{now:.0f} vs {before:.0f} µs ({now / before:.2f}x); calls {calls:.2f} vs {calls_before:.2f}"
        lines.append((f"library {app}", figure, "<= 1.05x"))
        start, start_before = g[app]["cpu_ms_per_start"], g[f"{app}@{rev}"]["cpu_ms_per_start"]
        calls, calls_before = g[app]["calls_per_start"], g[f"{app}@{rev}"]["calls_per_start"]
        figure = (
            f"{start:.2f} vs {start_before:.2f} ms CPU per 1-token stream ({start / start_before:.3f}x); "
            f"calls {calls:.0f} vs {calls_before:.0f}"
        )
        lines.append((f"library {app}, start-up", figure, "<= 1.03x"))
    return [(f"(g) CPU per token and per start, Python calls per token, this tree vs {rev}, side by side", lines)]


def _protocol_rows(h: dict[str, Any]) -> Rows:
    native = h["default"]
    lines = [("native", f"{native['cpu_us_per_token']:.0f} µs/tok, {native['bytes_per_token']:.1f} B/tok", "")]
    for app in PROTOCOL_APPS:
        cpu, size = h[app]["cpu_us_per_token"], h[app]["bytes_per_token"]
        figure = f"{cpu:.0f} µs/tok ({cpu / native['cpu_us_per_token']:.2f}x), {size:.1f} B/tok"
        lines.append((app, figure, "CPU <= 1.15x native"))
    return [("(h) protocols, 1 stream x 200 tokens, default source", lines)]


def _resume_rows(r: dict[str, Any]) -> Rows:
    plain, resumed = r["default"]["cpu_us_per_token"], r["resume-redis"]["cpu_us_per_token"]
    lines = [
        ("server CPU", f"{resumed:.0f} vs {plain:.0f} µs/tok without resume ({resumed / plain:.2f}x)", "<= 1.3x"),
        ("redis-server CPU", f"{r['redis_cpu_us_per_token']:.1f} µs/tok", ""),
        *[
            (f"resume -> 1st frame, {k}", f"p50 {p50:.1f} / p99 {p99:.1f} ms (n={n})", "")
            for k, (p50, p99, n) in r["resume_ms"].items()
        ],
        *[(f"Redis bytes/token, {k}", f"{v:.0f}", "") for k, v in r["bytes_per_token"].items()],
        ("cancel on B -> final frame from A", "p50 {:.1f} / p99 {:.1f} ms (n={})".format(*r["cancel_ms"]), "<= 100 ms"),
        (
            f"{r['followers']['count']} followers of 1 stream",
            f"{r['followers']['cpu_us_per_frame']:.1f} µs/frame delivered, {r['followers']['complete']} whole",
            "",
        ),
    ]
    return [("(r) resume on Redis, default source, other process resumes", lines)]


def _server_rows(s: dict[str, Any]) -> Rows:
    lines = [
        (
            name,
            f"{f['starts_per_s']:.0f} starts/s ({f['cpu_ms_per_start']:.2f} ms CPU each), "
            f"{f['cpu_us_per_token']:.0f} µs/tok",
            "",
        )
        for name, f in s.items()
    ]
    return [("(s) servers, one core, lean source: 1-token streams; 200-token streams", lines)]


def _media_rows(m: dict[str, Any]) -> Rows:
    lines = [
        (
            "server CPU per request",
            f"{m['with_image']['cpu_ms']:.1f} vs {m['without']['cpu_ms']:.1f} ms without "
            f"(the image: {m['image_cpu_ms']:.1f} ms)",
            "image <= 50 ms",
        ),
        (
            "reading it (in-process)",
            f"{m['read_cpu_ms']:.1f} ms CPU; peak {m['peak_x']:.2f}x the image, "
            f"{m['held_x']:.2f}x held while it streams",
            "peak <= 3x",
        ),
    ]
    return [("(m) a request with a 5 MB image (data URL), lean source, 1-token answer", lines)]


def _refusal_rows(x: dict[str, Any]) -> Rows:
    lines = [
        (
            protocol,
            f"{f['cpu_s'] * 1e3:.0f} ms CPU per refusal of {f['mb']:.1f} MB, {f['messages']} messages "
            f"(status {f['statuses']})",
            "<= 500 ms",
        )
        for protocol, f in x.items()
    ]
    return [("(x) a 15 MB body of ~300,000 messages refused (max_history 100), server CPU", lines)]


def _langgraph_rows(lg: dict[str, Any]) -> Rows:
    native, langgraph = lg["graph-native"]["cpu_us_per_token"], lg["langgraph"]["cpu_us_per_token"]
    lines = [
        ("native protocol", f"{native:.0f} µs/tok", ""),
        ("LangGraph protocol, messages-tuple", f"{langgraph:.0f} µs/tok ({langgraph / native:.2f}x)", "<= 1.15x"),
    ]
    ours, theirs = lg["reference"]["ours"], lg["reference"]["langgraph dev"]
    cpu = ours["cpu_us_per_token"] / theirs["cpu_us_per_token"]
    starts = ours["starts_per_s"] / theirs["starts_per_s"]
    reference = [
        (
            "CPU per token",
            f"{ours['cpu_us_per_token']:.0f} vs {theirs['cpu_us_per_token']:.0f} µs ({cpu:.2f}x)",
            "<= 0.5x",
        ),
        (
            "runs started per second",
            f"{ours['starts_per_s']:.1f} vs {theirs['starts_per_s']:.1f} ({starts:.1f}x)",
            ">= 2x",
        ),
    ]
    return [
        ("(l) a one-node LangGraph graph, 200 tokens, native vs the LangGraph protocol", lines),
        ("(l) the same graph: the LangGraph protocol vs LangGraph's own server (langgraph dev), one core", reference),
    ]


def _state_rows(t: dict[str, Any]) -> Rows:
    off, on = t["graph-no-state"]["cpu_us_per_token"], t["graph-state"]["cpu_us_per_token"]
    lines = [
        ("state off (state_keys=[])", f"{off:.0f} µs/tok", ""),
        ("state on (every key but messages)", f"{on:.0f} µs/tok ({on / off:.2f}x)", ""),
    ]
    short, long = t["predicted"]["short"], t["predicted"]["long"]
    figure = (
        f"{short['kb']:.0f} KB: {short['cpu_ms']:.0f} ms, {short['events']} events; {long['kb']:.0f} KB: "
        f"{long['cpu_ms']:.0f} ms ({long['cpu_ms'] / short['cpu_ms']:.1f}x)"
    )
    predicted = [("predicted argument, 5-char chunks", figure, "4x the size <= 6x")]
    return [
        ("(t) a 10-step LangGraph graph, 200 tokens in its last step, default source", lines),
        ("(t) a long predicted tool argument, in-process", predicted),
    ]


def _rows(r: dict[str, Any]) -> Rows:
    hand = r["a"]["hand"]["cpu_us_per_token"]

    def gaps(b: dict[str, float]) -> str:
        return (
            f"p50 {b['p50_gap_ms']:.1f} / p99 {b['p99_gap_ms']:.1f} ms gap; {b['p50_duration_s']:.2f} s; "
            f"{b['cpu_us_per_token']:.0f} µs/tok (load {b['load_cpu_us_per_token']:.0f})"
        )

    return [
        (
            "(a) CPU µs/token, 1 stream x 200 tokens",
            [
                ("hand-written Quart", f"{hand:.0f}", ""),
                ("in-process astream_events", f"{r['a']['in_process_astream_events']['cpu_us_per_token']:.0f}", ""),
                *[
                    (
                        f"library {app}",
                        f"{(v := r['a'][app]['cpu_us_per_token']):.0f} ({v / hand:.2f}x)",
                        f"<= {t}x hand",
                    )
                    for app, t in (("default", 1.05), ("lean", 0.3))
                ],
            ],
        ),
        (
            "(b) 50 streams x 100 tok @ 50/s",
            [
                (app, gaps(r["b"][app]), "p99 <= 30 ms (lean)" if app == "lean" else "")
                for app in ("hand", "default", "lean")
            ],
        ),
        (
            "(c) streams/core, p99 gap <= 100 ms",
            [
                (app, f"{r['c'][app]['max_streams']}  {r['c'][app]['trail']}", ">= 150 (lean)" if app == "lean" else "")
                for app in ("default", "lean")
            ],
        ),
        (
            "(d) RSS per idle stream",
            [(app, f"{r['d'][app]['kib_per_stream']:.1f} KiB", "<= 64 KB") for app in ("default", "lean")],
        ),
        (
            "(e) disconnect -> run cancelled",
            [
                (app, f"p50 {e['p50_ms']:.1f} / p99 {e['p99_ms']:.1f} ms (n={e['n']})", "p99 <= 50 ms")
                for app, e in ((app, r["e"][app]) for app in ("default", "lean"))
            ],
        ),
        (
            "(f) bytes on the wire per token",
            [(app, f"{r['a'][app]['bytes_per_token']:.1f}", "<= 40") for app in ("default", "lean")],
        ),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="half the work, for a quick look")
    parser.add_argument("--baseline", metavar="REV", help="also measure CPU/token against git revision REV")
    parser.add_argument(
        "--scenarios",
        default="ahrsmxtplo",
        help="a: (a)-(f); h: protocols; r: resume; s: servers; m: media; x: refused bodies; t: state; "
        "p: threads on PostgreSQL; l: the LangGraph protocol; o: metrics (default: all)",
    )
    args = parser.parse_args()
    outcome = asyncio.run(main(args.quick, args.scenarios, args.baseline))
    print(table(outcome))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(outcome, indent=2))
    print(f"\nwritten to {RESULTS / 'latest.json'}")
