"""The public API: routes from config, several blueprints per app, sync and async factories."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langgraph.checkpoint.memory import InMemorySaver
from quart import Quart

from quart_llmstream import ChatRequest, create_blueprint

from fakes import ProbedChatModel, answering
from helpers import post_stream, tokens

PROMPT = ChatPromptTemplate.from_messages([MessagesPlaceholder("chat_history"), ("human", "{question}")])


def text(messages: list[str]) -> str:
    return "".join(tokens(messages))


async def test_two_blueprints_in_one_app_each_with_its_factory_and_settings(server: Any) -> None:
    app = Quart(__name__)
    app.config["LLMSTREAM_ROUTE"] = "/ask"
    app.register_blueprint(create_blueprint(lambda _: answering("one"), name="first"), url_prefix="/a")
    app.register_blueprint(
        create_blueprint(lambda _: answering("two"), name="second", route="/talk"),
        url_prefix="/b",
    )
    async with server(app) as url:
        _, first = await post_stream(f"{url}/a/ask", {"question": "q"})
        _, second = await post_stream(f"{url}/b/talk", {"question": "q"})
        _, missing = await post_stream(f"{url}/b/ask", {"question": "q"})
    assert text(first.messages) == "one"
    assert text(second.messages) == "two"
    assert missing.events == []


async def test_sync_and_async_factories_see_the_request_and_history_reaches_the_model(server: Any) -> None:
    model = ProbedChatModel(responses=[["fine"]])
    seen: list[tuple[str, str]] = []

    def sync_factory(chat_request: ChatRequest) -> Any:
        seen.append(("sync", chat_request.headers["X-User"]))
        return PROMPT | model

    async def async_factory(chat_request: ChatRequest) -> Any:
        seen.append(("async", chat_request.headers["X-User"]))
        return PROMPT | model

    app = Quart(__name__)
    app.register_blueprint(create_blueprint(sync_factory, name="sync"), url_prefix="/sync")
    app.register_blueprint(create_blueprint(async_factory, name="async"), url_prefix="/async")
    body = {"question": "how are you?", "chat_history": [["user", "hello"], ["assistant", "hi there"]]}
    async with server(app) as url:
        for prefix in ("sync", "async"):
            _, stream = await post_stream(f"{url}/{prefix}/chat", body, headers={"X-User": f"u-{prefix}"})
            assert text(stream.messages) == "fine"
    assert seen == [("sync", "u-sync"), ("async", "u-async")]
    for call in model.probe.calls:
        assert [(m.type, m.content) for m in call] == [
            ("human", "hello"),
            ("ai", "hi there"),
            ("human", "how are you?"),
        ]


class DownSaver(InMemorySaver):
    """A checkpointer whose database is down."""

    async def aget_tuple(self, config: Any) -> Any:
        raise RuntimeError("connection to db:5432 refused, password hunter2")


async def test_a_route_that_fails_unexpectedly_is_a_logged_redacted_500_in_the_protocols_json(
    caplog: pytest.LogCaptureFixture,
) -> None:
    graph = create_agent(ProbedChatModel(responses=[["hi"]]), tools=[], checkpointer=DownSaver())
    owner = {"stream_owner": lambda chat_request: "alice"}
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: graph, name="native", **owner), url_prefix="/native")
    app.register_blueprint(
        create_blueprint(lambda _: graph, name="lg", protocol="langgraph", **owner), url_prefix="/lg"
    )
    client = app.test_client()
    native = await client.get("/native/chat/threads/t1")
    langgraph = await client.get("/lg/threads/t1/state")
    missing = await client.get("/lg/nothing/here")
    assert (native.status_code, langgraph.status_code, missing.status_code) == (500, 500, 404)
    assert (await native.get_json())["error"] == "internal_error"
    assert set(await langgraph.get_json()) == {"detail"}
    shown = await native.get_data(as_text=True) + await langgraph.get_data(as_text=True)
    assert "hunter2" not in shown and "db:5432" not in shown
    assert sum("hunter2" in str(record.exc_info) for record in caplog.records) == 2, "each failure is logged"


async def test_a_failing_factory_is_a_500_json_error_not_a_stream() -> None:
    def factory(_: ChatRequest) -> Any:
        raise RuntimeError("secret key sk-123 invalid")

    app = Quart(__name__)
    app.register_blueprint(create_blueprint(factory))
    response = await app.test_client().post("/chat", json={"question": "q"})
    assert response.status_code == 500
    answer = await response.get_json()
    assert answer["error"] == "internal_error"
    assert "sk-123" not in answer["detail"]


async def test_a_chat_model_served_alone_takes_the_conversation_as_its_input(server: Any) -> None:
    """``create_blueprint(lambda _: ChatOpenAI())``, with no prompt before it: the model gets the messages, its
    history included (through ``bind`` and the like too), and streams."""
    from langchain_core.messages import AIMessage, HumanMessage

    model = ProbedChatModel(responses=[["Hello", " again"]])
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: model.with_config(tags=["alone"])))
    body = {"question": "and now?", "chat_history": [{"role": "user", "content": "hi"}, ["assistant", "hello"]]}
    async with server(app) as url:
        _, stream = await post_stream(f"{url}/chat", body)
    assert tokens(stream.messages) == ["Hello", " again"] and stream.messages[-1] == "[DONE]"
    [sent] = model.probe.calls
    assert [(type(m), m.text) for m in sent] == [(HumanMessage, "hi"), (AIMessage, "hello"), (HumanMessage, "and now?")]
