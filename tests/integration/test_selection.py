"""Event kinds beyond tokens: tools, reasoning, custom events, start and end frames, odd payloads."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from unittest.mock import ANY

from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.messages import AIMessageChunk, ToolMessage
from langchain_core.runnables import RunnableLambda, chain
from langchain_core.tools import tool
from quart import Quart

from quart_llmstream import create_blueprint
from quart_llmstream.payloads import jsonable

from fakes import FINAL, QUESTION_PROMPT, TOOL_CALL, Forecast, ProbedChatModel, tool_agent
from helpers import post_stream
from sse_parser import ParsedStream


def app_for(runnable: Any, **options: Any) -> Quart:
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: runnable, **options))
    return app


def named(stream: ParsedStream) -> list[tuple[str, Any]]:
    """Every event as (name, payload); tokens as ("token", text)."""
    out = []
    for event in stream.events:
        if event.data == "[DONE]":
            out.append(("done", None))
        elif event.event == "message":
            payload = json.loads(event.data)
            out.append(("token", payload["token"]) if "token" in payload else ("error", payload))
        else:
            out.append((event.event, json.loads(event.data)))
    return out


async def test_tool_calls_stream_start_arguments_and_result_then_the_answer(server: Any) -> None:
    model = ProbedChatModel(responses=[TOOL_CALL, FINAL])
    async with server(app_for(tool_agent(model), events="token,tool")) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "Weather in Paris?"})
    events = named(stream)
    assert events[:3] == [
        ("tool_call", {"index": 0, "id": "call_1", "name": "get_weather"}),
        ("tool_args", {"index": 0, "id": "call_1", "delta": '{"city": '}),
        ("tool_args", {"index": 0, "id": "call_1", "delta": '"Paris"}'}),
    ]
    kind, start = events[3]
    assert kind == "tool_start" and start["name"] == "get_weather" and start["input"]["city"] == "Paris"
    kind, end = events[4]
    assert kind == "tool_end" and end["run_id"] == start["run_id"] and end["call_id"] == "call_1"
    # The non-JSON artifact became its repr: the stream went on.
    assert end["output"] == {"content": "sunny in Paris", "artifact": "Forecast('Paris': sunny)"}
    assert events[5:] == [("token", t) for t in FINAL] + [("done", None)]


async def test_with_only_tokens_enabled_a_tool_pipeline_streams_only_tokens(server: Any) -> None:
    model = ProbedChatModel(responses=[TOOL_CALL, FINAL])
    async with server(app_for(tool_agent(model))) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "Weather in Paris?"})
    assert named(stream) == [("token", t) for t in FINAL] + [("done", None)]


REASONING = [
    [{"type": "reasoning", "reasoning": "The user greets me."}],
    AIMessageChunk(content="", additional_kwargs={"reasoning_content": " Be kind."}),
    [{"type": "thinking", "thinking": " Answer briefly."}, {"type": "text", "text": "Hello"}],
    "!",
]


async def test_reasoning_and_custom_events_stream_as_named_events_when_enabled(server: Any) -> None:
    async def progress(inputs: dict[str, Any]) -> dict[str, Any]:
        await adispatch_custom_event("progress", {"step": 1, "odd": {1, 2}, "obj": Forecast("Oslo")})
        return inputs

    pipeline = RunnableLambda(progress) | QUESTION_PROMPT | ProbedChatModel(responses=[REASONING])
    async with server(app_for(pipeline, events=["token", "reasoning", "custom"])) as url:
        _, enabled = await post_stream(f"{url}/chat", {"question": "hi"})
    async with server(app_for(pipeline)) as url:
        _, default = await post_stream(f"{url}/chat", {"question": "hi"})
    assert named(enabled) == [
        ("custom", {"name": "progress", "data": {"step": 1, "odd": [1, 2], "obj": "Forecast('Oslo': sunny)"}}),
        ("reasoning", {"text": "The user greets me."}),
        ("reasoning", {"text": " Be kind."}),
        ("reasoning", {"text": " Answer briefly."}),
        ("token", "Hello"),
        ("token", "!"),
        ("done", None),
    ]
    assert named(default) == [("token", "Hello"), ("token", "!"), ("done", None)]


async def test_start_and_end_frames_carry_the_run_id_finish_reason_and_usage(server: Any) -> None:
    usage = {"input_tokens": 7, "output_tokens": 2, "total_tokens": 9}
    chunks: list[Any] = ["Hi", AIMessageChunk(content=" there", usage_metadata=usage)]
    pipeline = QUESTION_PROMPT | ProbedChatModel(responses=[chunks])
    async with server(app_for(pipeline, events="token,start,end")) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "hi"})
    events = named(stream)
    assert events[0][0] == "start" and len(events[0][1]["run_id"]) == 36
    assert events[1:] == [
        ("token", "Hi"),
        ("token", " there"),
        ("end", {"finish_reason": "stop", "usage": usage, "run_id": events[0][1]["run_id"]}),  # the run, to rate
        ("done", None),
    ]


async def test_a_failed_run_ends_with_error_then_end_frame_with_reason_error(server: Any) -> None:
    pipeline = QUESTION_PROMPT | ProbedChatModel(responses=[["a", "b"]], fail_at=1)
    async with server(app_for(pipeline, events="token,end")) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "hi"})
    events = named(stream)
    assert events[0] == ("token", "a")
    assert events[1][0] == "error"
    assert events[2:] == [("end", {"finish_reason": "error", "usage": None, "run_id": ANY}), ("done", None)]


async def test_a_tool_error_is_a_redacted_tool_error_frame(server: Any) -> None:
    @tool
    def explode(city: str) -> str:
        """Always fails."""
        raise ValueError("internal path /srv/secret")

    @chain
    async def agent(inputs: dict[str, Any]) -> str:
        with contextlib.suppress(ValueError):
            await explode.ainvoke({"city": "x"})
        return "recovered"

    async with server(app_for(agent, events="token,tool")) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "hi"})
    events = named(stream)
    assert events[0][0] == "tool_start"
    assert events[1] == (
        "tool_error",
        {"run_id": events[0][1]["run_id"], "name": "explode", "error": "The tool failed."},
    )
    assert events[2:] == [("done", None)]


def test_payloads_of_any_object_become_capped_json() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert jsonable({"a": {1}, "b": b"\x00", "c": Forecast("Rome")}, 1000) == {
        "a": [1],
        "b": "AA==",
        "c": "Forecast('Rome': sunny)",
    }
    assert jsonable(Broken(), 1000) == "<unserialisable Broken>"
    assert jsonable(ToolMessage(content="done", tool_call_id="1"), 1000) == "done"
    long = jsonable({"text": "x" * 500}, 100)
    assert isinstance(long, str) and len(long) < 120 and long.endswith("…[truncated]")
