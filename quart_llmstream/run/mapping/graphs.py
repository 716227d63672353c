"""What a LangGraph graph's run shows in its stream, beside tokens and tools: where it pauses at interrupts
(its root stream's ``__interrupt__`` chunk), and its state — the input of each top-level node is the state
after the step before it, the graph's end holds the last, and a node may publish one while it works
(:func:`~.state.emit_state`) — and the calls of tools whose arguments predict the state.

These are handlers of v2 events (:mod:`.base`), as the :class:`~.mapper.StreamMapper`'s own are; the mapper uses
them only for a graph's stream, so other runnables pay nothing for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessageChunk, ToolMessage
from pydantic_core import to_jsonable_python

from ...events import Custom, GraphChunk
from ..threads.state import describe
from .base import Events, Handler, MappingState, V2Event
from .state import STATE_EVENT

__all__ = ["INTERRUPT_HANDLERS", "STATE_HANDLERS", "custom_event", "graph_chunk", "predicting"]


def graph_chunk(mapper: MappingState, event: V2Event) -> Events:
    """A chunk of the graph's own stream (the LangGraph protocol's source), whole, as plain data (messages as
    their dumps, as LangGraph's server sends them, an exception redacted); a model's token counts in the stream's
    tally, as on any other source."""
    data = event["data"]
    if event["mode"] == "messages" and isinstance(data, tuple) and isinstance(data[0], AIMessageChunk):
        mapper.tally.add_text(data[0].text)
    plain = repr if mapper.expose_errors else _redacted
    return (GraphChunk(event["mode"], tuple(event["namespace"]), to_jsonable_python(data, fallback=plain)),)


def _redacted(value: Any) -> str:
    """What is not JSON, as text; an exception (a task's, an ``on_tool_error``'s in the ``debug``, ``tasks`` and
    ``events`` modes) as its kind only, unless ``expose_errors``: its text may hold what a client must not see."""
    return f"{type(value).__name__}()" if isinstance(value, BaseException) else repr(value)


def _chain_stream(mapper: MappingState, event: V2Event) -> Events:
    """A graph's root stream, a step's updates by node: the tool results a node wrote (a structured output's,
    a tool's ``Command``), which answer their calls; ``{"__interrupt__": (Interrupt, ...)}`` when it pauses."""
    chunk = event["data"].get("chunk")
    if event["parent_ids"] or not isinstance(chunk, dict):
        return ()
    for update in chunk.values():
        messages = update.get("messages") if isinstance(update, dict) else None
        for message in messages if isinstance(messages, list) else ():
            if isinstance(message, ToolMessage):
                mapper.tally.tool_answered(message.tool_call_id)
                if mapper.state is not None:  # a call answered without running (a person rejected it)
                    mapper.state.tool_ran(message.name)
    if "__interrupt__" in chunk:
        calls = mapper.tally.calls
        mapper.tally.interrupts += [describe(interrupt, calls) for interrupt in chunk["__interrupt__"]]
    return ()


def _node_started(mapper: MappingState, event: V2Event) -> Events:
    """A top-level node starts: its input is the graph's state after the step before."""
    state = mapper.state
    if state is None or len(event["parent_ids"]) != 1 or event["name"] != event["metadata"].get("langgraph_node"):
        return ()
    return state.replace(event["data"].get("input"))


def _graph_ended(mapper: MappingState, event: V2Event) -> Events:
    """The graph ends: its output is its last state, whatever was predicted (a call that never ran)."""
    state = mapper.state
    return state.settle(event["data"].get("output")) if state is not None and not event["parent_ids"] else ()


def custom_event(mapper: MappingState, event: V2Event) -> Events:
    """A custom event when those are sent; for a graph whose state streams, a node's published state
    (:func:`~.state.emit_state`) too."""
    if event["name"] == STATE_EVENT:
        return mapper.state.update(event["data"]) if mapper.state is not None else ()
    return (Custom(event["name"], mapper.payload(event["data"])),) if "custom" in mapper.events else ()


def predicting(handlers: Mapping[str, Handler]) -> dict[str, Handler]:
    """``handlers``' model and tool handlers, which also follow the arguments of tools predicting the state
    as they stream, and hold the prediction until the tool has run."""
    model_stream, model_end = handlers.get("on_chat_model_stream"), handlers["on_chat_model_end"]

    def stream(mapper: MappingState, event: V2Event) -> Events:
        predicted: Events = ()
        state = mapper.state
        for call in event["data"]["chunk"].tool_call_chunks if state is not None else ():
            key = (event["run_id"], call.get("index") or 0)
            predicted += state.tool_args(key, call.get("name"), call.get("args"))  # type: ignore[union-attr]
        return predicted + (model_stream(mapper, event) if model_stream is not None else ())

    def end(mapper: MappingState, event: V2Event) -> Events:
        predicted = mapper.state.model_ended(event["run_id"]) if mapper.state is not None else ()
        return predicted + model_end(mapper, event)

    def ran(handler: Handler) -> Handler:
        def tool_ran(mapper: MappingState, event: V2Event) -> Events:
            if mapper.state is not None:
                mapper.state.tool_ran(event["name"])
            return handler(mapper, event)

        return tool_ran

    tools = {kind: ran(handlers[kind]) for kind in ("on_tool_end", "on_tool_error")}
    return {"on_chat_model_stream": stream, "on_chat_model_end": end, **tools}


INTERRUPT_HANDLERS: dict[str, Handler] = {"on_chain_stream": _chain_stream}
STATE_HANDLERS: dict[str, Handler] = {
    "on_chain_start": _node_started,
    "on_chain_end": _graph_ended,
    "on_custom_event": custom_event,
}
