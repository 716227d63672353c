"""The test kit's scripted model, below any server: what a user's test of their app relies on it for."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.messages import AIMessageChunk, HumanMessage

from quart_llmstream.testing import ScriptedChatModel, ToolCall


async def whole(model: ScriptedChatModel, text: str) -> AIMessageChunk:
    answer: Any = None
    async for chunk in model.astream([HumanMessage(text)]):
        answer = chunk if answer is None else answer + chunk
    return answer  # type: ignore[no-any-return]


async def test_replies_cycle_and_each_says_why_it_stopped_and_what_it_cost() -> None:
    model = ScriptedChatModel(replies=["Hello there.", ToolCall("weather", {"city": "Paris"}, id="c1")])
    hello, call, again = [await whole(model, "say hi now") for _ in range(3)]
    assert (hello.text, again.text) == ("Hello there.", "Hello there."), "the third call takes the first reply"
    assert [c["name"] for c in call.tool_calls] == ["weather"] and call.tool_calls[0]["args"] == {"city": "Paris"}
    reasons = [answer.response_metadata["finish_reason"] for answer in (hello, call)]
    assert reasons == ["stop", "tool_calls"]
    assert hello.usage_metadata == {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}
    assert hello.response_metadata["model_name"] == "scripted"


def test_a_call_not_streamed_carries_the_same_usage() -> None:
    answered = ScriptedChatModel(replies=["Hello there."]).invoke([HumanMessage("say hi now")])
    assert answered.text == "Hello there."
    assert answered.usage_metadata == {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}


async def test_a_stream_cancelled_midway_tells_its_model_so() -> None:
    ends: list[bool] = []

    class Watched(ScriptedChatModel):
        def on_end(self, cancelled: bool) -> None:
            ends.append(cancelled)

    model = Watched(replies=["one two three four"], delay=0.05)
    first = asyncio.Event()

    async def read() -> None:
        async for _ in model.astream("hi"):
            first.set()

    reading = asyncio.create_task(read())
    await first.wait()
    reading.cancel()
    await asyncio.gather(reading, return_exceptions=True)
    await whole(model, "again")
    assert ends == [True, False]
