"""The benchmark's documented command runs and prints its table (its figures live in docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
@pytest.mark.timeout(660)  # the whole quick benchmark (its own limit: 600 s), past the suite's 300 s a test
def test_the_benchmark_command_runs_and_writes_its_results() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    scenarios = [f"({letter})" for letter in "abcdefhrsmxtplo"]
    for scenario in scenarios:
        assert scenario in done.stdout
    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    assert results["b"]["lean"]["complete"] == 50  # every stream of the load got all its tokens
    assert results["e"]["lean"]["n"] > 0 and results["e"]["default"]["n"] > 0  # cancellations were seen
    assert set(results["h"]) == {"default", "ai-sdk", "ag-ui", "openai"}
    resumed = results["r"]["resume_ms"]
    assert resumed["finished"][2] == resumed["running"][2] == results["r"]["cancel_ms"][2] == 20  # all were seen
    assert 0 < results["r"]["bytes_per_token"]["paced"] < 1000  # Redis held the stream
    assert set(results["s"]) == {"hypercorn", "uvicorn", "granian"}
    assert all(server["starts_per_s"] > 0 and server["complete"] == 10 for server in results["s"].values())
    assert results["m"]["with_image"]["complete"] == 10 and 0 < results["m"]["peak_x"] < 10  # every answer came
    assert all(refused["statuses"] == [400] for refused in results["x"].values())  # each body refused, none served
    assert results["t"]["graph-state"]["cpu_us_per_token"] > 0 and results["t"]["graph-no-state"]["bytes_per_token"] > 0
    assert results["p"]["read_200"]["p99_ms"] > 0 and results["p"]["list_50"]["p99_ms"] > 0  # PostgreSQL answered
    assert all(server["starts_per_s"] > 0 for server in results["l"]["reference"].values())  # both servers ran
    assert all(results["o"][app]["cpu_us_per_token"] > 0 for app in ("default", "default-metrics", "lean-metrics"))
