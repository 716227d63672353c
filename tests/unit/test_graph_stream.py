"""The LangGraph protocol's source: a graph's own stream, chunk by chunk, as LangGraph's server sends it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langchain_core.messages import AIMessageChunk, ToolMessage
from langchain_core.runnables import RunnableLambda

from quart_llmstream.run.sources import graph_stream

META = {"langgraph_node": "model"}


class _Graph(RunnableLambda[Any, Any]):
    """A graph whose ``astream`` yields ``chunks`` (mode, data), whatever it is asked."""

    def __init__(self, chunks: list[tuple[str, Any]]) -> None:
        super().__init__(lambda _: None)
        self.chunks = chunks

    async def astream(self, *_: Any, **__: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        for chunk in self.chunks:
            yield chunk


async def _emitted(chunks: list[tuple[str, Any]], **options: Any) -> list[tuple[str, Any]]:
    emitted: list[tuple[str, Any]] = []

    async def emit(event: dict[str, Any]) -> None:
        emitted.append((event["mode"], event["data"]))

    await graph_stream(_Graph(chunks), {}, None, emit, stream_mode=("messages",), **options)
    return emitted


CHUNKS = [
    ("messages", (AIMessageChunk(content="Hello", id="a"), META)),
    ("messages", (AIMessageChunk(content=" there", id="a"), META)),
    ("messages", (ToolMessage(content="sunny", tool_call_id="c1", id="t"), META)),
]


async def test_the_older_messages_mode_sends_each_message_whole_as_it_grows() -> None:
    sent = await _emitted(CHUNKS, whole_messages=True)
    assert [mode for mode, _ in sent] == [
        "messages/metadata",
        "messages/partial",
        "messages/partial",
        "messages/metadata",
        "messages/complete",
    ]
    assert sent[0][1] == {"a": {"metadata": META}}
    assert [message.content for message in sent[2][1]] == ["Hello there"]
    assert sent[2][1][0].type == "ai", "a partial message is sent as the message it becomes, not a chunk"
    assert sent[4][1][0].content == "sunny"


async def test_messages_tuple_sends_the_graphs_chunks_as_they_come() -> None:
    sent = await _emitted(CHUNKS)
    assert [mode for mode, _ in sent] == ["messages"] * 3
    assert [data[0].content for _, data in sent] == ["Hello", " there", "sunny"]
