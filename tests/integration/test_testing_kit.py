"""The test kit (``quart_llmstream.testing``): a ``create_agent`` graph on the scripted model calls a tool, pauses for
approval and answers, in each protocol, through the client helper (a real server, or Quart's test client); the
example of docs/testing.md runs as it is written."""

from __future__ import annotations

import asyncio
import contextlib
import re
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import AgentState, HumanInTheLoopMiddleware
from langchain_core.messages import ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from quart import Quart

from quart_llmstream import create_blueprint
from quart_llmstream.testing import ChatClient, ScriptedChatModel, ToolCall

DOCS = Path(__file__).parents[2] / "docs"
NOTE = ToolCall("send_note", {"to": "Ann", "text": "hello"})


@tool
def send_note(to: str, text: str) -> str:
    """Send a note to someone."""
    return f"sent to {to}: {text}"


def noting_app(model: ScriptedChatModel, *protocols: str) -> Quart:
    """One agent, served in each of ``protocols`` (its threads shared: the same graph, the same checkpointer)."""
    gate = HumanInTheLoopMiddleware(interrupt_on={"send_note": True})
    graph = create_agent(model, tools=[send_note], middleware=[gate], checkpointer=InMemorySaver())
    app = Quart(__name__)
    for protocol in protocols:
        blueprint = create_blueprint(lambda _: graph, name=protocol, protocol=protocol, events="token,tool,end")
        app.register_blueprint(blueprint, url_prefix=f"/{protocol}")
    return app


@pytest.mark.parametrize("protocol", ["native", "ai-sdk", "ag-ui", "langgraph"])
@pytest.mark.parametrize("served", [True, False], ids=["hypercorn", "test-client"])
async def test_an_agent_calls_a_tool_pauses_for_approval_and_answers(protocol: str, served: bool) -> None:
    model = ScriptedChatModel(replies=[NOTE, "Done: the note is sent."], delay=0.01)
    app = noting_app(model, protocol)
    route = f"/{protocol}" if protocol == "langgraph" else f"/{protocol}/chat"  # LangGraph's: the API's prefix
    if served:
        async with ChatClient.serving(app, route, protocol=protocol) as chat:
            asked = await chat.send("Send Ann a note saying hello", thread_id="t1")
            done = await chat.decide(asked)
    else:
        chat = ChatClient(app, route, protocol=protocol)
        asked = await chat.send("Send Ann a note saying hello", thread_id="t1")
        done = await chat.decide(asked)
    assert asked.status_code == 200 and asked.error is None
    assert [(call["name"], call["args"]) for call in asked.tool_calls] == [("send_note", NOTE.args)]
    assert [(a.name, a.args) for a in asked.approvals] == [("send_note", NOTE.args)]
    assert asked.text == "" and asked.tool_results == {} and asked.thread_id == "t1"
    assert done.text == "Done: the note is sent." and done.error is None and done.tool_calls == [], "this run's"
    assert list(done.tool_results.values()) in (["sent to Ann: hello"], [{"content": "sent to Ann: hello"}])
    assert list(done.tool_results) == [asked.approvals[0].tool_call_id], "by call id, in every protocol"
    assert done.run_id and done.run_id != asked.run_id
    assert len(model.seen) == 2 and model.seen[1][-1].text == "sent to Ann: hello"


@pytest.mark.parametrize("protocol", ["native", "ai-sdk", "ag-ui", "langgraph"])
async def test_a_rejection_carries_its_message_to_the_model_and_the_pause_says_interrupt(protocol: str) -> None:
    model = ScriptedChatModel(replies=[NOTE, "Fine, I will not."])
    chat = ChatClient(noting_app(model, protocol), f"/{protocol}" if protocol == "langgraph" else f"/{protocol}/chat",
                      protocol=protocol)  # fmt: skip
    asked = await chat.send("Send Ann a note saying hello", thread_id="t1")
    done = await chat.decide(asked, approve=False, message="Not to Ann.")
    assert asked.finish_reason == "interrupt" and done.text == "Fine, I will not."
    assert "Not to Ann." in model.seen[1][-1].text, "the person's reason, as the model reads it"
    [call] = asked.approvals
    rejection = done.tool_results.get(call.tool_call_id)
    assert rejection is None if protocol == "ai-sdk" else "Not to Ann." in str(rejection), "where the wire sends it"


@pytest.mark.parametrize("protocol", ["native", "ai-sdk", "ag-ui", "langgraph"])
async def test_decide_answers_two_calls_of_a_per_call_gate_each_by_its_interrupt(protocol: str) -> None:
    """``HumanInTheLoopMiddleware(interrupt_mode="per_call")``: an interrupt per call, each decided in its own."""
    second = ToolCall("send_note", {"to": "Bob", "text": "hi"})
    model = ScriptedChatModel(replies=[[NOTE, second], "Done: both sent."])
    gate = HumanInTheLoopMiddleware(interrupt_on={"send_note": True}, interrupt_mode="per_call")
    graph = create_agent(model, tools=[send_note], middleware=[gate], checkpointer=InMemorySaver())
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: graph, protocol=protocol, events="token,tool,end"))
    chat = ChatClient(app, protocol=protocol)  # the protocol's own route by default
    asked = await chat.send("Send Ann and Bob a note", thread_id="t1")
    done = await chat.decide(asked)
    assert sorted(a.args["to"] for a in asked.approvals) == ["Ann", "Bob"]
    assert len({a.id for a in asked.approvals}) == 2, "an interrupt per call"
    assert done.status_code == 200 and done.error is None and done.text == "Done: both sent.", done.error


async def test_the_openai_protocol_shows_the_pause_as_its_error_and_another_protocol_decides() -> None:
    model = ScriptedChatModel(replies=[NOTE, "Done: the note is sent."])
    app = noting_app(model, "openai", "native")
    async with ChatClient.serving(app, "/openai", protocol="openai") as chat:
        asked = await chat.send("Send Ann a note saying hello", thread_id="t1")
        native = ChatClient(chat.target, "/native/chat")
        with pytest.raises(NotImplementedError):
            await chat.decide(asked)  # its wire has no decision to carry
        with pytest.raises(NotImplementedError):
            await chat.decide(_with_approval(asked))
        done = await native.post({"thread_id": "t1", "resume": {"decisions": [{"type": "approve"}]}})
    assert asked.error is not None and asked.error["code"] == "interrupted"
    assert asked.message_id is not None and asked.message_id.startswith("chatcmpl-")
    assert done.text == "Done: the note is sent." and done.finish_reason == "stop"


def _with_approval(reply: Any) -> Any:
    from quart_llmstream.testing import Approval

    reply.approvals = [Approval("i", "call", "send_note", {})]
    return reply


class TodoState(AgentState):
    todos: list[str]


@tool
def update_todos(todos: list[str], tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[None]:
    """Replace the to-do list."""
    return Command(update={"todos": todos, "messages": [ToolMessage("updated", tool_call_id=tool_call_id)]})


@pytest.mark.parametrize("protocol", ["native", "ai-sdk", "ag-ui"])
async def test_a_replys_state_is_the_shared_state_as_the_run_left_it_in_every_protocol(protocol: str) -> None:
    """The native protocol sends a snapshot, then patches that build on it: the reply applies them."""
    model = ScriptedChatModel(replies=[ToolCall("update_todos", {"todos": ["milk", "eggs"]}), "Updated."])
    agent = create_agent(model, tools=[update_todos], state_schema=TodoState, checkpointer=InMemorySaver())
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: agent, protocol=protocol, state_keys=["todos"]))
    reply = await ChatClient(app, protocol=protocol).send("add milk and eggs", thread_id="t1", state={"todos": ["tea"]})
    assert reply.status_code == 200 and reply.text == "Updated."
    assert reply.state == {"todos": ["milk", "eggs"]}


async def test_one_app_is_served_and_tested_again_and_again() -> None:
    """A server that stops ends its streams (``shutdown``); the app takes streams again when next used."""
    app = noting_app(ScriptedChatModel(replies=["Hello there."]), "native")
    answers = []
    for _ in range(2):
        async with ChatClient.serving(app, "/native/chat") as chat:
            answers.append(await chat.send("hi"))
    answers.append(await ChatClient(app, "/native/chat").send("hi"))
    assert [(reply.status_code, reply.text) for reply in answers] == [(200, "Hello there.")] * 3


async def test_a_refusal_is_the_reply_of_a_status_and_its_json() -> None:
    chat = ChatClient(noting_app(ScriptedChatModel(replies=["hi"]), "native"), "/native/chat")
    refused = await chat.post({"question": 5})
    assert refused.status_code == 400 and refused.error is not None and "question" in refused.error["detail"]
    assert refused.frames == []


async def test_a_route_that_is_not_there_is_the_reply_of_its_status_and_the_apps_page() -> None:
    chat = ChatClient(noting_app(ScriptedChatModel(replies=["hi"]), "native"), "/elsewhere")
    missing = await chat.send("hello")
    assert missing.status_code == 404 and isinstance(missing.error, str) and missing.frames == []


async def test_the_openai_client_finds_the_route_of_a_blueprint_at_the_root_by_default() -> None:
    graph = create_agent(ScriptedChatModel(replies=["Hello."]), tools=[], checkpointer=InMemorySaver())
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: graph, protocol="openai"))
    answered = await ChatClient(app, protocol="openai").send("hi")
    assert answered.status_code == 200 and answered.text == "Hello."


@pytest.mark.parametrize("protocol", ["native", "ai-sdk", "ag-ui", "openai", "langgraph"])
async def test_a_replys_run_id_rates_the_answer_in_every_protocol(protocol: str) -> None:
    """What feedback names (the native protocol's with ``end`` among its events, as here)."""
    rated: list[str] = []
    app = Quart(__name__)
    app.config["LLMSTREAM_ON_FEEDBACK"] = lambda _, feedback: rated.append(feedback.run_id)
    graph = create_agent(ScriptedChatModel(replies=["Hello."]), tools=[], checkpointer=InMemorySaver())
    app.register_blueprint(create_blueprint(lambda _: graph, protocol=protocol, events="token,end"), url_prefix="/x")
    route = "/x" if protocol in ("openai", "langgraph") else "/x/chat"
    chat = ChatClient(app, route, protocol=protocol)
    answered = await chat.send("hi")
    rating = await chat.rate(answered, 1)
    assert answered.text == "Hello." and rating.status_code == 204 and rated == [answered.run_id]
    assert "score: a number from 0 to 1" in str((await chat.rate(answered, 7)).json), "in the protocol's error shape"


@pytest.mark.parametrize("protocol", ["native", "ai-sdk", "ag-ui", "openai"])
@pytest.mark.parametrize("served", [True, False], ids=["hypercorn", "test-client"])
async def test_a_test_lists_reads_renames_and_deletes_threads_in_the_protocols_shapes(
    protocol: str, served: bool
) -> None:
    app = Quart(__name__)
    app.config["LLMSTREAM_SINGLE_USER"] = True
    graph = create_agent(ScriptedChatModel(replies=["Hello."]), tools=[], checkpointer=InMemorySaver())
    app.register_blueprint(create_blueprint(lambda _: graph, protocol=protocol), url_prefix="/x")
    route = "/x" if protocol == "openai" else "/x/chat"
    async with contextlib.AsyncExitStack() as stack:
        chat = (
            await stack.enter_async_context(ChatClient.serving(app, route, protocol=protocol))
            if served
            else ChatClient(app, route, protocol=protocol)
        )
        for thread_id in ("t1", "t2"):
            assert (await chat.send(f"hi from {thread_id}", thread_id=thread_id)).text == "Hello."
        listed = await chat.threads(limit=1)
        rest = await chat.threads(cursor=listed.json["next_cursor"])
        renamed = await chat.rename("t1", "Greetings")
        read = await chat.thread("t1")
        deleted = await chat.delete("t1")
        gone = await chat.thread("t1")
    assert [t["thread_id"] for t in listed.json["threads"] + rest.json["threads"]] == ["t2", "t1"]
    assert renamed.status_code == 200 and renamed.json["title"] == "Greetings"
    assert read.json["title"] == "Greetings" and len(read.json["messages"]) == 2, read.json
    assert (deleted.status_code, deleted.json, gone.status_code) == (204, None, 404)


async def test_langgraphs_threads_are_its_servers_api_not_the_kits() -> None:
    chat = ChatClient(Quart(__name__), protocol="langgraph")
    with pytest.raises(NotImplementedError, match="get_client"):
        await chat.threads()


async def test_the_example_of_the_testing_guide_runs() -> None:
    [example] = re.findall(r"```python\n(.*?)```", (DOCS / "testing.md").read_text(), re.DOTALL)[:1]
    namespace: dict[str, Any] = {"__name__": "testing_guide"}
    exec(compile(example, "docs/testing.md", "exec"), namespace)
    tests = [value for name, value in namespace.items() if name.startswith("test_")]
    assert tests
    for test in tests:
        await test()


def test_a_scripted_model_with_no_reply_is_refused_as_it_is_made() -> None:
    """Not a ZeroDivisionError at its first call, redacted to the client as an internal error."""
    with pytest.raises(ValueError, match="replies"):
        ScriptedChatModel(replies=[])


async def test_a_route_named_with_a_trailing_slash_is_the_route() -> None:
    graph = create_agent(ScriptedChatModel(replies=["Hello."]), tools=[], checkpointer=InMemorySaver())
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: graph, protocol="langgraph"), url_prefix="/lg")
    answered = await ChatClient(app, "/lg/", protocol="langgraph").send("hi")
    assert answered.status_code == 200 and answered.text == "Hello."


async def test_a_scripted_models_first_chunk_is_due_after_first_delay_and_the_rest_delay_apart() -> None:
    """A model that thinks before it answers (a time to first token of its own), then streams at its pace."""
    loop = asyncio.get_running_loop()
    arrivals: dict[str, list[float]] = {}
    for name, first_delay in (("thinking", 0.3), ("at once", 0.0), ("as the rest", None)):
        start, arrivals[name] = loop.time(), []
        async for chunk in ScriptedChatModel(replies=["one two"], delay=0.1, first_delay=first_delay).astream("hi"):
            if chunk.content:  # the words, not the usage after them
                arrivals[name].append(loop.time() - start)
    assert arrivals["thinking"][0] >= 0.3 and arrivals["at once"][0] < 0.09 <= arrivals["as the rest"][0]
    assert all(second - first >= 0.09 for first, second in arrivals.values())
