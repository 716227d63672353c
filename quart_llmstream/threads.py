"""A run's LangGraph thread: the graph behind a runnable, and what its checkpointer knows of the thread.

The thread's state (``aget_state``) is the truth about it: what it holds already (:mod:`.inputs` sends a
graph only what it lacks), which interrupts wait for a decision after a run, and whether a resume answers
them. LangGraph is only imported where a graph was found, so an app without it pays nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.runnables import Runnable, RunnableBinding
from pydantic import BaseModel, StrictStr, TypeAdapter, ValidationError

from .chat_request import Resume, describe_validation_error
from .errors import RequestError
from .events import ToolCallDecided
from .graph_tools import GraphTools
from .payloads import jsonable

__all__ = [
    *("Thread", "checkpointed", "graph_of", "is_interrupt", "plain_messages", "resume_value"),
    *("shared_keys", "thread_of"),
]

_MAX_VALUE_CHARS = 1 << 16  # an interrupt's value is what a person decides on: keep it whole, within reason
_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}
_REJECTED = "The user rejected this call."
_CANCELLED = "__agui_cancelled__"  # what ag-ui-langgraph resumes a cancelled interrupt with


@dataclass(frozen=True, slots=True)
class Thread:
    """What a thread's state says after a run: the interrupts it waits on, its values and its messages."""

    interrupts: list[dict[str, Any]]
    values: dict[str, Any]
    messages: list[dict[str, Any]]


def graph_of(runnable: Runnable[Any, Any]) -> Any:
    """The LangGraph graph ``runnable`` is (through ``with_config`` and the like), or None. A graph can only
    be one when langgraph was imported, so nothing is imported to find out."""
    pregel = sys.modules.get("langgraph.pregel")
    while isinstance(runnable, RunnableBinding):
        runnable = runnable.bound
    return runnable if pregel is not None and isinstance(runnable, pregel.Pregel) else None


def shared_keys(graph: Any) -> list[str]:
    """The keys of a graph's state it shows (its output schema's), but ``messages``: what is shared with the
    client by default."""
    channels = graph.output_channels
    return [key for key in ([channels] if isinstance(channels, str) else channels) if key != "messages"]


def checkpointed(graph: Any) -> Any:
    """``graph`` (:func:`graph_of`'s) if it has a checkpointer of its own, so its threads last; else None."""
    return graph if graph is not None and graph.checkpointer not in (None, True, False) else None


def thread_of(state: Any) -> Thread:
    """A thread's state (``aget_state``) as plain data."""
    values = dict(state.values) if isinstance(state.values, Mapping) else {}
    return Thread(interrupts_of(state), values, plain_messages(state))


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


def resume_value(state: Any, resume: Resume, tools: GraphTools) -> tuple[dict[str, Any], list[ToolCallDecided]]:
    """What ``Command(resume=...)`` gets for ``resume`` on a thread in ``state`` — a value per interrupt id —
    and the decisions it carries on tool calls; or :class:`RequestError`: the thread has no state (404), nothing
    pending (409), or the resume answers an interrupt or a call that is not pending, or decides on a call what
    the middleware would fail on or the call's tool does not take (400)."""
    if state.created_at is None:
        raise RequestError(404, "not_found", "no such thread")
    pending = interrupts_of(state)
    if not pending:
        raise RequestError(409, "conflict", "nothing on this thread waits for a decision")
    by_id = {interrupt["id"]: interrupt for interrupt in pending}
    values: dict[str, Any] = {}
    decide = _Decisions(tools)
    if resume.approvals:
        calls = {a["tool_call_id"]: i for i in pending for a in i.get("actions", ()) if a["tool_call_id"]}
        if unknown := sorted(set(resume.approvals) - set(calls)):
            raise RequestError(400, "invalid_request", f"resume: no tool call {', '.join(unknown)} awaits approval")
        for interrupt in {calls[call_id]["id"]: calls[call_id] for call_id in resume.approvals}.values():
            values[interrupt["id"]] = decide.approvals(interrupt, resume.approvals)
    for interrupt_id, answer in resume.answers.items():
        if interrupt_id not in by_id:
            raise RequestError(400, "invalid_request", f"resume: no interrupt {interrupt_id} is pending on this thread")
        values[interrupt_id] = decide.answer(by_id[interrupt_id], answer)
    if resume.has_value:
        value = resume.value
        if isinstance(value, dict) and value and set(value) <= set(by_id):  # LangGraph's rule: a map of ids
            values |= {key: decide.value(by_id[key], answer) for key, answer in value.items()}
        else:
            left = [interrupt for interrupt in pending if interrupt["id"] not in values]
            if len(left) != 1:
                detail = f"resume: {len(left)} interrupts wait for a decision: answer them by id, {{id: value}}"
                raise RequestError(400, "invalid_request", detail)
            values[left[0]["id"]] = decide.value(left[0], value)
    return values, decide.decided


class _Edited(BaseModel):
    name: StrictStr
    args: dict[str, Any]


class _Decision(BaseModel):
    """A decision on a call, as ``HumanInTheLoopMiddleware`` reads one."""

    type: Literal["approve", "edit", "reject", "respond"]
    edited_action: _Edited | None = None
    message: StrictStr | None = None


class _Decisions:
    """The decisions of one resume, checked call by call; what each decides is noted in ``decided`` (an approval
    or an edit runs the call, anything else does not)."""

    def __init__(self, tools: GraphTools) -> None:
        self._tools = tools
        self.decided: list[ToolCallDecided] = []

    def approvals(self, interrupt: Mapping[str, Any], approvals: Mapping[str, tuple[bool, str | None]]) -> Any:
        """The middleware's decisions from approvals by call id (the AI SDK's), one per action request, in order."""
        decisions = []
        for action in interrupt["actions"]:
            call_id = action["tool_call_id"]
            if call_id not in approvals:
                detail = f"resume: the call {call_id} ({action['name']}) waits for a decision too"
                raise RequestError(400, "invalid_request", detail)
            approved, reason = approvals[call_id]
            decision = {"type": "approve"} if approved else {"type": "reject", "message": reason or _REJECTED}
            self._one(action, decision)
            decisions.append(decision)
        return decisions[0] if _per_call(interrupt) else {"decisions": decisions}

    def answer(self, interrupt: Mapping[str, Any], answer: Mapping[str, Any]) -> Any:
        """An AG-UI answer (``{"status", "payload"}``): for calls awaiting approval, ``cancelled`` rejects them
        and ``{"approved": bool, "message"?}`` decides them all; anything else is the interrupt's value."""
        status, payload = answer.get("status"), answer.get("payload")
        if "actions" not in interrupt:
            return {_CANCELLED: True, "interrupt_id": interrupt["id"]} if status == "cancelled" else payload
        if status == "cancelled" or isinstance(payload, bool) or (isinstance(payload, dict) and "approved" in payload):
            given = payload if isinstance(payload, dict) else {"approved": payload}
            approved = False if status == "cancelled" else given.get("approved")
            reason = given.get("message")
            if not isinstance(approved, bool) or not isinstance(reason, str | None):
                detail = f"resume: the interrupt {interrupt['id']} takes {{'approved': true or false, 'message'?: str}}"
                raise RequestError(400, "invalid_request", detail)
            ids = [action["tool_call_id"] for action in interrupt["actions"]]
            return self.approvals(interrupt, dict.fromkeys(ids, (approved, reason)))
        return self.value(interrupt, payload)

    def value(self, interrupt: Mapping[str, Any], value: Any) -> Any:
        """A raw value: for calls awaiting approval it must hold one decision per call, as the middleware
        requires (``{"decisions": [...]}``, or in ``per_call`` mode the one decision)."""
        if "actions" in interrupt:
            decisions = [value] if _per_call(interrupt) else value.get("decisions") if isinstance(value, dict) else None
            if not isinstance(decisions, list) or len(decisions) != len(interrupt["actions"]):
                detail = f"resume: the interrupt {interrupt['id']} needs one decision per call awaiting approval"
                raise RequestError(400, "invalid_request", f"{detail}: {{'decisions': [...]}}")
            for action, decision in zip(interrupt["actions"], decisions, strict=True):
                self._one(action, decision)
        return value

    def _one(self, action: Mapping[str, Any], decision: Any) -> None:
        """A raw decision on ``action``, or a 400 for what the middleware or the tool would fail on mid-run, or
        what would run another call than the one a person was asked about: a kind the call does not allow, an
        edit of another tool (in either of the middleware's modes) or with arguments its tool does not take, a
        respond without its message."""
        where = f"resume: the decision on {action['tool_call_id'] or action['name']}"
        try:
            parsed = _Decision.model_validate(decision)
        except ValidationError as exc:
            raise RequestError(400, "invalid_request", f"{where}: {describe_validation_error(exc)}") from None
        allowed = action.get("allowed_decisions")
        if isinstance(allowed, list) and parsed.type not in allowed:
            detail = f"{where}: {parsed.type!r} is not allowed, only {', '.join(map(repr, allowed))}"
            raise RequestError(400, "invalid_request", detail)
        edited = parsed.edited_action
        if parsed.type == "edit":
            if edited is None or edited.name != action["name"]:
                detail = f"{where}: an edit takes edited_action {{'name': {action['name']!r}, 'args': {{...}}}}"
                raise RequestError(400, "invalid_request", detail)
            if why := self._tools.bad_args(edited.name, edited.args):
                raise RequestError(400, "invalid_request", f"{where}: edited_action.args: {why}")
        if parsed.type == "respond" and parsed.message is None:
            raise RequestError(400, "invalid_request", f"{where}: a respond takes a message")
        if action["tool_call_id"]:
            runs = parsed.type in ("approve", "edit")
            self.decided.append(ToolCallDecided(action["tool_call_id"], action["name"], runs, parsed.message))


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


def _per_call(interrupt: Mapping[str, Any]) -> bool:
    """An approval of ``HumanInTheLoopMiddleware(interrupt_mode="per_call")``: one call, one decision."""
    value = interrupt["value"]
    return isinstance(value, Mapping) and value.get("type") == "tool_approval"


def _last_calls(state: Any) -> list[Mapping[str, Any]]:
    messages = state.values.get("messages") if isinstance(state.values, Mapping) else None
    last = next((m for m in reversed(messages or ()) if isinstance(m, AIMessage)), None)
    return list(last.tool_calls) if last is not None else []


def plain_messages(state: Any) -> list[dict[str, Any]]:
    """A thread's messages as plain data (:class:`~.events.MessagesSnapshot`)."""
    messages = state.values.get("messages") if isinstance(state.values, Mapping) else None
    return [_plain(message) for message in messages or () if message.type in _ROLES]


def _plain(message: BaseMessage) -> dict[str, Any]:
    plain: dict[str, Any] = {"id": message.id or "", "role": _ROLES[message.type], "content": message.text}
    if isinstance(message, AIMessage) and message.tool_calls:
        plain["tool_calls"] = [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in message.tool_calls]
    if isinstance(message, ToolMessage):
        plain["tool_call_id"] = message.tool_call_id
    return plain
