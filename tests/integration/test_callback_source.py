"""The lean source gives the same token, tool and custom events as astream_events, for every kind of runnable."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableLambda
from quart import Quart
from werkzeug.datastructures import Headers

from quart_llmstream import ChatRequest, create_blueprint
from quart_llmstream.run.inputs import runnable_input
from quart_llmstream.run.sources import astream_events, callback_events

from fakes import FINAL, QUESTION_PROMPT, TOOL_CALL, ProbedChatModel, model_graph, tool_agent, words
from helpers import post_stream

ANSWER = words("Streams are sequences of events.")


def parser_pipeline() -> Runnable[Any, Any]:
    return QUESTION_PROMPT | ProbedChatModel(responses=[ANSWER]) | StrOutputParser()


def model_pipeline() -> Runnable[Any, Any]:
    return QUESTION_PROMPT | ProbedChatModel(responses=[ANSWER])


def tool_loop() -> Runnable[Any, Any]:
    return tool_agent(ProbedChatModel(responses=[TOOL_CALL, FINAL]))


def langgraph_graph() -> Runnable[Any, Any]:
    return model_graph(
        plan=(ProbedChatModel(responses=[words("Plan: answer briefly.")]), "progress"),
        write=(ProbedChatModel(responses=[ANSWER]), "progress"),
    )


PIPELINES = [parser_pipeline, model_pipeline, tool_loop, langgraph_graph]
IDS = ["prompt|model|parser", "prompt|model", "tool-calling loop", "langgraph graph"]


def essentials(event: dict[str, Any]) -> tuple[Any, ...] | None:
    """The parts of an event that selection uses, or None for kinds the lean source does not promise."""
    kind, data = event["event"], event["data"]
    if kind == "on_chat_model_stream":
        chunk = data["chunk"]
        return (kind, event["name"], chunk.text, [dict(c) for c in chunk.tool_call_chunks])
    if kind == "on_chat_model_end":
        return (kind, event["name"], data["output"].text, data["output"].tool_calls)
    if kind in ("on_tool_start", "on_tool_end"):
        value = data.get("input") if kind == "on_tool_start" else data["output"]
        return (kind, event["name"], value.content if isinstance(value, ToolMessage) else value)
    if kind == "on_custom_event":
        return (kind, event["name"], data)
    if kind in ("on_chain_start", "on_chain_end") and not event["parent_ids"]:  # the root run
        return (kind, event["name"])
    return None


async def collect(source: Callable[..., Any], runnable: Runnable[Any, Any], **filters: Any) -> list[tuple[Any, ...]]:
    question = HumanMessage("What is a stream?")
    request = ChatRequest(question.text, [], {}, Headers(), messages=[question])
    out = []

    async def emit(event: dict[str, Any]) -> None:
        if (kept := essentials(event)) is not None:
            out.append(kept)

    await source(runnable, (await runnable_input(request)).value, None, emit, **filters)
    return out


@pytest.mark.parametrize("pipeline", PIPELINES, ids=IDS)
async def test_both_sources_give_the_same_model_tool_and_custom_events(pipeline: Callable[[], Any]) -> None:
    reference = await collect(astream_events, pipeline())
    lean = await collect(callback_events, pipeline())
    assert lean == reference
    assert any(e[0] == "on_chat_model_stream" for e in lean)
    assert lean[0][0] == "on_chain_start" and lean[-1][0] == "on_chain_end"


@pytest.mark.parametrize("pipeline", PIPELINES, ids=IDS)
async def test_both_sources_stream_the_same_frames_through_the_blueprint(
    server: Any, pipeline: Callable[[], Any]
) -> None:
    frames = {}
    for source in ("astream_events", "callbacks"):
        app = Quart(__name__)
        app.register_blueprint(
            create_blueprint(lambda _: pipeline(), events="token,tool,custom,end", event_source=source)
        )
        async with server(app) as url:
            _, stream = await post_stream(f"{url}/chat", {"question": "What is a stream?"})
        frames[source] = [(e.event, _payload(e.data)) for e in stream.events]
    assert frames["callbacks"] == frames["astream_events"]
    assert frames["callbacks"][-1] == ("message", "[DONE]")


def _payload(data: str) -> Any:
    """A frame's payload without run ids, which differ from run to run."""
    if data == "[DONE]":
        return data
    payload = json.loads(data)
    return {k: v for k, v in payload.items() if k != "run_id"} if isinstance(payload, dict) else payload


@pytest.mark.parametrize(
    "filters",
    [
        {"include_names": ["writer_model"]},
        {"include_tags": ["final"]},
        {"exclude_types": ["chat_model"]},
        {"include_types": ["tool"]},
    ],
)
async def test_filters_select_the_same_events_on_both_sources(filters: dict[str, Any]) -> None:
    def pipeline() -> Runnable[Any, Any]:
        first = ProbedChatModel(responses=[["draft"]])
        final = ProbedChatModel(responses=[["final"]]).with_config(run_name="writer_model", tags=["final"])
        return QUESTION_PROMPT | first | RunnableLambda(lambda m: [m]) | final

    assert await collect(callback_events, pipeline(), **filters) == await collect(astream_events, pipeline(), **filters)


async def test_the_lean_source_streams_without_streaming_true_and_is_cancelled_with_its_task() -> None:
    model = ProbedChatModel(responses=[["a"] * 100], delay=0.01)
    assert "streaming" not in model.model_fields_set
    three_tokens = asyncio.Event()
    seen = 0

    async def emit(event: dict[str, Any]) -> None:
        nonlocal seen
        seen += event["event"] == "on_chat_model_stream"
        if seen == 3:
            three_tokens.set()

    run = asyncio.create_task(
        callback_events(QUESTION_PROMPT | model, {"question": "q", "chat_history": []}, None, emit)
    )
    await three_tokens.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert model.probe.cancelled_at is not None and model.probe.finished == 0


async def test_the_lean_source_raises_the_run_error() -> None:
    async def emit(event: dict[str, Any]) -> None:
        pass

    pipeline = QUESTION_PROMPT | ProbedChatModel(responses=[["a", "b"]], fail_at=1)
    with pytest.raises(RuntimeError, match="hunter2"):
        await callback_events(pipeline, {"question": "q", "chat_history": []}, None, emit)
