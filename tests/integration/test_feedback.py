"""Feedback on answers: a thumbs-down reaches Langfuse (a loopback capture) as a score on the trace its run wrote,
and the ``on_feedback`` hook; only the run's owner may rate it; bad bodies are 400s naming the field; and each
protocol's own client (``ai`` 7, ``@ag-ui/client``, the ``openai`` SDK) receives the id it rates the answer by."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import openai
import pytest
from quart import Quart

from quart_llmstream import ChatRequest, Feedback, create_blueprint

from fakes import answering
from helpers import langfuse_collector, node, post_stream, running

Given = list[tuple[ChatRequest, Feedback]]


def rated_app(given: Given, protocol: str = "native", **config: Any) -> Quart:
    app = Quart(__name__)
    app.config.update(config)
    blueprint = create_blueprint(
        lambda _: answering("A", " wrong", " answer."),
        protocol=protocol,
        events="token,end",
        stream_owner=lambda chat_request: chat_request.headers.get("X-User"),
        on_feedback=lambda chat_request, feedback: given.append((chat_request, feedback)),
    )
    app.register_blueprint(blueprint, url_prefix="/v1" if protocol == "openai" else None)
    return app


async def rate(url: str, body: Any, user: str = "alice") -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, json=body, headers={"X-User": user})


async def test_a_thumbs_down_is_a_langfuse_score_on_the_answers_trace_and_reaches_the_hook() -> None:
    given: Given = []
    async with langfuse_collector() as (collector_url, received):
        keys = {"LANGFUSE_PUBLIC_KEY": f"pk-lf-{uuid.uuid4()}", "LANGFUSE_SECRET_KEY": "sk-lf-test"}
        app = rated_app(given, LANGFUSE_BASE_URL=collector_url, **keys)
        async with running(app) as url:
            _, stream = await post_stream(f"{url}/chat", {"question": "q"}, headers={"X-User": "alice"})
            end = json.loads(stream.events[-2].data)
            run_id = end["run_id"]
            rated = await rate(f"{url}/chat/feedback", {"run_id": run_id, "score": 1})
            assert rated.status_code == 204
            rated = await rate(f"{url}/chat/feedback", {"run_id": run_id, "score": 0, "comment": "Wrong city."})
            assert rated.status_code == 204  # a vote changed
            assert (await rate(f"{url}/chat/feedback", {"run_id": run_id, "score": 1}, user="bob")).status_code == 404
        # Leaving the server flushed the Langfuse client: the trace and the score went out.
    trace_id = uuid.UUID(run_id).hex
    traces = b"".join(body for path, body in received if path == "api/public/otel/v1/traces")
    assert bytes.fromhex(trace_id) in traces, "the run's trace has the run's id"
    posted = [json.loads(body) for path, body in received if path == "api/public/scores"]
    scores = [score for batch in posted for score in (batch if isinstance(batch, list) else [batch])]
    assert [(s["traceId"], s["name"], s["value"], s.get("comment")) for s in scores] == [
        (trace_id, "user_feedback", 1.0, None),
        (trace_id, "user_feedback", 0.0, "Wrong city."),
    ]
    assert scores[0]["id"] == scores[1]["id"], "the changed vote replaces the first score (same id)"
    [_, (asking, feedback)] = given
    assert (feedback.run_id, feedback.score, feedback.comment) == (run_id, 0.0, "Wrong city.")
    assert feedback.trace_id == trace_id
    assert asking.headers["X-User"] == "alice" and asking.thread_id is None


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"score": 1}, "the body: name the answer by run_id or by message_id"),
        ({"run_id": "r", "message_id": "m", "score": 1}, "run_id or by message_id"),
        ({"run_id": "r"}, "score"),
        ({"run_id": "r", "score": "1"}, "score: Input should be a valid number"),
        ({"run_id": "r", "score": True}, "score: Input should be a valid number"),
        ({"run_id": "r", "score": 2}, "score: a number from 0 to 1"),
        ({"run_id": "r", "score": 1, "comment": 5}, "comment"),
        ({"run_id": "r", "score": 1, "comment": "x" * 4001}, "comment"),
        ({"run_id": "r", "score": 1, "stars": 5}, "stars"),
    ],
)
async def test_bad_feedback_bodies_are_400s_naming_the_field(body: Any, named: str) -> None:
    given: Given = []
    async with running(rated_app(given)) as url:
        refused = await rate(f"{url}/chat/feedback", body)
    assert refused.status_code == 400 and named in refused.json()["detail"], refused.json()
    assert given == []


async def test_another_owners_run_and_an_unknown_one_are_the_same_404() -> None:
    given: Given = []
    async with running(rated_app(given)) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "q"}, headers={"X-User": "alice"})
        run_id = json.loads(stream.events[-2].data)["run_id"]
        theirs = await rate(f"{url}/chat/feedback", {"run_id": run_id, "score": 1}, user="bob")
        unknown = await rate(f"{url}/chat/feedback", {"run_id": str(uuid.uuid4()), "score": 1}, user="bob")
        assert (await rate(f"{url}/chat/feedback", {"run_id": run_id, "score": 1})).status_code == 204
    assert theirs.status_code == unknown.status_code == 404 and theirs.json() == unknown.json()
    assert [feedback.run_id for _, feedback in given] == [run_id]


async def test_the_ai_sdk_client_gets_the_run_in_the_answers_metadata_and_rates_by_it_or_the_message_id() -> None:
    given: Given = []
    async with running(rated_app(given, protocol="ai-sdk")) as url:
        done = await node("ai_chat.mjs", api=f"{url}/chat", chatId="c1", turns=["q"], headers={"X-User": "alice"})
        assert done["error"] is None
        answer = done["messages"][-1]
        run_id = answer["metadata"]["run_id"]
        assert (await rate(f"{url}/chat/feedback", {"run_id": run_id, "score": 1})).status_code == 204
        by_message = await rate(f"{url}/chat/feedback", {"message_id": answer["id"], "score": 0})
        assert by_message.status_code == 204
    assert [(f.run_id, f.score, f.message_id) for _, f in given] == [(run_id, 1.0, None), (run_id, 0.0, answer["id"])]


async def test_the_ag_ui_client_gets_the_run_in_run_finished_result() -> None:
    given: Given = []
    async with running(rated_app(given, protocol="ag-ui")) as url:
        messages = [{"id": "u1", "role": "user", "content": "q"}]
        done = await node(
            "ag_ui.mjs", url=f"{url}/chat", threadId="t1", runId="client-run", messages=messages,
            headers={"X-User": "alice"},
        )  # fmt: skip
        assert done["error"] is None
        [result] = done["results"]
        assert (await rate(f"{url}/chat/feedback", {"run_id": result["run_id"], "score": 1})).status_code == 204
        assert (await rate(f"{url}/chat/feedback", {"message_id": "client-run", "score": 0})).status_code == 204
    assert [(f.run_id, f.thread_id) for _, f in given] == [(result["run_id"], "t1")] * 2


@pytest.mark.parametrize("stream", [True, False])
async def test_the_openai_client_rates_the_completion_by_its_id(stream: bool) -> None:
    given: Given = []
    async with running(rated_app(given, protocol="openai")) as url:
        client = openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0,
                                    default_headers={"X-User": "alice"})  # fmt: skip
        question = [{"role": "user", "content": "q"}]
        if stream:
            chunks = [chunk async for chunk in await client.chat.completions.create(
                model="m", messages=question, stream=True)]  # fmt: skip
            completion_id = chunks[0].id
        else:
            completion_id = (await client.chat.completions.create(model="m", messages=question)).id
        rated = await rate(f"{url}/v1/feedback", {"message_id": completion_id, "score": 0})
        assert rated.status_code == 204
        assert (await rate(f"{url}/v1/feedback", {"message_id": completion_id, "score": 0}, "bob")).status_code == 404
    [(_, feedback)] = given
    assert feedback.message_id == completion_id and uuid.UUID(feedback.run_id)


async def test_without_a_hook_or_langfuse_there_is_no_feedback_route() -> None:
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering("a")))
    async with running(app) as url:
        assert (await rate(f"{url}/chat/feedback", {"run_id": "r", "score": 1})).status_code == 404


async def test_with_langfuse_but_no_langgraph_to_keep_runs_a_chain_streams_and_is_traced_with_no_feedback_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Langfuse alone ([langfuse], no [agents]) must not stop the app: feedback and threads need a LangGraph store."""
    from quart_llmstream import LLMStream

    monkeypatch.setattr(LLMStream, "keeps_records", lambda self: False)
    async with langfuse_collector() as (collector_url, received):
        app = Quart(__name__)
        keys = {"LANGFUSE_PUBLIC_KEY": f"pk-lf-{uuid.uuid4()}", "LANGFUSE_SECRET_KEY": "sk-lf-test"}
        app.config["LANGFUSE_BASE_URL"] = collector_url
        app.config.update(keys)
        owner = {"stream_owner": lambda chat_request: chat_request.headers.get("X-User")}
        app.register_blueprint(create_blueprint(lambda _: answering("traced"), **owner))
        async with running(app) as url:
            chat = await rate(f"{url}/chat", {"question": "hi"})
    assert chat.status_code == 200 and "traced" in chat.text
    assert any(path == "api/public/otel/v1/traces" for path, _ in received), "the run was traced"
    assert [rule.rule for rule in app.url_map.iter_rules() if "/chat/" in rule.rule] == [], "no feedback, no threads"


async def test_a_deleted_thread_takes_its_runs_with_it() -> None:
    """The runs kept for feedback are the thread's: deleting it leaves none in the store, and a rating is a 404."""
    from quart_llmstream import LLMStream
    from quart_llmstream.testing import ScriptedChatModel

    from fakes import agent

    given: Given = []
    app = Quart(__name__)
    extension = LLMStream(app)
    app.register_blueprint(
        create_blueprint(
            lambda _: agent(ScriptedChatModel(replies=["Noted."])),
            events="token,end",
            stream_owner=lambda chat_request: chat_request.headers.get("X-User"),
            on_feedback=lambda chat_request, feedback: given.append((chat_request, feedback)),
        )
    )
    async with running(app) as url:
        alice = {"X-User": "alice"}
        _, stream = await post_stream(f"{url}/chat", {"question": "q", "thread_id": "t1"}, headers=alice)
        run_id = json.loads(stream.events[-2].data)["run_id"]
        assert (await rate(f"{url}/chat/feedback", {"run_id": run_id, "score": 1})).status_code == 204
        store = extension.records().store
        kept = await store.asearch(("llmstream", "runs"))  # by its id, and by the id of the answer it added
        assert {item.value["run_id"] for item in kept} == {run_id} and run_id in {item.key for item in kept}
        async with httpx.AsyncClient() as client:
            assert (await client.delete(f"{url}/chat/threads/t1", headers=alice)).status_code == 204
        assert await store.asearch(("llmstream", "runs")) == []
        assert (await rate(f"{url}/chat/feedback", {"run_id": run_id, "score": 1})).status_code == 404
    assert given[0][0].thread_id == "t1" and given[0][1].thread_id == "t1"


async def test_a_hook_that_fails_makes_the_rating_a_500_the_client_can_retry() -> None:
    def failing(chat_request: ChatRequest, feedback: Feedback) -> None:
        raise RuntimeError("the ratings table is down")

    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering("a"), events="token,end", on_feedback=failing))
    async with running(app) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "q"})
        run_id = json.loads(stream.events[-2].data)["run_id"]
        failed = await rate(f"{url}/chat/feedback", {"run_id": run_id, "score": 1})
    assert failed.status_code == 500 and "ratings table" not in failed.text  # redacted


@pytest.mark.parametrize("protocol", ["native", "ai-sdk", "ag-ui", "openai"])
async def test_an_answer_read_back_from_its_thread_is_rated_by_the_id_it_is_read_back_with(protocol: str) -> None:
    """After a reload the page has the thread's messages, not the stream's ids: the answer's id as read back names
    its run."""
    from langchain.agents import create_agent
    from langgraph.checkpoint.memory import InMemorySaver

    from quart_llmstream.testing import ChatClient, ScriptedChatModel

    rated: list[str] = []
    app = Quart(__name__)
    app.config |= {"LLMSTREAM_SINGLE_USER": True, "LLMSTREAM_ON_FEEDBACK": lambda _, given: rated.append(given.run_id)}
    graph = create_agent(ScriptedChatModel(replies=["Hello.", "Bye."]), tools=[], checkpointer=InMemorySaver())
    app.register_blueprint(create_blueprint(lambda _: graph, protocol=protocol, events="token,end"), url_prefix="/x")
    route = "/x" if protocol == "openai" else "/x/chat"
    chat = ChatClient(app, route, protocol=protocol)
    first, second = await chat.send("hi", thread_id="t1"), await chat.send("bye", thread_id="t1")
    answers = [m for m in (await chat.thread("t1")).json["messages"] if m["role"] == "assistant"]
    for answer in answers:
        rating = await app.test_client().post(f"{route}/feedback", json={"message_id": answer["id"], "score": 1})
        assert rating.status_code == 204, await rating.get_data(as_text=True)
    assert rated == [first.run_id, second.run_id] and None not in rated


async def test_a_stateless_runs_answer_is_rated_with_no_thread_its_thread_being_gone() -> None:
    from langchain.agents import create_agent
    from langgraph.checkpoint.memory import InMemorySaver

    from quart_llmstream.testing import ChatClient, ScriptedChatModel

    rated: list[Any] = []
    app = Quart(__name__)
    app.config |= {"LLMSTREAM_SINGLE_USER": True, "LLMSTREAM_ON_FEEDBACK": lambda asking, _: rated.append(asking)}
    graph = create_agent(ScriptedChatModel(replies=["Hello."]), tools=[], checkpointer=InMemorySaver())
    app.register_blueprint(create_blueprint(lambda _: graph, protocol="langgraph"), url_prefix="/lg")
    chat = ChatClient(app, "/lg", protocol="langgraph")
    answered = await chat.send("hi")  # no thread: a stateless run, its thread deleted as it ends
    assert (await chat.rate(answered, 1)).status_code == 204
    assert [asking.thread_id for asking in rated] == [None]
