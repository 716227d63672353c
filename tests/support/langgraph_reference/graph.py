"""The graph both servers serve in the differential test: LangGraph's own (``langgraph dev``, which brings its own
checkpointer and store) and this blueprint (with ``InMemorySaver`` and ``InMemoryStore``). A ``create_agent`` graph
whose scripted model answers word by word, calls the server tool ``weather`` when asked about the weather,
``send_note`` — gated by ``HumanInTheLoopMiddleware`` — when asked to send a note, ``remember``, which keeps
a memory in the graph's store, when asked to remember, and ``wait_a_while`` (a run to cancel while it waits) when
asked to wait."""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain.tools import ToolRuntime
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.graph import START, StateGraph
from langgraph.types import interrupt

from fakes import ProbedChatModel, agent, calling, words  # tests/support, on the server's PYTHONPATH


@tool
def send_note(to: str, text: str) -> str:
    """Send a note to someone."""
    return f"note sent to {to}"


@tool
async def remember(text: str, runtime: ToolRuntime) -> str:
    """Remember something about the user."""
    assert runtime.store is not None
    await runtime.store.aput(("notes", "memories"), "m1", {"text": text})
    return "remembered"


@tool
async def wait_a_while(seconds: float) -> str:
    """Wait a while."""
    await asyncio.sleep(seconds)
    return "waited"


def reply(messages: list[BaseMessage], tools: Any) -> Any:
    last = messages[-1]
    if isinstance(last, ToolMessage):
        return words(f"Done: {last.text}")
    text = last.text if isinstance(last, HumanMessage) else ""
    if "weather" in text:
        return calling(("weather", {"city": "Paris"}, "call_weather_1"))
    if "remember" in text:
        return calling(("remember", {"text": "likes tea"}, "call_remember_1"))
    if "wait" in text:
        return calling(("wait_a_while", {"seconds": 3}, "call_wait_1"))
    if "note" in text:
        return calling(("send_note", {"to": "ann", "text": "hi"}, "call_note_1"))
    return words(f"Answer to {text}")


def build(checkpointer: bool, store: Any = None) -> Any:
    model = ProbedChatModel(responses=[reply])
    gate = HumanInTheLoopMiddleware(interrupt_on={"send_note": True})
    return agent(model, gate, tools=[send_note, remember, wait_a_while], checkpointer=checkpointer, store=store)


graph = build(checkpointer=False)  # langgraph dev brings its own checkpointer and store


class Review(TypedDict, total=False):
    topic: str
    verdict: str


def ask(state: Review) -> Review:
    """A subgraph's node that waits for a person's verdict."""
    return {"verdict": f"{state['topic']}: {interrupt({'question': 'approve ' + state['topic'] + '?'})}"}


def build_nested(checkpointer: bool) -> Any:
    """A graph whose subgraph (``review``) stops for a verdict, then ``done`` closes it: a thread's state with a
    subgraph's task in it."""
    from langgraph.checkpoint.memory import InMemorySaver

    review = StateGraph(Review).add_node("ask", ask).add_edge(START, "ask").compile()
    builder = StateGraph(Review).add_node("review", review).add_node("done", lambda s: {"verdict": s["verdict"] + "!"})
    builder.add_edge(START, "review").add_edge("review", "done")
    return builder.compile(checkpointer=InMemorySaver() if checkpointer else None, name="nested")


nested = build_nested(checkpointer=False)
