"""The chat request the runnable factory sees, checked before any streaming starts.

Each protocol validates its own body shape (:mod:`..protocols`) and reads it into the conversation it
carries; what they share is here: the :class:`ChatRequest` they produce, and the rules a conversation keeps
(it ends with the user's question, or, continuing a run, with the results of the tool calls before them).
Every way a body can be wrong ends as a :class:`~..errors.RequestError`, which the blueprint renders as a 4xx
JSON answer.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, StrictStr
from werkzeug.datastructures import Headers

from ..errors import RequestError
from ..options import OnDisconnect, Strategy
from ..settings import Settings
from .attachments import Attachment, Attachments
from .counted import check_text
from .decisions import Resume

__all__ = ["ChatRequest", "RunOptions", "ToolCallIn", "conversation"]


class _Function(BaseModel):
    name: StrictStr
    arguments: StrictStr = ""


class ToolCallIn(BaseModel):
    """A tool call in a history, in OpenAI's shape (AG-UI's too): ``{id, function: {name, arguments}}``."""

    model_config = ConfigDict(extra="allow")

    id: StrictStr
    function: _Function

    def as_langchain(self, where: str) -> dict[str, Any]:
        """The call as a LangChain tool call: its arguments, a JSON object, parsed."""
        try:
            args = json.loads(self.function.arguments) if self.function.arguments else {}
        except ValueError:
            args = None
        if not isinstance(args, dict):
            raise RequestError(400, "invalid_request", f"{where}: its arguments must be a JSON object")
        return {"name": self.function.name, "args": args, "id": self.id}


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What a request asks of its run besides its conversation, where its protocol carries it."""

    stream_id: str | None = None
    """The id the client resumes the run's stream by (the AI SDK's chat id, AG-UI's run id...); None: the run's."""
    on_disconnect: OnDisconnect | None = None
    """What the run does when its client leaves (LangGraph's); None: as the ``on_disconnect`` option says."""
    multitask_strategy: Strategy | None = None
    """What the run does while another is on its thread (LangGraph's); None: as the ``multitask_strategy`` option
    says."""
    checkpoint_id: str | None = None
    """The checkpoint of its thread the run goes on from: a branch (useStream's edit and regenerate)."""
    goes_on: bool = False
    """No input: the run goes on from where its thread stopped, or from ``checkpoint_id``."""
    must_exist: bool = False
    """Its thread must be there already (LangGraph's ``if_not_exists: "reject"``)."""
    ephemeral: bool = False
    """Its thread is its own, deleted as it ends (a stateless LangGraph run)."""
    answer_again: bool = False
    """Answer the thread's last question again, in place of its answer (the AI SDK's ``regenerate()``)."""
    source: Mapping[str, Any] = field(default_factory=dict)
    """What the event source takes besides the filters (LangGraph's stream modes, subgraphs and breakpoints)."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What the runnable factory sees: the validated conversation, the raw body, the headers.

    ``messages`` is the whole conversation as LangChain messages, with the protocol's message ids: it ends
    with the question (a ``HumanMessage``) or, for a continuation, with the results of tools the client ran.
    ``question`` is the text of the last user message and ``chat_history`` the messages before it.
    ``attachments`` lists what the messages' attachments became (their content blocks are in the messages);
    ``state`` is the client's shared state (AG-UI's ``state``, a native or AI SDK body's ``state``).
    ``thread_id`` names the conversation (LangGraph's thread), ``tools`` are the tools
    the client declared (OpenAI function-tool dicts, for ``bind_tools``), ``ids`` what the protocol's frames need
    of the request — its own identifiers (the AI SDK's chat ``id``, AG-UI's ``threadId`` and ``runId``, ...) and
    how to frame (OpenAI's ``stream`` and usage, LangGraph's run kind) — kept with the stream, so that a resume
    on another process frames alike, and ``run_options`` what it asks of the run besides (:class:`RunOptions`).
    ``resume`` answers the interrupts the thread waits on: the run goes on from them instead of from a new message.
    """

    question: str
    chat_history: list[BaseMessage]
    body: dict[str, Any]
    headers: Headers
    ids: Mapping[str, str] = field(default_factory=dict)
    messages: list[BaseMessage] = field(default_factory=list)
    thread_id: str | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    resume: Resume | None = None
    attachments: list[Attachment] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    run_options: RunOptions = field(default_factory=RunOptions)

    @classmethod
    def of_headers(
        cls, headers: Headers, body: dict[str, Any] | None = None, thread_id: str | None = None
    ) -> ChatRequest:
        """A request that carries no conversation (a thread's route, a resume, feedback) as the app's hooks see it:
        its headers (and body), no messages."""
        return cls(question="", chat_history=[], body=body or {}, headers=Headers(headers), thread_id=thread_id)

    @property
    def continues(self) -> bool:
        """The conversation ends with tool results: the run goes on from them."""
        return bool(self.messages) and isinstance(self.messages[-1], ToolMessage)


def conversation(
    messages: list[BaseMessage],
    body: dict[str, Any],
    headers: Headers,
    settings: Settings,
    *,
    ids: Mapping[str, str] | None = None,
    thread_id: str | None = None,
    tools: Sequence[dict[str, Any]] = (),
    resume: Resume | None = None,
    attachments: Attachments | None = None,
    state: Any = None,
    run_options: RunOptions | None = None,
    what: str = "messages",
) -> ChatRequest:
    """The chat request of a whole conversation, checked: it ends with the user's question, or with the
    results of the tool calls of the assistant message before them, unless it ``resume``s interrupts (then
    it may end anywhere, or be empty). ``what`` names the conversation in the body, for error details.

    A user message the client sent without an id gets one made from its text and its place among the user
    messages, so that the same conversation sent again names the same messages (a thread needs that).
    """
    messages = _named(messages)
    if not messages and resume is None:
        raise RequestError(400, "invalid_request", f"{what}: the conversation is empty")
    calls = Counter(call["id"] for message in messages if isinstance(message, AIMessage) for call in message.tool_calls)
    if twice := sorted(str(call) for call, times in calls.items() if times > 1):
        raise RequestError(400, "invalid_request", f"{what}: a tool call id is used twice: {', '.join(twice)}")
    last = messages[-1] if messages else None
    if isinstance(last, ToolMessage):
        _check_results(messages, what)
    elif not isinstance(last, HumanMessage) and resume is None:
        detail = f"{what}: the last message must be the user's question, or the results of tool calls"
        raise RequestError(400, "invalid_request", detail)
    asked = next((i for i in range(len(messages) - 1, -1, -1) if isinstance(messages[i], HumanMessage)), None)
    question = _typed(messages, asked, attachments)
    if isinstance(last, HumanMessage) and not question.strip():
        raise RequestError(400, "invalid_request", f"{what}: the last user message has no text")
    check_text("the question", question, settings.max_question_chars)
    if state is not None and not isinstance(state, dict):
        raise RequestError(400, "invalid_request", "state: must be an object")
    return ChatRequest(
        question=question,
        chat_history=messages[:asked] if asked is not None else [],
        body=body,
        headers=headers,
        ids=dict(ids or {}),
        messages=messages,
        thread_id=thread_id,
        tools=list(tools),
        resume=resume,
        attachments=attachments.found if attachments is not None else [],
        state=state or {},
        run_options=run_options or RunOptions(),
    )


def _typed(messages: list[BaseMessage], asked: int | None, attachments: Attachments | None) -> str:
    """What the user typed in their last message: its text, but for the text of files attached to it."""
    if asked is None:
        return ""
    users = sum(isinstance(message, HumanMessage) for message in messages[: asked + 1])
    if attachments is not None and len(attachments.typed) == sum(isinstance(m, HumanMessage) for m in messages):
        return attachments.typed[users - 1]
    return messages[asked].text


_PLACED = "user-"
"""The opening of an id made for a user message the client sent without one (:func:`placed`)."""


def placed(message_id: str | None) -> bool:
    """Whether a user message's id was made by :func:`place_id`, the client having sent none."""
    return message_id is not None and message_id.startswith(_PLACED)


def place_id(place: int, text: str) -> str:
    """The id of a user message the client sent without one, made from its text and its ``place`` among the user
    messages (1: the first): the same conversation sent again names the same messages."""
    return _PLACED + hashlib.sha256(f"{place}\0{text}".encode()).hexdigest()[:24]


def _named(messages: list[BaseMessage]) -> list[BaseMessage]:
    named, asked = [], 0
    for message in messages:
        if isinstance(message, HumanMessage):
            asked += 1
            if not message.id:
                message = message.model_copy(update={"id": place_id(asked, message.text)})
        named.append(message)
    return named


def _check_results(messages: list[BaseMessage], what: str) -> None:
    """Trailing tool results answer calls of the assistant message just before them."""
    first = len(messages)
    while first > 0 and isinstance(messages[first - 1], ToolMessage):
        first -= 1
    caller = messages[first - 1] if first > 0 else None
    calls = {call["id"] for call in caller.tool_calls} if isinstance(caller, AIMessage) else set()
    for message in messages[first:]:
        assert isinstance(message, ToolMessage)
        if message.tool_call_id not in calls:
            detail = f"{what}: the tool result for {message.tool_call_id!r} answers no call of the message before it"
            raise RequestError(400, "invalid_request", detail)
