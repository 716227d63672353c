"""Scenario (o): what metrics cost — CPU per token with the app's metrics on (OpenTelemetry, its SDK aggregating,
and Prometheus, both at once) against off, same source, side by side in alternating rounds; and the Python calls
per token and per start, which machine noise cannot move (:mod:`bench.calls`)."""

from __future__ import annotations

from typing import Any

SOURCES = ("default", "lean")
PAIRS = [app for source in SOURCES for app in (source, f"{source}-metrics")]


async def metrics_costs(streams: int) -> dict[str, Any]:
    from bench.calls import calls_per_token
    from bench.processes import side_by_side

    results = await side_by_side(PAIRS, streams, rounds=5)
    for app in PAIRS:
        results[app] |= calls_per_token(app)
    return results


def metrics_rows(o: dict[str, Any]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    lines = []
    for source in SOURCES:
        off, on = o[source], o[f"{source}-metrics"]
        cpu = f"on {on['cpu_us_per_token']:.1f} vs off {off['cpu_us_per_token']:.1f} µs/tok"
        ratio = on["cpu_us_per_token"] / off["cpu_us_per_token"]
        calls = f"calls/token {on['calls_per_token']:.2f} vs {off['calls_per_token']:.2f}"
        per_start = f"calls/start {on['calls_per_start']:.0f} vs {off['calls_per_start']:.0f}"
        lines.append((f"library {source}", f"{cpu} ({ratio:.3f}x); {calls}; {per_start}", "<= 1.03x"))
    return [("(o) metrics on (OpenTelemetry + Prometheus) vs off, 200 tokens a stream, side by side", lines)]
