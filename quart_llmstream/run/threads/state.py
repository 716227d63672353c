"""What a thread holds: the graph behind a runnable, and its state (``aget_state``) as plain data.

The thread's state is the truth about it: what it holds already (a graph gets only what it lacks), which
interrupts wait for a decision (with, for tool calls awaiting approval, which calls and what each allows),
and its values and messages after a run. LangGraph is only imported where a graph was found, so an app
without it pays nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableWithFallbacks
from langchain_core.runnables.base import RunnableBindingBase
from pydantic import TypeAdapter

from ...payloads import jsonable
from ...request.attachments import attached

__all__ = [
    *("ThreadState", "checkpointed", "describe", "graph_of", "hides_a_thread", "interrupts_of", "is_interrupt"),
    *("forks_past_decisions", "innermost", "plain_messages"),
    *("MAX_STATE_CHARS", "settled", "shared_keys", "shared_state", "status_of", "unanswered_calls"),
]

_DECIDED = "hitl_interrupt_decision"  # the mark of the result HumanInTheLoopMiddleware writes for a decision
MAX_STATE_CHARS = 1 << 20
"""The most JSON of a thread's shared state a client is sent at once."""
_MAX_VALUE_CHARS = 1 << 16  # an interrupt's value is what a person decides on: keep it whole, within reason
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


@dataclass(frozen=True, slots=True)
class ThreadState:
    """What a thread's state says after a run: the interrupts it waits on, its values and its messages."""

    interrupts: list[dict[str, Any]]
    values: dict[str, Any]
    messages: list[dict[str, Any]]


def innermost(runnable: Runnable[Any, Any]) -> Runnable[Any, Any]:
    """What ``runnable`` runs, through ``with_config``, ``with_retry``, ``bind`` (``bind_tools``) and the like, and a
    ``with_fallbacks``' first runnable."""
    while True:
        if isinstance(runnable, RunnableBindingBase):
            runnable = runnable.bound
        elif isinstance(runnable, RunnableWithFallbacks):
            runnable = runnable.runnable
        else:
            return runnable


def graph_of(runnable: Runnable[Any, Any]) -> Any:
    """The LangGraph graph ``runnable`` is (:func:`innermost`), or None. A graph can only be one when langgraph was
    imported, so nothing is imported to find out."""
    pregel = sys.modules.get("langgraph.pregel")
    runnable = innermost(runnable)
    return runnable if pregel is not None and isinstance(runnable, pregel.Pregel) else None


def hides_a_thread(runnable: Runnable[Any, Any], depth: int = 8) -> bool:
    """A graph with a checkpointer of its own is inside ``runnable`` (``prompt | graph``), where its thread can be
    neither read nor checked: it would store whatever the client sent."""
    if depth == 0 or sys.modules.get("langgraph.pregel") is None:
        return False
    if checkpointed(graph_of(runnable)) is not None:
        return True
    parts = [getattr(runnable, "bound", None), getattr(runnable, "runnable", None)]
    parts += list(getattr(runnable, "fallbacks", None) or ())
    steps = getattr(runnable, "steps", None) if not hasattr(runnable, "nodes") else None  # a graph's own: no
    parts += list(steps.values() if isinstance(steps, Mapping) else steps or ())
    parts += list((getattr(runnable, "steps__", None) or {}).values())
    return any(isinstance(part, Runnable) and hides_a_thread(part, depth - 1) for part in parts)


def shared_keys(graph: Any, configured: Sequence[str] | None = None) -> tuple[str, ...]:
    """The keys of a graph's state shared with the client: ``configured`` (the ``state_keys`` option), or by
    default those its output schema shows but ``messages``; none without a graph."""
    if graph is None:
        return ()
    if configured is not None:
        return tuple(configured)
    channels = graph.output_channels
    return tuple(key for key in ([channels] if isinstance(channels, str) else channels) if key != "messages")


def checkpointed(graph: Any) -> Any:
    """``graph`` (:func:`graph_of`'s) if it has a checkpointer of its own, so its threads last; else None."""
    return graph if graph is not None and graph.checkpointer not in (None, True, False) else None


def shared_state(values: Mapping[str, Any], keys: Collection[str]) -> dict[str, Any] | None:
    """The state shared with the client (``keys`` of ``values``) as it is sent — in a stream's state events, in a
    thread read back: JSON-ready, or None past :data:`MAX_STATE_CHARS` of JSON (then none is sent)."""
    shared = jsonable({key: values[key] for key in keys if key in values}, MAX_STATE_CHARS)
    return shared if isinstance(shared, dict) else None


def settled(state: Any) -> ThreadState:
    """A thread's state (``aget_state``) as plain data."""
    values = dict(state.values) if isinstance(state.values, Mapping) else {}
    return ThreadState(interrupts_of(state), values, plain_messages(state))


def status_of(state: Any) -> str:
    """A thread's status by its state (``aget_state``): ``interrupted`` while it waits for a decision or has
    nodes still to run (a breakpoint, a cancelled run), as LangGraph's server says; ``idle`` otherwise."""
    return "interrupted" if state.interrupts or state.next else "idle"


def is_interrupt(error: object) -> bool:
    """``error`` is LangGraph pausing (an ``interrupt()`` inside a tool), not a failure."""
    errors = sys.modules.get("langgraph.errors")
    return errors is not None and isinstance(error, errors.GraphInterrupt)


def interrupts_of(state: Any) -> list[dict[str, Any]]:
    """The interrupts a thread's state waits on, as plain data (:class:`~.events.Interrupted`)."""
    return [describe(interrupt, _last_calls(state)) for interrupt in state.interrupts]


def describe(interrupt: Any, calls: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One interrupt: its id and value, and for tool calls awaiting approval, which calls (``calls`` are the
    last model's, which ``HumanInTheLoopMiddleware`` reviews in order; in its ``per_call`` mode, the one
    call an interrupt names)."""
    described = {"id": interrupt.id, "value": jsonable(interrupt.value, _MAX_VALUE_CHARS)}
    value = interrupt.value if isinstance(interrupt.value, Mapping) else {}
    requests = value.get("action_requests")
    if value.get("type") == "tool_approval":
        args = jsonable(value.get("args"), _MAX_VALUE_CHARS)
        action = {"tool_call_id": value.get("tool_call_id"), "name": value.get("name"), "args": args}
        kinds = _allowed(getattr(interrupt, "response_schema", None))
        described["actions"] = [action | {"description": value.get("description") or "", "allowed_decisions": kinds}]
    elif isinstance(requests, list):
        unused = list(calls)
        configs = value.get("review_configs")
        allowed = {c.get("action_name"): c.get("allowed_decisions") for c in configs or () if isinstance(c, Mapping)}
        actions = []
        for request in requests:
            name, args = request.get("name"), request.get("args")
            call = next((c for c in unused if c["name"] == name and c["args"] == args), None)
            call = call or next((c for c in unused if c["name"] == name), None)
            if call is not None:
                unused.remove(call)
            described_args = jsonable(args, _MAX_VALUE_CHARS)
            action = {"tool_call_id": call and call["id"], "name": name, "args": described_args}
            action |= {"description": request.get("description") or "", "allowed_decisions": allowed.get(name)}
            actions.append(action)
        described["actions"] = actions
    return described


def _allowed(schema: Any) -> list[str] | None:
    """The kinds of decision a ``per_call`` approval's ``response_schema`` takes (a type while the run goes, its
    JSON schema once in the thread): the ``type`` tags of its union, or of its one decision."""
    if schema is not None and not isinstance(schema, dict):
        schema = TypeAdapter(schema).json_schema()
    if not isinstance(schema, dict):
        return None
    if isinstance(mapping := schema.get("discriminator", {}).get("mapping"), dict):
        return list(mapping)
    tag = schema.get("properties", {}).get("type", {}).get("const")
    return [tag] if isinstance(tag, str) else None


def _last_calls(state: Any) -> list[Mapping[str, Any]]:
    messages = state.values.get("messages") if isinstance(state.values, Mapping) else None
    last = next((m for m in reversed(messages or ()) if isinstance(m, AIMessage)), None)
    return list(last.tool_calls) if last is not None else []


def forks_past_decisions(state: Any, head: Any) -> bool:
    """Going on from ``state``, a checkpoint before the thread's ``head``, would run again tool calls the thread has
    run or decided since (they are open there, or waiting for a decision)."""
    at = state.config["configurable"].get("checkpoint_id")
    return at != head.config["configurable"].get("checkpoint_id") and bool(state.interrupts or unanswered_calls(state))


def unanswered_calls(state: Any) -> list[str]:
    """The ids of the last model message's tool calls that no tool message answers yet in ``state``."""
    messages = state.values.get("messages") if isinstance(state.values, Mapping) else None
    answered = {m.tool_call_id for m in messages or () if isinstance(m, ToolMessage)}
    return [call["id"] or "" for call in _last_calls(state) if call["id"] not in answered]


def plain_messages(state: Any) -> list[dict[str, Any]]:
    """A thread's messages as plain data (:class:`~.events.MessagesSnapshot`): a user's with the ``attachments``
    it was sent with (:func:`~...request.attachments.attached`)."""
    messages = state.values.get("messages") if isinstance(state.values, Mapping) else None
    return [_plain(message) for message in messages or () if message.type in _ROLES]


def _plain(message: BaseMessage) -> dict[str, Any]:
    plain: dict[str, Any] = {"id": message.id or "", "role": _ROLES[message.type], "content": message.text}
    if isinstance(message, AIMessage) and message.tool_calls:
        plain["tool_calls"] = [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in message.tool_calls]
    if isinstance(message, ToolMessage):
        plain["tool_call_id"] = message.tool_call_id
        plain |= {"status": "error"} if message.status == "error" else {}
        if message.additional_kwargs.get("lc_source") == _DECIDED:  # a person's decision stood in for the tool
            plain |= {"decision": str((message.additional_kwargs.get("lc_data") or {}).get("decision"))}
    if isinstance(message, HumanMessage) and isinstance(message.content, list):
        attachments = [found for block in message.content if (found := attached(block)) is not None]
        plain |= {"attachments": attachments} if attachments else {}
    return plain
