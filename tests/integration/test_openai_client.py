"""The example app's ChatOpenAI against a loopback OpenAI-compatible server, through the blueprint."""

from __future__ import annotations

import json
from typing import Any

from example_app import create_app

from fake_openai import FakeOpenAI
from helpers import eventually, leave_after, post_stream, tokens


async def test_tokens_flow_from_an_openai_compatible_server(server: Any) -> None:
    upstream = FakeOpenAI(["Hello", " from", " the", " fake", " model", "."])
    async with server(upstream.app) as fake_url:
        app = create_app({"OPENAI_BASE_URL": f"{fake_url}/v1", "OPENAI_API_KEY": "test", "OPENAI_MODEL": "fake-model"})
        async with server(app) as url:
            _, stream = await post_stream(f"{url}/api/chat", {"question": "Hi", "chat_history": [["user", "before"]]})
    assert stream.messages[-1] == "[DONE]"
    assert "".join(tokens(stream.messages)) == "Hello from the fake model."
    [sent] = upstream.requests
    assert sent["model"] == "fake-model"
    assert [m["content"] for m in sent["messages"]][1:] == ["before", "Hi"]


async def test_a_client_disconnect_closes_the_upstream_request_within_a_second(server: Any) -> None:
    upstream = FakeOpenAI([f"t{i} " for i in range(300)], delay=0.02)
    async with server(upstream.app) as fake_url:
        # resume off: with it on (the example's default), a run outlives its client by design
        app = create_app({"OPENAI_BASE_URL": f"{fake_url}/v1", "OPENAI_API_KEY": "test", "LLMSTREAM_RESUME": ""})
        async with server(app) as url:
            left_at = await leave_after(f"{url}/api/chat", 3)
            await eventually(lambda: upstream.closed_early_at, seconds=1.5)
    assert upstream.closed_early_at[0] - left_at < 1.0


async def test_a_tool_call_streams_as_tool_events(server: Any) -> None:
    upstream = FakeOpenAI(["It", " is", " sunny", "."])
    async with server(upstream.app) as fake_url:
        app = create_app({"OPENAI_BASE_URL": f"{fake_url}/v1", "OPENAI_API_KEY": "test"})
        async with server(app) as url:
            _, stream = await post_stream(f"{url}/api/chat", {"question": "What is the weather in Paris?"})
    named = [(e.event, json.loads(e.data)) for e in stream.events if e.event not in ("message", "start", "end")]
    assert named[:3] == [
        ("tool_call", {"index": 0, "id": "call_1", "name": "get_weather"}),
        ("tool_args", {"index": 0, "id": "call_1", "delta": '{"city": '}),
        ("tool_args", {"index": 0, "id": "call_1", "delta": '"Paris"}'}),
    ]
    assert named[3][0] == "tool_start" and named[3][1]["input"] == {"city": "Paris"}
    assert named[4][0] == "tool_end" and named[4][1]["output"] == "sunny and 21 degrees in Paris (demo data)"
    assert stream.messages[-1] == "[DONE]"
    assert "".join(tokens(stream.messages)) == "It is sunny."
    assert upstream.requests[1]["messages"][-1] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "sunny and 21 degrees in Paris (demo data)",
    }
    assert [e.event for e in stream.events][-2:] == ["end", "message"]
