"""Metrics: after a scripted set of streams (text, a tool call, an interrupt, an error, a disconnect, a resume, a
cancel, a 400, a 503), Prometheus' exposition (parsed by ``prometheus_client``'s own parser) and OpenTelemetry's
``InMemoryMetricReader`` show exactly those counts, time to first token within the fake model's pacing, under
the GenAI conventions' names and units, and no label is an id."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from typing import Any

import httpx
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import BaseMessage
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client.parser import text_string_to_metric_families
from quart import Quart

from quart_llmstream import ChatRequest, LLMStream, create_blueprint
from quart_llmstream.metrics import INSTRUMENTS, OTelMetrics, PrometheusMetrics
from quart_llmstream.testing import ScriptedChatModel, ToolCall

from fakes import QUESTION_PROMPT, agent
from helpers import drop_after, post_stream, resume_from, running, subprocess_env

PACE = 0.1  # seconds per chunk of every model here
BOUNDED = {"llmstream_protocol", "llmstream_blueprint", "llmstream_status", "error_type", "gen_ai_response_model"}
BOUNDED |= {"gen_ai_token_type", "gen_ai_tool_name", "http_response_status_code", "le"}


def failing(messages: list[BaseMessage], tools: Any) -> Any:
    raise RuntimeError("the model's provider is down")


def factory(chat_request: ChatRequest) -> Any:
    """One runnable per kind of stream, picked by the question."""
    question = chat_request.question
    if question == "weather":
        return agent(ScriptedChatModel(replies=[ToolCall("weather", {"city": "Paris"}), "Sunny in Paris."], delay=PACE))
    if question == "approve":
        gate = HumanInTheLoopMiddleware(interrupt_on={"weather": True})
        return agent(ScriptedChatModel(replies=[ToolCall("weather", {"city": "Oslo"})], delay=PACE), gate)
    reply: Any = failing if question == "fail" else " ".join(["word"] * (20 if question == "slow" else 4))
    return QUESTION_PROMPT | ScriptedChatModel(replies=[reply], delay=PACE)


def metrics_app() -> tuple[Quart, InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    prometheus = PrometheusMetrics()
    app = Quart(__name__)
    LLMStream(app, metrics=[OTelMetrics(MeterProvider(metric_readers=[reader])), prometheus])
    app.register_blueprint(create_blueprint(factory, resume="memory", max_streams=1, events="token,tool,end"))
    app.register_blueprint(prometheus.blueprint())
    return app, reader


async def scripted_streams(url: str) -> list[str]:
    """The set of streams; the ids they were given, which no label may hold."""
    ids = []
    for question in ("hello", "weather", "approve", "fail"):
        response, stream = await post_stream(f"{url}/chat", {"question": question})
        assert response.status_code == 200 and stream.messages[-1] == "[DONE]"
        ids += [response.headers["X-Stream-Id"], response.headers.get("X-Thread-Id", "")]
    response, _ = await post_stream(f"{url}/chat", {"question": 5})
    assert response.status_code == 400
    stream_id, seen = await drop_after(f"{url}/chat", {"question": "slow"}, 1)  # a disconnect: the run goes on
    status, rest = await resume_from(f"{url}/chat/{stream_id}/stream", seen.events[-1].id)  # ... to its end
    assert status == 200 and rest.messages[-1] == "[DONE]"
    ids.append(stream_id)
    async with httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", f"{url}/chat", json={"question": "slow"}) as cancelled:
            stream_id, body = cancelled.headers["X-Stream-Id"], cancelled.aiter_raw()
            while b'"token"' not in await anext(body):  # its first token came
                pass
            assert (await client.post(f"{url}/chat", json={"question": "hello"})).status_code == 503
            assert (await client.post(f"{url}/chat/{stream_id}/cancel")).status_code == 202
            rest_of_it = b"".join([chunk async for chunk in body])
            assert b'"code":"cancelled"' in rest_of_it
    ids.append(stream_id)
    return [i for i in ids if i]


def samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    parsed: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            parsed.setdefault(sample.name, []).append((sample.labels, sample.value))
    return parsed


def total(found: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    return sum(value for got, value in found.get(name, []) if labels.items() <= got.items())


async def test_the_scripted_streams_show_exactly_their_counts_in_prometheus_and_opentelemetry() -> None:
    app, reader = metrics_app()
    async with running(app) as url:
        ids = await scripted_streams(url)
        await asyncio.sleep(0.2)  # the cancelled run's end is recorded as its log closes
        async with httpx.AsyncClient() as client:
            exposition = await client.get(f"{url}/metrics")
    assert exposition.status_code == 200 and exposition.headers["content-type"].startswith("text/plain")
    found = samples(exposition.text)
    mine = {"llmstream_protocol": "native", "llmstream_blueprint": "llmstream"}

    assert total(found, "llmstream_streams_started_total", **mine) == 6
    assert total(found, "llmstream_streams_active", **mine) == 0
    ended = Counter(
        {(got["llmstream_status"], got["error_type"]): value for got, value in found["llmstream_streams_ended_total"]}
    )
    assert +ended == {("completed", ""): 3, ("interrupted", ""): 1, ("error", "internal_error"): 1,
                      ("cancelled", "cancelled"): 1}  # fmt: skip
    assert total(found, "gen_ai_server_request_duration_seconds_count") == 6
    for name, count in (("interrupts", 1), ("resumes", 1), ("cancels", 1), ("disconnects", 1)):
        assert total(found, f"llmstream_{name}_total", **mine) == count, name
    refused = found["llmstream_refusals_total"]
    refusals = {(got["http_response_status_code"], got["error_type"]): value for got, value in refused}
    assert refusals == {("400", "invalid_request"): 1, ("503", "overloaded"): 1}

    # A first token in every stream that had one (not the interrupt's, nor the failure's), after one pace of the
    # model and not much more (the tool's stream: after its call, the tool and the answer's first word).
    first = "gen_ai_server_time_to_first_token_seconds"
    assert total(found, f"{first}_count") == 4
    assert total(found, f"{first}_bucket", le="0.08") == 0
    assert total(found, f"{first}_bucket", le="0.25") == 3
    # Time per output token: the pace, in each model call that streamed its words to the end.
    per_token = "gen_ai_server_time_per_output_token_seconds"
    assert total(found, f"{per_token}_count") == 3
    assert PACE * 0.9 <= total(found, f"{per_token}_sum") / 3 <= PACE * 1.3
    # Usage as each model call reported it: five calls ended (the failure's never began, the cancelled one never
    # ended); the tool ran once.
    usage = "gen_ai_client_token_usage"
    assert total(found, f"{usage}_count", gen_ai_token_type="output", gen_ai_response_model="scripted") == 5
    assert total(found, f"{usage}_count", gen_ai_token_type="input") == 5
    assert total(found, "gen_ai_execute_tool_duration_seconds_count", gen_ai_tool_name="weather") == 1

    labels = {key for series in found.values() for got, _ in series for key in got}
    assert labels <= BOUNDED, labels - BOUNDED
    values = {value for series in found.values() for got, _ in series for value in got.values()}
    assert not values & set(ids), "no stream or thread id is a label"

    otel = {
        metric.name: metric
        for resource in reader.get_metrics_data().resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert {spec.name: spec.unit for spec in INSTRUMENTS if spec.name in otel} == {
        name: metric.unit for name, metric in otel.items()
    }
    assert otel["gen_ai.server.time_to_first_token"].unit == "s"
    assert otel["gen_ai.client.token.usage"].unit == "{token}"
    started = otel["llmstream.streams.started"].data.data_points
    assert sum(point.value for point in started) == 6
    assert dict(started[0].attributes) == {"llmstream.protocol": "native", "llmstream.blueprint": "llmstream"}
    otel_ended = Counter(
        {
            (point.attributes["llmstream.status"], point.attributes.get("error.type")): point.value
            for point in otel["llmstream.streams.ended"].data.data_points
        }
    )
    assert +otel_ended == {("completed", None): 3, ("interrupted", None): 1, ("error", "internal_error"): 1,
                           ("cancelled", "cancelled"): 1}  # fmt: skip
    firsts = otel["gen_ai.server.time_to_first_token"].data.data_points
    assert sum(point.count for point in firsts) == 4 and min(point.min for point in firsts) >= PACE * 0.9
    for name, count in (("llmstream.resumes", 1), ("llmstream.cancels", 1), ("llmstream.disconnects", 1)):
        assert sum(point.value for point in otel[name].data.data_points) == count, name
    assert sum(point.value for point in otel["llmstream.refusals"].data.data_points) == 2
    assert sum(point.value for point in otel["llmstream.streams.active"].data.data_points) == 0
    otel_values = {v for m in otel.values() for p in m.data.data_points for v in p.attributes.values()}
    assert not otel_values & set(ids)


async def test_with_metrics_off_no_route_and_nothing_timed() -> None:
    """Off by default: the app has no backend, the mapping keeps the plain tally."""
    from quart_llmstream.run.mapping.tally import Tally

    seen: list[Any] = []
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: QUESTION_PROMPT | ScriptedChatModel(replies=["hi"]),
                                            on_end=lambda _, result: seen.append(result)))  # fmt: skip
    assert app.extensions["llmstream"].metrics == ()
    async with running(app) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "q"})
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}/metrics")).status_code == 404
    assert json.loads(stream.messages[0]) == {"token": "hi"} and seen[0].status == "completed"
    from quart_llmstream.run.mapping import Mapper

    assert Mapper()("r").tally.__class__ is Tally


async def test_the_langgraph_protocols_runs_count_and_time_their_first_token() -> None:
    """Its runs stream the graph's own chunks (no v2 events): streams, their end and the first token still count."""
    from quart_llmstream.testing import ChatClient

    prometheus = PrometheusMetrics()
    app = Quart(__name__)
    LLMStream(app, metrics=prometheus)
    graph = agent(ScriptedChatModel(replies=["Hello there, friend."], delay=PACE))
    app.register_blueprint(create_blueprint(lambda _: graph, name="agent", protocol="langgraph"))
    app.register_blueprint(prometheus.blueprint())
    async with ChatClient.serving(app, "", protocol="langgraph") as chat:
        reply = await chat.send("hi", thread_id="t1")
        async with httpx.AsyncClient() as client:
            found = samples((await client.get(f"{chat.target}/metrics")).text)
    assert reply.text == "Hello there, friend." and reply.error is None
    mine = {"llmstream_protocol": "langgraph", "llmstream_blueprint": "agent"}
    assert total(found, "llmstream_streams_started_total", **mine) == 1
    assert total(found, "llmstream_streams_ended_total", llmstream_status="completed", **mine) == 1
    assert total(found, "gen_ai_server_time_to_first_token_seconds_count", **mine) == 1
    assert total(found, "gen_ai_server_time_to_first_token_seconds_bucket", le="0.08", **mine) == 0


async def test_in_multiprocess_mode_the_route_sums_every_processs_series(tmp_path: Any, monkeypatch: Any) -> None:
    """Workers of one server (here: processes of their own) write their series to ``PROMETHEUS_MULTIPROC_DIR``;
    whichever process a scrape reaches answers them all."""
    script = (
        "from quart_llmstream.metrics import PrometheusMetrics\n"
        "metrics = PrometheusMetrics()\n"
        "for _ in range(3):\n"
        "    metrics.add('llmstream.streams.started', 1, {'llmstream.protocol': 'native'})\n"
    )
    env = subprocess_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    for _ in range(2):  # two workers
        await asyncio.to_thread(subprocess.run, [sys.executable, "-c", script], env=env, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    scraped = await (await PrometheusMetrics().view()).get_data(as_text=True)
    started = [
        sample.value
        for family in text_string_to_metric_families(scraped)
        for sample in family.samples
        if sample.name == "llmstream_streams_started_total" and sample.labels.get("llmstream_protocol") == "native"
    ]
    assert started == [6.0]
