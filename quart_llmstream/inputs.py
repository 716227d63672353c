"""The runnable's input, made once per request from the chat request: ``{"question", "chat_history",
"messages"}``, so a prompt over ``question`` and ``chat_history`` and an agent over ``messages`` (a LangChain
``create_agent`` graph, any LangGraph ``MessagesState`` graph) both plug in with no adapter; or, for a request
that answers the interrupts its thread waits on, LangGraph's ``Command(resume=...)``.

On a LangGraph thread with a checkpointer, the thread already holds the conversation so far. Every client
sends the whole conversation each turn, and ``add_messages`` merges by id, but the model's own answers are in
the thread under ids the client never saw: sent as they are, they would be there twice. So the graph gets
only what its thread lacks: the messages after the last one the thread holds (a user message by its id, a
tool result by the call it answers), but for the model's answers.

What a thread stores is checked first, for the client is trusted with no tool: a tool result it lacks must
answer a call of a tool the client runs — one the thread's last run left to the client (open, with nothing
left for the server to run and no decision pending), or on a new thread one the request or ``ClientTools``
declares — never a call of the agent's own tools. The client's system messages are dropped or refused there
(``system_messages``), and its state must fit the graph's state schema.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import typing_extensions
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from pydantic import TypeAdapter, ValidationError

from .chat_request import ChatRequest
from .errors import RequestError
from .events import Event, MessagesSnapshot
from .graph_tools import graph_tools
from .threads import checkpointed, plain_messages, resume_value

__all__ = ["RunInput", "runnable_input", "unseen"]


@dataclass(frozen=True, slots=True)
class RunInput:
    """The runnable's input, and the events the stream starts with (a resumed run's thread and decisions)."""

    value: Any
    opening: tuple[Event, ...] = ()


async def runnable_input(
    chat_request: ChatRequest,
    config: RunnableConfig,
    graph: Any = None,
    state_keys: Collection[str] = (),
    system_messages: str = "drop",
) -> RunInput:
    """The input of the request's run with ``config`` (its thread, when it has one), of ``graph`` when the
    runnable is a LangGraph graph; the client's state is taken for ``state_keys``, those that stream, and its
    system messages on a thread as ``system_messages`` says."""
    graph_schema = getattr(getattr(graph, "builder", None), "state_schema", None)
    graph = checkpointed(graph)
    thread_id = config.get("configurable", {}).get("thread_id")
    if chat_request.resume is not None:
        if graph is None:
            raise RequestError(400, "invalid_request", "resume: the runnable has no checkpointer, so no thread waits")
        if thread_id is None:
            detail = "resume: no thread id names the thread whose interrupts it answers"
            raise RequestError(400, "invalid_request", detail)
        from langgraph.types import Command

        state = await graph.aget_state(config)
        values, decided = resume_value(state, chat_request.resume, graph_tools(graph))
        return RunInput(Command(resume=values), (MessagesSnapshot(plain_messages(state)), *decided))
    messages = chat_request.messages
    if graph is not None and thread_id is not None:
        state = await graph.aget_state(config)
        messages = unseen(chat_request, state, graph, system_messages)
    inputs = {"question": chat_request.question, "chat_history": chat_request.chat_history, "messages": messages}
    if state_keys and chat_request.state:  # the client's state, for the keys shared with it
        inputs |= _shared_state(chat_request.state, state_keys, graph_schema)
    return RunInput(inputs)


def _shared_state(state: Mapping[str, Any], keys: Collection[str], schema: Any) -> dict[str, Any]:
    """The client's state for the shared ``keys``, each checked against its type in the graph's state
    ``schema``: a value a node would fail on (a number for a list) is a 400, not a run failing mid-stream."""
    shared = {key: value for key, value in state.items() if key in keys}
    for key, value in shared.items():
        if (adapter := _state_type(schema, key)) is None:
            continue
        try:
            adapter.validate_python(value)
        except ValidationError as exc:
            where = (".".join(map(str, ("state", key, *error["loc"]))) for error in exc.errors())
            detail = "; ".join(f"{at}: {error['msg']}" for at, error in zip(where, exc.errors(), strict=True))
            raise RequestError(400, "invalid_request", detail) from None
        except Exception:  # a validator of the user's types that fails otherwise: it cannot tell
            continue
    return shared


_WRAPPERS = (typing_extensions.NotRequired, typing_extensions.Required, typing_extensions.ReadOnly)


@functools.lru_cache(maxsize=64)
def _state_type(schema: Any, key: str) -> TypeAdapter[Any] | None:
    """The type of ``key`` in a graph's state schema (a TypedDict, a dataclass, a pydantic model), as a
    validator; None when the schema does not say, or when a reducer takes the client's value (``add_messages``
    takes role dicts as well as messages): what the reducer accepts is its to say."""
    try:
        hint = typing_extensions.get_type_hints(schema, include_extras=True).get(key) if schema is not None else None
        while typing_extensions.get_origin(hint) in _WRAPPERS:
            hint = typing_extensions.get_args(hint)[0]
        if hint is None or any(callable(extra) for extra in getattr(hint, "__metadata__", ())):
            return None
        return TypeAdapter(hint)
    except Exception:  # a forward reference that does not resolve, a type pydantic cannot check
        return None


def unseen(chat_request: ChatRequest, state: Any, graph: Any, system_messages: str = "drop") -> list[BaseMessage]:
    """What of the client's conversation the thread in ``state`` lacks, checked before it is stored."""
    thread = (state.values.get("messages") if isinstance(state.values, Mapping) else None) or []
    new = _lacking(chat_request.messages, thread)
    if system_messages != "keep" and any(isinstance(message, SystemMessage) for message in new):
        if system_messages == "refuse":
            detail = "a system message cannot be added to a thread: the agent keeps its own (system_messages)"
            raise RequestError(400, "invalid_request", detail)
        new = [message for message in new if not isinstance(message, SystemMessage)]
    if any(isinstance(message, ToolMessage) for message in new):
        _check_results(new, thread, state, chat_request, graph)
    return new


def _lacking(conversation: list[BaseMessage], thread: list[BaseMessage]) -> list[BaseMessage]:
    """The messages after the last one ``thread`` holds, but for the model's answers (all, on a new thread)."""
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


def _check_results(
    new: list[BaseMessage], thread: list[BaseMessage], state: Any, chat_request: ChatRequest, graph: Any
) -> None:
    """Each tool result answers a call of a tool the client runs: on a thread, a call its last run left open for
    the client (409 otherwise: no such call, a decision pending, the server's to run); on a new thread, a call of
    a tool the request or ``ClientTools`` declares. Never a call of one of the agent's own tools (400)."""
    tools = graph_tools(graph)
    if thread:
        asked = next((message for message in reversed(thread) if isinstance(message, AIMessage)), None)
        answered = {message.tool_call_id for message in thread if isinstance(message, ToolMessage)}
        calls = {c["id"]: c["name"] for c in (asked.tool_calls if asked else ()) if c["id"] not in answered}
        client = set(calls.values()) - set(tools.server)
    else:
        calls = {c["id"]: c["name"] for m in new if isinstance(m, AIMessage) for c in m.tool_calls}
        client = ({tool["function"]["name"] for tool in chat_request.tools} | tools.client) - set(tools.server)
    for message in new:
        if not isinstance(message, ToolMessage):
            continue
        call_id, name = message.tool_call_id, calls.get(message.tool_call_id)
        if name is None and thread:
            raise RequestError(409, "conflict", f"the tool result for {call_id!r} answers no call this thread waits on")
        if name is None:
            raise RequestError(400, "invalid_request", f"the tool result for {call_id!r} answers no call before it")
        if thread and state.interrupts:
            raise RequestError(409, "conflict", f"the call {call_id!r} waits for a decision, not a tool result")
        if thread and state.next:
            detail = f"the call {call_id!r} is the server's to run: the thread's last run has not finished"
            raise RequestError(409, "conflict", detail)
        if name not in client:
            detail = f"the tool result for {call_id!r} answers a call of {name!r}, not a tool the client runs"
            raise RequestError(400, "invalid_request", detail)
