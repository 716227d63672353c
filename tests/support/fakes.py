"""Fake chat models that stream like real ones: natively async, chunk by chunk, cancellable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessageChunk, BaseMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, RunnableLambda, chain
from langchain_core.tools import tool
from langgraph.store.memory import InMemoryStore
from pydantic import Field

from quart_llmstream.testing import Chunk, PacedChatModel, words


@dataclass
class Probe:
    """What the test can observe of the model's runs."""

    calls: list[list[BaseMessage]] = field(default_factory=list)
    tools: list[list[dict[str, Any]] | None] = field(default_factory=list)  # the tools offered to each call
    chunks_sent: int = 0
    finished: int = 0
    cancelled_at: float | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)


Reply = Sequence[Chunk] | Callable[[list[BaseMessage], list[dict[str, Any]] | None], Sequence[Chunk]]


class ProbedChatModel(PacedChatModel):
    """Streams each response of ``responses`` (one per call, cycling) chunk by chunk, ``delay`` apart, and
    tells the test what it saw (its :class:`Probe`): the kit's ``ScriptedChatModel`` with eyes for the project's
    own tests.

    A chunk is a string, a list of content blocks, or a whole ``AIMessageChunk`` (tool calls,
    reasoning); a response may also be a function of the messages and tools the model got, which
    returns the chunks. ``fail_at`` raises after that many chunks of a response.
    """

    responses: Sequence[Reply]
    fail_at: int | None = None
    error: str = "secret internal detail: db password is hunter2"
    probe: Probe = Field(default_factory=Probe)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def script(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> Sequence[Chunk]:
        self.probe.calls.append(messages)
        self.probe.tools.append(tools)
        self.probe.started.set()
        reply = self.responses[(len(self.probe.calls) - 1) % len(self.responses)]
        return reply(messages, tools) if callable(reply) else reply

    def on_chunk(self, index: int) -> None:
        if index == self.fail_at:
            raise RuntimeError(self.error)
        self.probe.chunks_sent += 1

    def on_end(self, cancelled: bool) -> None:
        if cancelled:
            self.probe.cancelled_at = time.monotonic()
        else:
            self.probe.finished += 1


QUESTION_PROMPT = ChatPromptTemplate.from_messages([MessagesPlaceholder("chat_history"), ("human", "{question}")])


def answering(*tokens: str, **model_fields: Any) -> Runnable[Any, Any]:
    """A ``prompt | model`` pipeline that streams ``tokens`` for any question."""
    return QUESTION_PROMPT | ProbedChatModel(responses=[list(tokens)], **model_fields)


class Forecast:
    """Not JSON, not pydantic: a tool result the serialiser has never seen."""

    def __init__(self, city: str) -> None:
        self.city = city

    def __repr__(self) -> str:
        return f"Forecast({self.city!r}: sunny)"


@tool(response_format="content_and_artifact")
def get_weather(city: str) -> tuple[str, Forecast]:
    """Look up the weather of a city."""
    return f"sunny in {city}", Forecast(city)


TOOL_CALL = [
    AIMessageChunk(
        content="", tool_call_chunks=[{"name": "get_weather", "args": '{"city": ', "id": "call_1", "index": 0}]
    ),
    AIMessageChunk(content="", tool_call_chunks=[{"name": None, "args": '"Paris"}', "id": None, "index": 0}]),
]
FINAL = words("It is sunny in Paris.")


def tool_agent(model: ProbedChatModel) -> Any:
    """A minimal tool-calling loop: the model asks for a tool, the tool runs, the model answers."""

    @chain
    async def agent(inputs: dict[str, Any]) -> BaseMessage:
        messages = (await QUESTION_PROMPT.ainvoke(inputs)).to_messages()
        while True:
            reply = await model.ainvoke(messages)
            if not reply.tool_calls:
                return reply
            messages.append(reply)
            for call in reply.tool_calls:
                messages.append(await get_weather.ainvoke(call))

    return agent


def model_graph(**steps: tuple[BaseChatModel, str | None]) -> Runnable[Any, Any]:
    """``QUESTION_PROMPT``, then a LangGraph graph whose nodes, in order, each call one model on the
    messages so far (after dispatching the custom event ``progress`` with ``{"step": node}`` when named)."""
    from langgraph.graph import END, START, MessagesState, StateGraph

    graph = StateGraph(MessagesState)
    previous = START
    for name, (model, progress) in steps.items():

        async def node(
            state: MessagesState, name: str = name, model: BaseChatModel = model, progress: str | None = progress
        ) -> Any:
            if progress:
                await adispatch_custom_event(progress, {"step": name})
            return {"messages": [await model.ainvoke(state["messages"])]}

        graph.add_node(name, node)
        graph.add_edge(previous, name)
        previous = name
    graph.add_edge(previous, END)
    return QUESTION_PROMPT | RunnableLambda(lambda prompt: {"messages": prompt.to_messages()}) | graph.compile()


def calling(*calls: tuple[str, dict[str, Any], str]) -> list[AIMessageChunk]:
    """A model's tool calls ``(name, args, id)`` as it streams them: each call's head, then its arguments."""
    import json

    chunks = []
    for index, (name, args, call_id) in enumerate(calls):
        head = {"name": name, "args": "", "id": call_id, "index": index}
        chunks.append(AIMessageChunk(content="", tool_call_chunks=[head]))
        chunks.append(AIMessageChunk(content="", tool_call_chunks=[{"args": json.dumps(args), "index": index}]))
    return chunks


@tool
def weather(city: str) -> str:
    """Get the weather of a city."""
    return f"sunny in {city}"


def agent(
    model: BaseChatModel, *middleware: Any, checkpointer: bool = True, tools: Sequence[Any] = (), store: Any = None
) -> Any:
    """A LangChain ``create_agent`` graph, as users build it: a server tool (``weather``), ``middleware``, and
    an in-memory checkpointer (and ``store``, a LangGraph store its tools reach, when given)."""
    from langchain.agents import create_agent
    from langgraph.checkpoint.memory import InMemorySaver

    saver = InMemorySaver() if checkpointer else None
    return create_agent(model, tools=[weather, *tools], middleware=list(middleware), checkpointer=saver, store=store)


class PausingStore(InMemoryStore):
    """``InMemoryStore`` that lets other tasks run between its reads and writes, as a database's store does."""

    async def aget(self, *args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0)
        return await super().aget(*args, **kwargs)

    async def aput(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.sleep(0)
        await super().aput(*args, **kwargs)
