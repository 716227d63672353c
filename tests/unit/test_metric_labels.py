"""What a stream's end records, below any server: each instrument with its bounded labels, from the timings a
stream's tally kept (tests/integration/test_metrics.py scripts real streams through both exporters)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from quart_llmstream.metrics.base import INSTRUMENTS, BlueprintMetrics, Metrics
from quart_llmstream.run.mapping.timing import ModelCall, ToolRun


class Recorded(Metrics):
    def __init__(self) -> None:
        self.added: list[tuple[str, float, dict[str, Any]]] = []
        self.recorded: list[tuple[str, float, dict[str, Any]]] = []

    def add(self, name: str, value: float, attributes: Any) -> None:
        self.added.append((name, value, dict(attributes)))

    def record(self, name: str, value: float, attributes: Any) -> None:
        self.recorded.append((name, value, dict(attributes)))


def test_a_streams_end_records_its_duration_first_token_usage_and_tools_with_their_labels() -> None:
    backend = Recorded()
    metrics = BlueprintMetrics([backend], "native", "chat")
    calls = [ModelCall("planner", 12, 0, None), ModelCall("writer", 30, 8, 0.05)]  # a call that said nothing
    tools = [ToolRun("weather", 0.2, failed=True), ToolRun("clock", 0.1, failed=False)]
    timings = SimpleNamespace(first_token_at=10.5, interrupts=[], model_calls=calls, tool_runs=tools)
    metrics.ended("error", "internal_error", 10.0, 12.0, timings)
    got = {(name, value): attributes for name, value, attributes in backend.recorded}
    base = {"llmstream.protocol": "native", "llmstream.blueprint": "chat"}
    assert got[("gen_ai.server.request.duration", 2.0)] == base | {
        "llmstream.status": "error",
        "error.type": "internal_error",
    }
    assert got[("gen_ai.server.time_to_first_token", 0.5)] == base | {"gen_ai.response.model": "planner"}
    usage = sorted(
        (a["gen_ai.response.model"], a["gen_ai.token.type"], v) for n, v, a in backend.recorded if "usage" in n
    )
    assert usage == [
        ("planner", "input", 12),
        ("planner", "output", 0),
        ("writer", "input", 30),
        ("writer", "output", 8),
    ]
    ran = {
        (a["gen_ai.tool.name"], a["error.type"]) for n, _, a in backend.recorded if n == "gen_ai.execute_tool.duration"
    }
    assert ran == {("weather", "tool_error"), ("clock", None)}
    assert [v for n, v, _ in backend.recorded if n == "gen_ai.server.time_per_output_token"] == [0.05]


def test_prometheus_histograms_keep_every_bucket_the_instrument_names() -> None:
    from quart_llmstream.metrics import PrometheusMetrics

    prometheus = PrometheusMetrics()
    for spec in (spec for spec in INSTRUMENTS if spec.kind == "histogram"):
        prometheus.record(spec.name, 0.0, {key: "x" for key in spec.attributes})
    exposed = {
        (sample.name, sample.labels["le"])
        for family in prometheus.registry.collect()
        for sample in family.samples
        if sample.name.endswith("_bucket")
    }
    for spec in (spec for spec in INSTRUMENTS if spec.kind == "histogram"):
        name = next(n for n, _ in exposed if n.startswith(spec.name.replace(".", "_")))
        bounds = {float(le) for n, le in exposed if n == name}
        assert bounds == {*map(float, spec.buckets), float("inf")}, spec.name
