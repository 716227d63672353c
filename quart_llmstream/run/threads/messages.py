"""What a thread stores of a request, checked first: the client is trusted with no tool.

Every client sends the whole conversation each turn, and ``add_messages`` merges by id, but the model's own
answers are in the thread under ids the client never saw: sent as they are, they would be there twice. So the
graph gets only what its thread lacks: the messages after the last one the thread holds (a user message by its
id, a tool result by the call it answers), but for the model's answers.

A tool result it lacks must answer a call of a tool the client runs — one the thread's last run left to the
client (open, with nothing left for the server to run and no decision pending), or on a new thread one the
request or ``ClientTools`` declares — never a call of the agent's own tools. The client's system messages are
dropped or refused there (``system_messages``).

A run stopped after its model called tools (a cancel, a breakpoint) leaves those calls open, and a model's API
refuses a conversation with a call nothing answers. So a turn that goes on from such a thread with new input
closes them first, with the server's own results: the tool's, when it finished before the stop, or that the call
was cancelled (a client's result for one is not taken: Agent Chat UI sends "Successfully handled tool call." for
each, which would tell the model a tool ran that never did). A new question while calls wait for a person's
decision closes them alike (not run); the same conversation sent again then (a retry) adds nothing: a ``409``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from ...errors import RequestError
from ...request import ChatRequest
from ...request.chat_request import place_id, placed
from ...request.content_blocks import client_messages
from ...request.counted import Budget, check_counts, check_text
from ...settings import Settings
from .tools import graph_tools

__all__ = ["CANCELLED", "NOT_DECIDED", "checked_write", "unseen"]


def unseen(chat_request: ChatRequest, state: Any, graph: Any, system_messages: str = "drop") -> list[BaseMessage]:
    """What of the client's conversation the thread in ``state`` lacks, checked before it is stored."""
    thread = (state.values.get("messages") if isinstance(state.values, Mapping) else None) or []
    new = _without_system(_lacking(chat_request.messages, thread), system_messages, "")
    if state.interrupts and not new:  # the turn that stopped there, sent again: not a decision
        raise RequestError(409, "conflict", "the thread waits for a decision: answer it, or ask something new")
    closed = _closed_calls(thread, state, asks=any(isinstance(message, HumanMessage) for message in new))
    if closed and not state.interrupts:  # a stopped run's calls: the client's results for them are not taken
        ids = {message.tool_call_id for message in closed}
        new = [message for message in new if not (isinstance(message, ToolMessage) and message.tool_call_id in ids)]
    if any(isinstance(message, ToolMessage) for message in new):
        _check_results(new, thread, state, [tool["function"]["name"] for tool in chat_request.tools], graph)
    return [*closed, *new]


CANCELLED = "Cancelled: the run that made this call was stopped before the call finished."
NOT_DECIDED = "Not run: the user sent a new message instead of deciding on this call."


def _closed_calls(thread: list[BaseMessage], state: Any, asks: bool) -> list[ToolMessage]:
    """The results that close the calls a run left open (nodes still to run): a stopped run's, or, when the turn
    ``asks`` a new question, those waiting for a decision. The results its tools wrote before the stop are sent
    again (the thread shows them, but a run with input drops what its step had not committed; ``add_messages``
    merges one already stored), then the server's own for the rest: "cancelled", or "not run" (not decided)."""
    if not thread or not state.next or (state.interrupts and not asks):
        return []
    asked = next((message for message in reversed(thread) if isinstance(message, AIMessage)), None)
    calls = {str(call["id"]): call["name"] for call in (asked.tool_calls if asked else ())}
    results = [message for message in thread if isinstance(message, ToolMessage) and message.tool_call_id in calls]
    answered = {message.tool_call_id for message in results}
    text = NOT_DECIDED if state.interrupts else CANCELLED
    return results + [
        ToolMessage(text, tool_call_id=call_id, name=name, status="error")
        for call_id, name in calls.items()
        if call_id not in answered
    ]


def checked_write(values: Any, state: Any, graph: Any, shared: Collection[str], settings: Settings) -> Any:
    """A client's write to a thread's state (LangGraph's ``update_state``), held to what a run's input may carry:
    nothing while a decision is pending (``409``: a resume answers it), only the keys shared with the client, and
    messages a turn could add, within a run's limits — a user's (new, or one of theirs rewritten), a result of a
    call the client runs; a system message as ``system_messages`` says — never a call of a server tool, nor a
    rewrite of the model's or a tool's message (``400``)."""
    if state.interrupts:
        raise RequestError(409, "conflict", "the thread waits for a decision: a run's command.resume answers it")
    if values is None:
        return None
    if not isinstance(values, Mapping):
        raise RequestError(400, "invalid_request", "values: an object of the state's keys")
    if unshared := sorted(key for key in values if key != "messages" and key not in shared):
        raise RequestError(400, "invalid_request", f"values: {', '.join(unshared)} is not a key shared with clients")
    if "messages" not in values:
        return values
    raw = values["messages"] if isinstance(values["messages"], list) else [values["messages"]]
    _within_limits(raw, settings)
    written = _without_system(client_messages(raw, "values.messages"), settings.system_messages, "values.messages: ")
    thread = (state.values.get("messages") if isinstance(state.values, Mapping) else None) or []
    held = {message.id for message in thread if message.id and not isinstance(message, HumanMessage)}
    server = graph_tools(graph).server
    for index, message in enumerate(written):
        if message.id in held:
            raise RequestError(
                400, "invalid_request", f"values.messages.{index}: the model's and tools' are the thread's"
            )
        calls = message.tool_calls if isinstance(message, AIMessage) else []
        if called := [call["name"] for call in calls if call["name"] in server]:
            raise RequestError(
                400, "invalid_request", f"values.messages.{index}: a call of {called[0]!r}, a server tool"
            )
    if any(isinstance(message, ToolMessage) for message in written):
        _check_results(written, thread, state, (), graph)
    return {**values, "messages": written}


def _without_system(messages: list[BaseMessage], rule: str, where: str) -> list[BaseMessage]:
    """A client's messages as ``system_messages`` (``rule``) takes them on a thread: kept, dropped, or refused."""
    if rule == "keep" or not any(isinstance(message, SystemMessage) for message in messages):
        return messages
    if rule == "refuse":
        detail = f"{where}a system message cannot be added to a thread: the agent keeps its own (system_messages)"
        raise RequestError(400, "invalid_request", detail)
    return [message for message in messages if not isinstance(message, SystemMessage)]


def _within_limits(raw: list[Any], settings: Settings) -> None:
    """A write's messages held to what a run's input may hold, counted before any is built: ``max_history`` (and
    the last), ``max_parts`` in all, ``max_question_chars`` of text in each."""
    budget = Budget("values.messages", settings.max_history + 1, ("content", "tool_calls"), settings.max_parts)
    check_counts({"values": {"messages": raw}}, budget)  # as a run's input is counted
    for text in (m.get("content") if isinstance(m, Mapping) else m for m in raw):
        if isinstance(text, str):
            check_text("values.messages: a message's text", text, settings.max_question_chars)


def _lacking(conversation: list[BaseMessage], thread: list[BaseMessage]) -> list[BaseMessage]:
    """The messages after the last one ``thread`` holds (by id — but a question sent alone, under an id made from
    its place, is new — or a tool result by the call it answers), but for the model's answers — all, on a new
    thread — and the results the thread lacks of the calls its last answer left open, wherever the client put them
    (in the order of the calls, before a result the thread holds)."""
    if not thread:
        return conversation
    conversation = _placed_after(conversation, thread)
    ids = {message.id for message in thread if message.id}
    answered = {message.tool_call_id for message in thread if isinstance(message, ToolMessage)}

    def held(message: BaseMessage) -> bool:  # a message of the thread's id is the thread's, whatever it says
        held_result = isinstance(message, ToolMessage) and message.tool_call_id in answered
        return held_result or (message.id is not None and message.id in ids)

    last = max((index for index, message in enumerate(conversation) if held(message)), default=-1)
    asked = next((message for message in reversed(thread) if isinstance(message, AIMessage)), None)
    open_calls = {call["id"] for call in (asked.tool_calls if asked else ())} - answered
    earlier = [
        message
        for message in conversation[: last + 1]
        if isinstance(message, ToolMessage) and message.tool_call_id in open_calls and not held(message)
    ]
    return earlier + [message for message in conversation[last + 1 :] if not isinstance(message, AIMessage)]


def _placed_after(conversation: list[BaseMessage], thread: list[BaseMessage]) -> list[BaseMessage]:
    """The conversation with a question sent alone (a client whose thread keeps the rest), named by its place in
    the request (the first), named by its place after the thread's questions instead, as a client sending the whole
    conversation names it: always a new message. ("yes" asked again after "Are you sure?" is an answer, and looks
    just like a retry of the "yes" before it: taken for one, it would be lost, and the question asked again.)"""
    if not conversation:
        return conversation
    *before, question = conversation
    alone = isinstance(question, HumanMessage) and not any(isinstance(message, HumanMessage) for message in before)
    if not alone or not placed(question.id):  # a continuation (ending with tool results) keeps its question's
        return conversation
    asked = sum(isinstance(message, HumanMessage) for message in thread)
    return [*before, question.model_copy(update={"id": place_id(asked + 1, question.text)})]


def _check_results(
    new: list[BaseMessage], thread: list[BaseMessage], state: Any, declared: Collection[str], graph: Any
) -> None:
    """Each tool result answers a call of a tool the client runs: on a thread, a call its last run left open for
    the client (409 otherwise: no such call, a decision pending, the server's to run); on a new thread, a call of
    a tool the request (``declared``) or ``ClientTools`` declares. Never a call of one of the agent's own tools
    (400)."""
    tools = graph_tools(graph)
    if thread:
        asked = next((message for message in reversed(thread) if isinstance(message, AIMessage)), None)
        answered = {message.tool_call_id for message in thread if isinstance(message, ToolMessage)}
        calls = {c["id"]: c["name"] for c in (asked.tool_calls if asked else ()) if c["id"] not in answered}
        client = set(calls.values()) - set(tools.server)
    else:
        client = (set(declared) | tools.client) - set(tools.server)
    for index, message in enumerate(new):
        if not isinstance(message, ToolMessage):
            continue
        if not thread:  # a result answers a call of the assistant message before it, and no other
            caller = next((m for m in reversed(new[:index]) if not isinstance(m, ToolMessage)), None)
            calls = {c["id"]: c["name"] for c in caller.tool_calls} if isinstance(caller, AIMessage) else {}
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
