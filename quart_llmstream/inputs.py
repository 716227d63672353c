"""The runnable's input, made once per request from the chat request: ``{"question", "chat_history",
"messages"}``, so a prompt over ``question`` and ``chat_history`` and an agent over ``messages`` (a LangChain
``create_agent`` graph, any LangGraph ``MessagesState`` graph) both plug in with no adapter.

On a LangGraph thread with a checkpointer, the thread already holds the conversation so far. Every client
sends the whole conversation each turn, and ``add_messages`` merges by id, but the model's own answers are in
the thread under ids the client never saw: sent as they are, they would be there twice. So the graph gets
only what its thread lacks: the messages after the last one the thread holds (a user message by its id, a
tool result by the call it answers), but for the model's answers.
"""

from __future__ import annotations

import sys
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig

from .chat_request import ChatRequest

__all__ = ["checkpointed_graph", "runnable_input"]


def checkpointed_graph(runnable: Runnable[Any, Any]) -> Any:
    """The LangGraph graph with a checkpointer that ``runnable`` is (through ``with_config`` and the like), or
    None. A graph can only be one when langgraph was imported, so nothing is imported to find out."""
    pregel = sys.modules.get("langgraph.pregel")
    while isinstance(runnable, RunnableBinding):
        runnable = runnable.bound
    if pregel is None or not isinstance(runnable, pregel.Pregel):
        return None
    return runnable if runnable.checkpointer not in (None, True, False) else None


async def runnable_input(runnable: Runnable[Any, Any], chat_request: ChatRequest, config: RunnableConfig) -> Any:
    """The input of the request's run of ``runnable``, with ``config`` (its thread, when it has one)."""
    messages = chat_request.messages
    graph = checkpointed_graph(runnable)
    if graph is not None and config.get("configurable", {}).get("thread_id") is not None:
        thread = await graph.aget_state(config)
        messages = unseen(messages, thread.values.get("messages") or [])
    return {"question": chat_request.question, "chat_history": chat_request.chat_history, "messages": messages}


def unseen(conversation: list[BaseMessage], thread: list[BaseMessage]) -> list[BaseMessage]:
    """What of the client's ``conversation`` its ``thread`` lacks."""
    if not thread:
        return conversation
    ids = {message.id for message in thread if message.id}
    answered = {message.tool_call_id for message in thread if isinstance(message, ToolMessage)}

    def held(message: BaseMessage) -> bool:
        if isinstance(message, ToolMessage):
            return message.tool_call_id in answered
        return message.id is not None and message.id in ids

    last = max((index for index, message in enumerate(conversation) if held(message)), default=-1)
    return [message for message in conversation[last + 1 :] if not isinstance(message, AIMessage)]
