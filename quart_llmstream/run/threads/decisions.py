"""Decisions checked against what a thread waits on, before they reach it.

A client's :class:`~...request.Resume` (in the one shape every protocol's reader makes) becomes the value per
pending interrupt that ``Command(resume=...)`` takes, or a ``400``: an interrupt or a call that is not pending,
a decision ``HumanInTheLoopMiddleware`` would fail on mid-run, or one that would run what nobody was asked
about (an edit into another tool, or with arguments its tool does not take). What each decision does to a
call is noted (:class:`~...events.ToolCallDecided`), for the stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, StrictStr

from ...errors import RequestError
from ...events import ToolCallDecided
from ...request import Answer, Resume, Verdict
from ...request.validation import validated
from .state import interrupts_of
from .tools import GraphTools

__all__ = ["resume_value"]


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
    if resume.verdicts:
        calls = {a["tool_call_id"]: i for i in pending for a in i.get("actions", ()) if a["tool_call_id"]}
        if unknown := sorted(set(resume.verdicts) - set(calls)):
            raise RequestError(400, "invalid_request", f"resume: no tool call {', '.join(unknown)} awaits approval")
        for interrupt in {calls[call_id]["id"]: calls[call_id] for call_id in resume.verdicts}.values():
            values[interrupt["id"]] = decide.verdicts(interrupt, resume.verdicts)
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

    def verdicts(self, interrupt: Mapping[str, Any], verdicts: Mapping[str, Verdict]) -> Any:
        """The middleware's decisions from verdicts by call id, one per action request, in order."""
        decisions = []
        for action in interrupt["actions"]:
            call_id = action["tool_call_id"]
            if call_id not in verdicts:
                detail = f"resume: the call {call_id} ({action['name']}) waits for a decision too"
                raise RequestError(400, "invalid_request", detail)
            verdict = verdicts[call_id]
            if not isinstance(verdict.approved, bool) or not isinstance(verdict.reason, str | None):
                detail = f"resume: the interrupt {interrupt['id']} takes {{'approved': true or false, 'message'?: str}}"
                raise RequestError(400, "invalid_request", detail)
            rejected = {"type": "reject"} | ({"message": verdict.reason} if verdict.reason else {})
            decision = {"type": "approve"} if verdict.approved else rejected
            self._one(action, decision)
            decisions.append(decision)
        return decisions[0] if _per_call(interrupt) else {"decisions": decisions}

    def answer(self, interrupt: Mapping[str, Any], answer: Answer) -> Any:
        """An answer by interrupt id: for calls awaiting approval its verdict decides them all, when it gives
        one; anything else is the interrupt's value."""
        if "actions" in interrupt and answer.verdict is not None:
            ids = [action["tool_call_id"] for action in interrupt["actions"]]
            return self.verdicts(interrupt, dict.fromkeys(ids, answer.verdict))
        return self.value(interrupt, answer.value)

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
        parsed = validated(_Decision, decision, where)
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
            said = None if runs else answer_text(action["name"], action["tool_call_id"], parsed.type, parsed.message)
            self.decided.append(ToolCallDecided(action["tool_call_id"], action["name"], runs, said))


def answer_text(name: str, call_id: str, kind: str, message: str | None) -> str:
    """What the model gets in place of a call's result when a person rejects it or answers for the tool — the
    middleware's own text (its ``_answer_message``), so a stream says what the thread will hold."""
    decision: dict[str, Any] = {"type": kind} | ({"message": message} if message is not None else {})
    try:
        from langchain.agents.middleware.human_in_the_loop import _answer_message

        return str(_answer_message({"name": name, "id": call_id, "args": {}}, decision).text)  # type: ignore[arg-type]
    except (ImportError, AttributeError, KeyError, TypeError):  # another version of the middleware: its gist
        if kind == "respond" or message is None:
            return message or f"User rejected the tool call for `{name}`. The tool was not executed."
        return f"User rejected the tool call for `{name}` with reason: {message}"


def _per_call(interrupt: Mapping[str, Any]) -> bool:
    """An approval of ``HumanInTheLoopMiddleware(interrupt_mode="per_call")``: one call, one decision."""
    value = interrupt["value"]
    return isinstance(value, Mapping) and value.get("type") == "tool_approval"
