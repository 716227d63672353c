"""Shared state: a LangGraph graph's state streams to the client (a snapshot, then patches, only when it
changes), the client's state reaches the graph, a node publishes its progress before it ends, and a tool's
streaming arguments move the state before the tool runs — each protocol as its own client assembles it."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, NotRequired, TypedDict

import jsonpatch
import pytest
from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, AgentState, hook_config
from langchain_core.messages import AnyMessage, BaseMessage, ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command

from quart_llmstream import emit_state
from quart_llmstream.events import StateChanged
from quart_llmstream.run.mapping.state import StateStream

from fakes import ProbedChatModel, words
from helpers import chat_app, node, post_stream, running


class Plan(TypedDict, total=False):
    messages: Annotated[list[BaseMessage], add_messages]
    todos: list[str]
    progress: int


def planning(checkpointer: bool = True, pause: float = 0.0) -> Any:
    """Two steps: ``plan`` adds a to-do and publishes its progress while it works; ``review`` adds another."""

    async def plan(state: Plan) -> Plan:
        for step in (1, 2):
            await emit_state({"progress": step})
            await asyncio.sleep(pause)
        return {"todos": [*state.get("todos", []), "book"], "progress": 3}

    async def review(state: Plan) -> Plan:
        return {"todos": [*state["todos"], "pack"]}

    graph = StateGraph(Plan)
    graph.add_node("plan", plan)
    graph.add_node("review", review)
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "review")
    graph.add_edge("review", END)
    return graph.compile(checkpointer=InMemorySaver() if checkpointer else None)


FINAL = {"todos": ["pay", "book", "pack"], "progress": 3}


@pytest.mark.parametrize("source", ["astream_events", "callbacks"])
async def test_native_a_snapshot_then_patches_applied_in_order_give_the_final_state(source: str) -> None:
    graph = planning()
    async with running(chat_app(graph, event_source=source)) as url:
        _, stream = await post_stream(
            f"{url}/chat", {"question": "plan", "thread_id": "t", "state": {"todos": ["pay"]}}
        )
    frames = [json.loads(event.data) for event in stream.events if event.event == "state"]
    state = frames[0]["snapshot"]
    assert state == {"todos": ["pay"]}, "the client's state reached the graph"
    seen = [state]
    for frame in frames[1:]:
        state = jsonpatch.apply_patch(state, frame["patch"])
        seen.append(state)
    assert state == FINAL
    stored = (await graph.aget_state({"configurable": {"thread_id": "t"}})).values
    assert {key: stored[key] for key in FINAL} == FINAL
    progress = [s.get("progress") for s in seen]
    assert progress.index(1) < progress.index(2) < next(i for i, s in enumerate(seen) if "book" in s["todos"]), (
        "the node's progress arrived before it ended"
    )
    assert len(frames) == len({json.dumps(s, sort_keys=True) for s in seen}), "sent only when it changed"


class Account(TypedDict, total=False):
    messages: Annotated[list[BaseMessage], add_messages]
    todos: list[str]
    role: str


async def test_the_clients_state_reaches_only_the_keys_shared_with_it() -> None:
    """``state_keys`` selects what is shared both ways: a key the server keeps to itself (``role``) is not
    the client's to write."""
    seen: list[dict[str, Any]] = []

    def look(state: Account) -> Account:
        seen.append(dict(state))
        return {}

    graph = StateGraph(Account)
    graph.add_node("look", look)
    graph.add_edge(START, "look")
    graph.add_edge("look", END)
    body = {"question": "q", "state": {"todos": ["pay"], "role": "admin"}}
    async with running(chat_app(graph.compile(), state_keys=["todos"])) as url:
        await post_stream(f"{url}/chat", body)
    async with running(chat_app(graph.compile())) as url:  # by default, every key but messages
        await post_stream(f"{url}/chat", body)
    assert seen[0].get("todos") == ["pay"] and "role" not in seen[0]
    assert seen[1].get("role") == "admin"


STATE_BODIES = {
    "native": lambda state: {"question": "q", "thread_id": "t", "state": state},
    "ai-sdk": lambda state: AI_SDK_TURN | {"state": state},
    "ag-ui": lambda state: (
        {"threadId": "t", "runId": "r", "messages": [{"id": "u", "role": "user", "content": "q"}]} | {"state": state}
    ),
}


@pytest.mark.parametrize("protocol", list(STATE_BODIES))
async def test_a_client_state_that_does_not_fit_the_graphs_state_schema_is_a_400(protocol: str) -> None:
    """``todos: list[str]`` in the graph's schema: a number, or a list holding one, would fail a node mid-run."""
    app = chat_app(todo_agent(), protocol=protocol)
    client = app.test_client()
    answers = [
        await client.post("/chat", json=STATE_BODIES[protocol](state)) for state in ({"todos": 5}, {"todos": ["a", 2]})
    ]
    details = [(answer.status_code, (await answer.get_json())["detail"]) for answer in answers]
    assert details == [
        (400, "state.todos: Input should be a valid list"),
        (400, "state.todos.1: Input should be a valid string"),
    ]
    fitting = await client.post("/chat", json=STATE_BODIES[protocol]({"todos": ["a"]}))
    assert fitting.status_code == 200


class Notes(TypedDict):
    messages: Annotated[list[BaseMessage], add_messages]
    history: Annotated[list[AnyMessage], add_messages]
    done: NotRequired[list[str]]


async def test_a_key_with_a_reducer_takes_what_its_reducer_takes_and_wrapped_types_are_checked() -> None:
    """``history`` has ``add_messages``, which takes role dicts and the messages the stream sent: the
    reducer says what fits, no false 400 (nor a 500 from a validator that raises otherwise);
    ``NotRequired[list[str]]`` is still a list of strings."""
    graph = StateGraph(Notes)
    graph.add_node("note", lambda state: {"done": ["ok"]})
    graph.add_edge(START, "note")
    client = chat_app(graph.compile()).test_client()
    sent = {"type": "human", "content": "hi", "id": "m1"}
    fits = await client.post(
        "/chat", json={"question": "q", "state": {"history": [sent, {"role": "user", "content": "x"}]}}
    )
    refused = await client.post("/chat", json={"question": "q", "state": {"done": [5]}})
    assert fits.status_code == 200, await fits.get_data(as_text=True)
    assert (refused.status_code, (await refused.get_json())["detail"]) == (
        400,
        "state.done.0: Input should be a valid string",
    )


async def test_the_event_hook_does_not_see_the_state_whose_patches_build_on_each_other() -> None:
    """A hook that drops every event it sees drops no state frame: a dropped patch would leave the client's
    state wrong from then on."""
    async with running(chat_app(planning(), event_hook=lambda event, source: None)) as url:
        _, stream = await post_stream(
            f"{url}/chat", {"question": "plan", "thread_id": "t", "state": {"todos": ["pay"]}}
        )
    frames = [json.loads(event.data) for event in stream.events if event.event == "state"]
    state = frames[0]["snapshot"]
    for frame in frames[1:]:
        state = jsonpatch.apply_patch(state, frame["patch"])
    assert state == FINAL


async def test_intermediate_state_arrives_while_the_node_still_works() -> None:
    graph = planning(pause=0.5)
    async with running(chat_app(graph)) as url:
        import httpx

        async with httpx.AsyncClient(timeout=30) as client:
            body = {"question": "plan", "thread_id": "t", "state": {"todos": ["pay"]}}
            async with client.stream("POST", f"{url}/chat", json=body) as response:
                seen = b""
                async for chunk in response.aiter_raw():
                    seen += chunk
                    if b'"value":1' in seen or b'"progress":1' in seen:
                        break
    assert b"book" not in seen, "progress 1 came before the plan node ended (it still sleeps)"


async def test_ag_ui_agent_state_is_the_graphs_final_state_and_messages_the_threads() -> None:
    graph = planning()
    async with running(chat_app(graph, protocol="ag-ui")) as url:
        done = await node(
            "ag_ui.mjs",
            url=f"{url}/chat",
            threadId="t",
            runId="r1",
            state={"todos": ["pay"]},
            messages=[{"id": "u1", "role": "user", "content": "plan"}],
        )
    assert done["error"] is None
    assert done["state"] == FINAL
    thread = (await graph.aget_state({"configurable": {"thread_id": "t"}})).values["messages"]
    assert [(m["id"], m["content"]) for m in done["messages"]] == [(m.id, m.text) for m in thread]
    types = [event["type"] for event in done["events"]]
    assert types.index("STATE_SNAPSHOT") < types.index("STATE_DELTA")
    assert types[-2:] == ["MESSAGES_SNAPSHOT", "RUN_FINISHED"]


async def test_ai_sdk_one_data_state_part_updated_in_place_ends_as_the_final_state() -> None:
    async with running(chat_app(planning(), protocol="ai-sdk")) as url:
        done = await node(
            "ai_chat.mjs", api=f"{url}/chat", chatId="t", turns=["plan"], body={"state": {"todos": ["pay"]}}
        )
    assert done["error"] is None
    _, answer = done["messages"]
    states = [part for part in answer["parts"] if part["type"] == "data-state"]
    assert states == [{"type": "data-state", "id": "state", "data": FINAL}]


async def test_no_state_streams_for_a_runnable_that_is_not_a_graph_or_when_no_keys_are_selected() -> None:
    async with running(chat_app(ProbedChatModel(responses=[["hi"]]))) as url:
        _, plain = await post_stream(f"{url}/chat", {"question": "q", "state": {"todos": ["pay"]}})
    async with running(chat_app(planning(), state_keys=[])) as url:
        _, off = await post_stream(f"{url}/chat", {"question": "q", "thread_id": "t"})
    async with running(chat_app(planning(), state_keys=["todos"])) as url:
        _, some = await post_stream(f"{url}/chat", {"question": "q", "thread_id": "t"})
    assert not any(event.event == "state" for event in plain.events + off.events)
    frames = [json.loads(event.data) for event in some.events if event.event == "state"]
    assert frames[0] == {"snapshot": {"todos": ["book"]}} and all("progress" not in json.dumps(f) for f in frames)


# Predictive state: the state follows a tool's arguments as the model streams them, before the tool runs.


class Todos(AgentState[Any]):
    todos: list[str]


@tool
def update_todos(todos: list[str], tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
    """Replace the to-do list."""
    return Command(update={"todos": todos, "messages": [ToolMessage("updated", tool_call_id=tool_call_id)]})


def listing(messages: list[BaseMessage], tools: Any) -> Any:
    from langchain_core.messages import AIMessageChunk

    if isinstance(messages[-1], ToolMessage):
        return words("Your list is updated.")
    head = {"name": "update_todos", "args": '{"todos": ["milk"', "id": "call_u1", "index": 0}
    return [
        AIMessageChunk(content="", tool_call_chunks=[head]),
        AIMessageChunk(content="", tool_call_chunks=[{"args": ', "eggs"', "index": 0}]),
        AIMessageChunk(content="", tool_call_chunks=[{"args": "]}", "index": 0}]),
    ]


AI_SDK_TURN = {"id": "c1", "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "milk"}]}]}
PREDICT = [{"state_key": "todos", "tool": "update_todos", "tool_argument": "todos"}]


class Reviewing(AgentMiddleware[Any, Any]):
    """A node between the model and the tools, as human-in-the-loop and other middleware add: its input is
    the state without what the model's call predicts."""

    def after_model(self, state: Any, runtime: Any) -> None:
        return None


def todo_agent(*middleware: Any) -> Any:
    model = ProbedChatModel(responses=[listing])
    saver = InMemorySaver()
    return create_agent(model, tools=[update_todos], state_schema=Todos, middleware=middleware, checkpointer=saver)


@pytest.mark.parametrize("middleware", [(), (Reviewing(),)], ids=["agent", "agent with after_model middleware"])
async def test_native_predicted_state_follows_the_arguments_before_the_tools_result(middleware: Any) -> None:
    """The prediction stands until the tool has run: no step between takes it back (the page's list would
    flicker), and the tool's own update, the same, sends nothing more."""
    agent = todo_agent(*middleware)
    async with running(chat_app(agent, events="token,tool", predict_state=PREDICT)) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "milk and eggs", "thread_id": "t"})
    kinds = [(event.event, json.loads(event.data)) for event in stream.events if event.event in ("state", "tool_end")]
    state: Any = None
    seen = []
    for kind, data in kinds:
        if kind == "state":
            state = data["snapshot"] if "snapshot" in data else jsonpatch.apply_patch(state, data["patch"])
            seen.append(("state", state["todos"]))
        else:
            seen.append(("tool_end", None))
    assert seen == [("state", ["milk"]), ("state", ["milk", "eggs"]), ("tool_end", None)]


class Stopping(AgentMiddleware[Any, Any]):
    """After the model, the agent stops: the predicted call never runs."""

    @hook_config(can_jump_to=["end"])
    def after_model(self, state: Any, runtime: Any) -> dict[str, Any]:
        return {"jump_to": "end"}


async def test_a_prediction_whose_tool_never_runs_gives_way_to_the_graphs_last_state() -> None:
    """With no checkpointer to ask after the run, the graph's end says what its state is."""
    graph = create_agent(
        ProbedChatModel(responses=[listing]), tools=[update_todos], state_schema=Todos, middleware=[Stopping()]
    )
    async with running(chat_app(graph, predict_state=PREDICT)) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "milk and eggs", "state": {"todos": ["bread"]}})
    states: list[Any] = []
    for event in stream.events:
        if event.event == "state":
            data = json.loads(event.data)
            states.append(data["snapshot"] if "snapshot" in data else jsonpatch.apply_patch(states[-1], data["patch"]))
    assert [state["todos"] for state in states] == [["bread"], ["milk"], ["milk", "eggs"], ["bread"]]


@pytest.mark.parametrize("protocol", ["native", "ai-sdk"])
async def test_a_tool_that_returns_a_command_answers_with_its_tool_message(protocol: str) -> None:
    """A tool updating the state returns a ``Command``: the client is shown its ``ToolMessage``'s answer, for
    the call it answers, not the command's dump."""
    async with running(chat_app(todo_agent(), protocol=protocol, events="token,tool")) as url:
        body = {"question": "milk", "thread_id": "t"} if protocol == "native" else AI_SDK_TURN
        _, stream = await post_stream(f"{url}/chat", body)
    if protocol == "native":
        [ended] = [json.loads(event.data) for event in stream.events if event.event == "tool_end"]
        assert (ended["output"], ended["call_id"]) == ("updated", "call_u1")
    else:
        frames = [json.loads(data) for data in stream.messages if data.startswith("{")]
        [output] = [frame for frame in frames if frame["type"] == "tool-output-available"]
        assert output == {"type": "tool-output-available", "toolCallId": "call_u1", "output": "updated"}


def test_a_long_predicted_argument_is_parsed_again_only_as_it_grows_and_whole_when_the_model_ends() -> None:
    """A 13 KB argument in 5-character chunks (2,700 of them): parsed each chunk, that is quadratic work and a
    state event per chunk; parsed as it grows by an eighth, about sixty, and the last is the whole argument."""
    state = StateStream({"todos"}, PREDICT)
    todos = [f"item {index:04}" for index in range(1000)]
    text = json.dumps({"todos": todos})
    events: list[Any] = []
    for start in range(0, len(text), 5):
        events += state.tool_args(("model-run", 0), "update_todos" if start == 0 else None, text[start : start + 5])
    events += state.model_ended("model-run")
    changes = [event for event in events if isinstance(event, StateChanged)]
    assert 10 < len(changes) < 100
    seen: Any = None
    for change in changes:
        seen = change.values if change.patch is None else jsonpatch.apply_patch(seen, change.patch)
    assert seen == {"todos": todos}
    assert state.model_ended("model-run") == (), "its arguments were sent whole"


async def test_ag_ui_predict_state_comes_before_the_call_and_the_example_stream_exercises_every_feature(
    tmp_path: Any,
) -> None:
    from test_interrupts import ag_ui_validate

    async with running(chat_app(todo_agent(), protocol="ag-ui", events="token,tool", predict_state=PREDICT)) as url:
        done = await node(
            "ag_ui.mjs",
            url=f"{url}/chat",
            threadId="t",
            runId="r1",
            messages=[{"id": "u1", "role": "user", "content": "milk and eggs"}],
        )
    assert done["error"] is None and done["state"] == {"todos": ["milk", "eggs"]}
    types = [(e["type"], e.get("name")) for e in done["events"]]
    assert types.index(("CUSTOM", "PredictState")) < types.index(("TOOL_CALL_START", None))
    report = ag_ui_validate(done["streams"][0], tmp_path)
    assert report["summary"]["errors"] == 0, report
    assert report["features"]["predictive-state-updates"] == report["features"]["shared-state"] == "exercised"
