"""The graph both servers serve in scenario (l): one node whose model streams as many tokens as the question says
(``"200"``), at once — LangGraph's own server (``langgraph dev``) and the LangGraph protocol run the same file."""

from __future__ import annotations

from typing import Any

from langgraph.graph import START, MessagesState, StateGraph

from bench.library import BenchChatModel


async def answer(state: Any) -> Any:
    model = BenchChatModel(tokens=int(state["messages"][-1].text or "1"), delay=0.0)
    return {"messages": [await model.ainvoke(state["messages"])]}


graph = StateGraph(MessagesState).add_node("answer", answer).add_edge(START, "answer").compile()
