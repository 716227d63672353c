"""LangGraph's run request read as a chat request, below any server: what a ``command`` resumes, which stream modes
the graph is asked for, and what the body may not carry."""

from __future__ import annotations

from typing import Any

import pytest
from werkzeug.datastructures import Headers

from quart_llmstream.errors import RequestError
from quart_llmstream.protocols.langgraph_body import read_run
from quart_llmstream.request import ChatRequest
from quart_llmstream.settings import Settings

ON_THREAD = {"blueprint": "agent", "thread_id": "t1"}


def run(body: dict[str, Any], path: dict[str, str] = ON_THREAD) -> ChatRequest:
    return read_run(body, Headers(), Settings(), path)


def refused(body: dict[str, Any], path: dict[str, str] = ON_THREAD) -> RequestError:
    with pytest.raises(RequestError) as caught:
        run(body, path)
    return caught.value


def test_a_command_resumes_with_whatever_value_it_names_null_included() -> None:
    resumed = run({"command": {"resume": None}})
    assert resumed.resume is not None and resumed.resume.has_value and resumed.resume.value is None
    assert run({"command": {"resume": {"approved": True}}}).resume.value == {"approved": True}  # type: ignore[union-attr]
    empty = run({"command": {}})
    assert empty.resume is None and not empty.run_options.goes_on, "a command with nothing in it resumes nothing"
    assert run({"input": None}).run_options.goes_on, "no input, no command: the thread goes on from where it stopped"


@pytest.mark.parametrize(
    "command", [{"update": {"messages": []}}, {"goto": "tools"}, {"resume": 1, "goto": "tools"}, {"resum": 1}]
)
def test_a_command_that_would_steer_the_graph_past_the_checks_is_a_422(command: dict[str, Any]) -> None:
    assert refused({"command": command}).status == 422


@pytest.mark.parametrize(
    ("modes", "graph_modes", "whole"),
    [
        ("values", ("values",), False),
        (["messages-tuple"], ("messages",), False),
        (["messages"], ("messages",), True),
        (["messages", "messages-tuple", "updates"], ("messages", "updates"), False),
    ],
)
def test_stream_modes_are_the_graphs_once_each_and_whole_messages_only_for_the_older_mode_alone(
    modes: Any, graph_modes: tuple[str, ...], whole: bool
) -> None:
    source = run({"input": {"messages": []}, "stream_mode": modes}).run_options.source
    assert source["stream_mode"] == graph_modes and source["whole_messages"] is whole


def test_a_checkpoint_belongs_to_a_thread_and_the_assistant_is_the_blueprints() -> None:
    stateless = {"blueprint": "agent"}
    assert refused({"input": {}, "checkpoint_id": "c1"}, stateless).status == 422
    assert run({"input": {}, "checkpoint": {"checkpoint_id": "c1"}}).run_options.checkpoint_id == "c1"
    assert refused({"input": {}, "assistant_id": "other"}).status == 422
    assert refused({"input": {}, "assistant_id": "00000000-0000-0000-0000-000000000001"}).status == 404
    assert run({"input": {}, "assistant_id": "agent"}).thread_id == "t1"
    assert refused({}, stateless).status == 422, "a stateless run needs an input or a command"
