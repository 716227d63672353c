"""Include/exclude filters, the event hook, the final-answer recipe and client-side narrowing."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnableLambda
from quart import Quart

from quart_llmstream import StreamEvent, create_blueprint

from fakes import QUESTION_PROMPT, ProbedChatModel, model_graph
from helpers import chat_app, post_stream, tokens

REFINE = ChatPromptTemplate.from_messages([("human", "Improve: {draft}")])


def two_models(**final_config: Any) -> Runnable[Any, Any]:
    """A draft model, then a final model that rewrites the draft: both stream tokens."""
    drafter = ProbedChatModel(responses=[["draft ", "one"]]).with_config(run_name="drafter", tags=["draft"])
    finisher = ProbedChatModel(responses=[["final ", "answer"]]).with_config(**final_config)
    return QUESTION_PROMPT | drafter | RunnableLambda(lambda m: {"draft": m.text}) | REFINE | finisher


async def tokens_of(server: Any, runnable: Runnable[Any, Any], body: Any = None, **options: Any) -> list[str]:
    async with server(chat_app(runnable, **options)) as url:
        response, stream = await post_stream(f"{url}/chat", body or {"question": "q"})
    assert response.status_code == 200
    return tokens(stream.messages)


async def test_without_filters_every_model_streams(server: Any) -> None:
    assert await tokens_of(server, two_models()) == ["draft ", "one", "final ", "answer"]


@pytest.mark.parametrize(
    ("final_config", "options"),
    [
        ({"tags": ["final_answer"]}, {"include_tags": ["final_answer"]}),
        ({"run_name": "final_answer"}, {"include_names": "final_answer"}),
        ({}, {"exclude_tags": ["draft"]}),
        ({}, {"exclude_names": ["drafter"]}),
    ],
    ids=["include-tag", "include-run-name", "exclude-tag", "exclude-name"],
)
async def test_final_answer_recipe_streams_only_the_last_model(server: Any, final_config: Any, options: Any) -> None:
    assert await tokens_of(server, two_models(**final_config), **options) == ["final ", "answer"]


async def test_include_types_selects_by_run_type(server: Any) -> None:
    assert await tokens_of(server, two_models(), include_types=["parser"]) == []
    assert await tokens_of(server, two_models(), include_types=["chat_model"]) == ["draft ", "one", "final ", "answer"]


async def test_event_hook_drops_and_rewrites_events(server: Any) -> None:
    """The LangGraph-node variant of the recipe works the same way, on ``metadata["langgraph_node"]``."""

    def hook(event: StreamEvent, source: Any) -> StreamEvent | None:
        if "draft" in source["tags"]:
            return None
        return event._replace(data=event.data.upper())

    assert await tokens_of(server, two_models(), event_hook=hook) == ["FINAL ", "ANSWER"]


async def test_client_narrowing_is_off_unless_enabled(server: Any) -> None:
    body = {"question": "q", "stream": {"include_tags": ["final_answer"]}}
    everything = ["draft ", "one", "final ", "answer"]
    assert await tokens_of(server, two_models(tags=["final_answer"]), body) == everything
    narrowed = await tokens_of(server, two_models(tags=["final_answer"]), body, client_filters=True)
    assert narrowed == ["final ", "answer"]
    body = {"question": "q", "stream": {"exclude_names": ["drafter"]}}
    assert await tokens_of(server, two_models(), body, client_filters=True) == ["final ", "answer"]


@pytest.mark.parametrize(
    "stream",
    [
        {"include_tags": ["secret"]},  # wider than the server's include_tags
        {"events": ["token", "tool"]},  # a kind the server does not send
        {"exclude_names": "drafter"},  # not a list
        {"everything": True},  # unknown key
        ["token"],  # not an object
    ],
)
async def test_client_narrowing_can_never_widen(stream: Any) -> None:
    app = Quart(__name__)
    app.register_blueprint(
        create_blueprint(lambda _: two_models(), client_filters=True, include_tags=["final_answer", "draft"])
    )
    response = await app.test_client().post("/chat", json={"question": "q", "stream": stream})
    assert response.status_code == 400
    answer = await response.get_json()
    assert answer["error"] == "invalid_request" and answer["detail"].startswith("stream")


async def test_client_can_narrow_the_kinds_of_event(server: Any) -> None:
    async def custom(inputs: dict[str, Any]) -> dict[str, Any]:
        from langchain_core.callbacks.manager import adispatch_custom_event

        await adispatch_custom_event("step", {"n": 1})
        return inputs

    runnable = RunnableLambda(custom) | QUESTION_PROMPT | ProbedChatModel(responses=[["ok"]])
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: runnable, client_filters=True, events="token,custom"))
    async with server(app) as url:
        _, full = await post_stream(f"{url}/chat", {"question": "q"})
        _, narrow = await post_stream(f"{url}/chat", {"question": "q", "stream": {"events": ["token"]}})
    assert [e.event for e in full.events] == ["custom", "message", "message"]
    assert [e.event for e in narrow.events] == ["message", "message"]


async def test_final_answer_by_langgraph_node(server: Any) -> None:
    runnable = model_graph(
        route=(ProbedChatModel(responses=[["route: ", "weather"]]), None),
        answer=(ProbedChatModel(responses=[["Sunny", " today"]]), None),
    )

    def only_answer_node(event: StreamEvent, source: Any) -> StreamEvent | None:
        return event if source["metadata"].get("langgraph_node") == "answer" else None

    assert await tokens_of(server, runnable) == ["route: ", "weather", "Sunny", " today"]
    assert await tokens_of(server, runnable, event_hook=only_answer_node) == ["Sunny", " today"]
