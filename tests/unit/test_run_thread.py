"""A run on a checkpointed thread, below any server: the question a regenerate answers again, the answers a run
added (what feedback finds it by), and the status a rolled-back run leaves."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.store.memory import InMemoryStore
from langgraph.types import interrupt
from werkzeug.datastructures import Headers

from quart_llmstream.request import ChatRequest, conversation
from quart_llmstream.run.threads import LocalHolds
from quart_llmstream.run.threads.records import ThreadRecords
from quart_llmstream.run.threads.run_thread import Recorded, RunThread, open_thread
from quart_llmstream.settings import Settings
from quart_llmstream.testing import ScriptedChatModel


def asked(*questions: str) -> ChatRequest:
    return conversation([HumanMessage(q, id=f"q{n}") for n, q in enumerate(questions)], {}, Headers(), Settings())


async def opened(graph: Any, holds: LocalHolds, run_id: str, recorded: Recorded | None = None) -> RunThread:
    config: Any = {"configurable": {"thread_id": "t"}, "run_id": run_id, "metadata": {"run_id": run_id}}
    thread = await open_thread(graph, config, holds, recorded=recorded)
    assert thread is not None
    return thread


async def test_only_the_threads_last_question_is_answered_again_and_from_where_it_was_just_added() -> None:
    graph = create_agent(ScriptedChatModel(replies=["one", "two"]), tools=[], checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"messages": [HumanMessage("first", id="q0")]}, config)
    await graph.ainvoke({"messages": [HumanMessage("second", id="q1")]}, config)
    holds = LocalHolds()

    for request in (asked("first"), asked("first", "second", "third")):
        thread = await opened(graph, holds, "r")
        assert await thread.answer_again(request) is False, [m.id for m in request.messages]
        assert "checkpoint_id" not in thread.config["configurable"], "the run goes on from the thread's head"
        await thread.release()

    thread = await opened(graph, holds, "r")
    assert await thread.answer_again(asked("first", "second")) is True
    start = await thread.state()
    assert [m.id for m in start.values["messages"]][-1] == "q1" and start.next, "the question, not yet answered"
    await thread.release()


async def test_a_runs_answers_are_the_model_messages_it_added_not_the_question() -> None:
    graph = create_agent(ScriptedChatModel(replies=["one", "two"]), tools=[], checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"messages": [HumanMessage("first", id="q0")]}, config)
    thread = await opened(graph, LocalHolds(), "r")
    await thread.state()  # where the run starts, read before it runs
    await graph.ainvoke({"messages": [HumanMessage("second", id="q1")]}, config)
    await thread.settled()
    answer = (await graph.aget_state(config)).values["messages"][-1]
    assert thread.answers == (answer.id,) and answer.text == "two"
    await thread.release()


async def test_a_rolled_back_run_leaves_the_record_with_the_status_of_what_it_found() -> None:
    def ask(state: MessagesState) -> dict[str, Any]:
        interrupt("go on?")
        return {}

    builder = StateGraph(MessagesState)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    records = ThreadRecords(InMemoryStore())
    recorded = Recorded(records, "alice", "t")
    thread = await opened(graph, LocalHolds(), "r1", recorded)
    await thread.begin("hello", "r1")
    await graph.ainvoke({"messages": [HumanMessage("hello")]}, {**thread.config})
    await thread.settled()
    assert thread.status == "interrupted"
    await records.roll_back("alice", "t", "r1")
    await thread.release()
    record = await records.get("alice", "t")
    assert record is not None and record.status == "idle", "the run's interrupt went with its checkpoints"
    assert (await graph.aget_state({"configurable": {"thread_id": "t"}})).created_at is None
