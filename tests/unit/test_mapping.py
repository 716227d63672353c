"""The mapper below any server: v2 events in, the stream's typed events out, block boundaries and the end
included."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage

from quart_llmstream.events import (
    Custom,
    Interrupted,
    RunEnded,
    RunStarted,
    TextDelta,
    TextEnd,
    TextStart,
    ToolCallArgs,
    ToolCallPending,
    ToolCallStarted,
    ToolEnded,
    ToolStarted,
)
from quart_llmstream.run.mapping import Mapper


def stream(text: str, run_id: str = "m1") -> dict[str, Any]:
    return {"event": "on_chat_model_stream", "run_id": run_id, "data": {"chunk": AIMessageChunk(content=text)}}


def model_end(message: AIMessage, run_id: str = "m1") -> dict[str, Any]:
    return {"event": "on_chat_model_end", "run_id": run_id, "data": {"output": message}}


def mapped(mapping: Any, *events: dict[str, Any]) -> list[Any]:
    return [event for v2 in events for event in mapping.map(v2)]


def test_tokens_open_a_text_block_the_end_closes_it_and_a_chains_copy_of_them_is_not_sent_twice() -> None:
    mapping = Mapper()("run-1")
    chain_copy = {"event": "on_chain_stream", "run_id": "c", "parent_ids": [], "data": {"chunk": "Hel"}}
    out = [*mapping.start(), *mapped(mapping, stream("Hel"), chain_copy, stream("lo"), stream(""))]
    out += mapping.end("completed")
    assert out == [RunStarted("run-1"), TextStart(), TextDelta("Hel"), TextDelta("lo"), TextEnd(), out[-1]]
    assert out[-1] == RunEnded("completed", "stop", None, run_id="run-1")  # the run named, for feedback
    assert (mapping.tally.text, mapping.tally.tokens) == ("Hello", 2)


def test_a_tools_call_its_run_and_its_result_map_in_order_when_tool_events_are_selected() -> None:
    mapping = Mapper(("token", "tool"))("run-1")
    head = {"name": "weather", "args": "", "id": "call_1", "index": 0}
    call = {
        "event": "on_chat_model_stream",
        "run_id": "m1",
        "data": {"chunk": AIMessageChunk(content="", tool_call_chunks=[head])},
    }
    args = {
        "event": "on_chat_model_stream",
        "run_id": "m1",
        "data": {"chunk": AIMessageChunk(content="", tool_call_chunks=[{"args": '{"city":"Oslo"}', "index": 0}])},
    }
    ran = {"event": "on_tool_start", "run_id": "t1", "name": "weather", "data": {"input": {"city": "Oslo"}}}
    result = ToolMessage("snow", tool_call_id="call_1")
    done = {"event": "on_tool_end", "run_id": "t1", "name": "weather", "data": {"output": result}}
    out = mapped(mapping, call, args, ran, done)
    assert out == [
        ToolCallStarted(0, "call_1", "weather"),
        ToolCallArgs(0, "call_1", '{"city":"Oslo"}'),
        ToolStarted("t1", "weather", {"city": "Oslo"}),
        ToolEnded("t1", "weather", "snow", "call_1"),
    ]


def test_a_call_no_tool_answered_is_left_to_the_client_and_the_finish_says_so() -> None:
    mapping = Mapper()("run-1", client_tools=["get_local_time"])
    calls = [{"name": "get_local_time", "args": {}, "id": "call_t"}, {"name": "weather", "args": {}, "id": "call_w"}]
    answered = {
        "event": "on_tool_end",
        "run_id": "t",
        "name": "weather",
        "data": {"output": ToolMessage("ok", tool_call_id="call_w")},
    }
    mapped(mapping, model_end(AIMessage("", tool_calls=calls)), answered)
    *pending, ended = mapping.end("completed")
    assert pending == [ToolCallPending("call_t", "get_local_time", {}, True)]
    assert ended.finish_reason == "tool_calls"


def test_a_graphs_root_interrupt_chunk_ends_the_stream_interrupted_with_its_interrupts() -> None:
    from langgraph.types import Interrupt

    mapping = Mapper()("run-1", thread_id="t1", graph=True)
    pause = {
        "event": "on_chain_stream",
        "run_id": "g",
        "parent_ids": [],
        "data": {"chunk": {"__interrupt__": (Interrupt(value={"question": "Which city?"}, id="i" * 32),)}},
    }
    assert mapped(mapping, pause) == []
    assert mapping.interrupted(None)
    interrupted, ended = mapping.end("interrupted")
    assert interrupted == Interrupted("t1", [{"id": "i" * 32, "value": {"question": "Which city?"}}])
    assert ended.finish_reason == "interrupt"


def test_the_event_hook_rewrites_and_drops_and_custom_events_follow_the_selection() -> None:
    def hook(event: Any, source: Any) -> Any:
        return None if event.data == "secret" else event  # a token's data is its text

    custom = {"event": "on_custom_event", "run_id": "c", "name": "progress", "data": {"step": 1}}
    with_custom = Mapper(("token", "custom"), event_hook=hook)("run-1")
    assert mapped(with_custom, stream("secret"), custom) == [Custom("progress", {"step": 1})]
    assert mapped(Mapper(("token",))("run-2"), custom) == []
    narrowed = Mapper(("token", "custom"), max_payload_chars=64).narrowed(["token"])
    assert narrowed.events == {"token"} and narrowed.max_payload_chars == 64
