"""A thread copied, and a run's checkpoints taken out, through what every checkpointer has (``InMemorySaver``
does neither itself): the copy waits where the thread waits and goes its own way; the thread without a run is as
that run found it."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command, interrupt

from quart_llmstream.run.threads.copies import copy_checkpoints, drop_runs


class Review(TypedDict, total=False):
    topic: str
    verdict: str


def ask(state: Review) -> Review:
    return {"verdict": f"{state['topic']}: {interrupt({'question': 'approve ' + state['topic'] + '?'})}"}


def graph() -> Any:
    """A graph whose subgraph waits for a verdict (a thread with a subgraph's checkpoints and pending writes)."""
    inner = StateGraph(Review).add_node("ask", ask).add_edge(START, "ask").compile()
    outer = StateGraph(Review).add_node("review", inner).add_edge(START, "review")
    return outer.compile(checkpointer=InMemorySaver())


def on(thread: str, run: str | None = None) -> Any:
    return {"configurable": {"thread_id": thread}} | ({"metadata": {"run_id": run}} if run else {})


async def test_a_copy_waits_where_the_thread_waits_and_goes_its_own_way() -> None:
    reviewed = graph()
    await reviewed.ainvoke({"topic": "tea"}, on("t1", "r1"))
    await copy_checkpoints(reviewed.checkpointer, "t1", "t2")
    original, copy = await reviewed.aget_state(on("t1"), subgraphs=True), await reviewed.aget_state(on("t2"))
    history = [state.config["configurable"]["checkpoint_id"] async for state in reviewed.aget_state_history(on("t1"))]
    copied = [state.config["configurable"]["checkpoint_id"] async for state in reviewed.aget_state_history(on("t2"))]
    answered = await reviewed.ainvoke(Command(resume="yes"), on("t2"))
    still = await reviewed.aget_state(on("t1"))
    assert (
        [i.value for i in copy.interrupts] == [i.value for i in original.interrupts] == [{"question": "approve tea?"}]
    )
    assert copy.next == original.next == ("review",) and copied == history
    assert answered["verdict"] == "tea: yes" and [i.value for i in still.interrupts] == [{"question": "approve tea?"}]


async def test_a_runs_checkpoints_are_taken_out_and_the_thread_is_as_the_run_found_it() -> None:
    reviewed = graph()
    await reviewed.ainvoke({"topic": "tea"}, on("t1", "r1"))
    await reviewed.ainvoke(Command(resume="yes"), on("t1", "r1"))
    before = await reviewed.aget_state(on("t1"))
    await reviewed.ainvoke({"topic": "coffee"}, on("t1", "r2"))
    dropped, again = (
        await drop_runs(reviewed.checkpointer, "t1", {"r2"}),
        await drop_runs(reviewed.checkpointer, "t1", {"r2"}),
    )
    after = await reviewed.aget_state(on("t1"))
    runs = {state.metadata.get("run_id") async for state in reviewed.aget_state_history(on("t1"))}
    assert dropped and not again and runs == {"r1"}
    assert after.values == before.values == {"topic": "tea", "verdict": "tea: yes"} and after.interrupts == ()
