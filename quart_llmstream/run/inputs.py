"""The runnable's input, made once per request from the chat request: ``{"question", "chat_history",
"messages"}``, so a prompt over ``question`` and ``chat_history`` and an agent over ``messages`` (a LangChain
``create_agent`` graph, any LangGraph ``MessagesState`` graph) both plug in with no adapter; or, for a request
that answers the interrupts its thread waits on, LangGraph's ``Command(resume=...)``.

On a LangGraph thread with a checkpointer, the thread already holds the conversation so far: the graph gets
only what the thread lacks, checked (:mod:`.threads`). The client's state must fit the graph's state schema.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import typing_extensions
from pydantic import TypeAdapter, ValidationError

from ..errors import RequestError
from ..events import Event
from ..request import ChatRequest
from .threads import RunThread, checkpointed

__all__ = ["RunInput", "runnable_input"]


@dataclass(frozen=True, slots=True)
class RunInput:
    """The runnable's input, and the events the stream starts with (a resumed run's thread and decisions)."""

    value: Any
    opening: tuple[Event, ...] = ()


async def runnable_input(
    chat_request: ChatRequest,
    graph: Any = None,
    thread: RunThread | None = None,
    state_keys: Collection[str] = (),
    system_messages: str = "drop",
    *,
    messages_only: bool = False,
) -> RunInput:
    """The input of the request's run, of ``graph`` when the runnable is a LangGraph graph, on ``thread`` when
    it keeps one; the client's state is taken for ``state_keys``, those that stream, and its system messages on
    a thread as ``system_messages`` says. A runnable that takes ``messages_only`` (a chat model served alone) gets
    the conversation's messages."""
    if chat_request.resume is not None:
        if thread is None and checkpointed(graph) is None:
            raise RequestError(400, "invalid_request", "resume: the runnable has no checkpointer, so no thread waits")
        if thread is None:
            detail = "resume: no thread id names the thread whose interrupts it answers"
            raise RequestError(400, "invalid_request", detail)
        from langgraph.types import Command

        values, opening = await thread.resumed(chat_request.resume)
        return RunInput(Command(resume=values), opening)
    if chat_request.run_options.answer_again and thread is not None and await thread.answer_again(chat_request):
        await thread.goes_on()  # from the checkpoint where the question had just been added: a branch
        return RunInput(None)
    if chat_request.run_options.goes_on:  # no input: the graph goes on from where its thread stopped, or a checkpoint
        if thread is None:
            raise RequestError(400, "invalid_request", "a run without input goes on from a thread: name one")
        await thread.goes_on()
        return RunInput(None)
    if messages_only:
        return RunInput(list(chat_request.messages))
    messages = chat_request.messages if thread is None else await thread.lacking(chat_request, system_messages)
    inputs = {"question": chat_request.question, "chat_history": chat_request.chat_history, "messages": messages}
    if state_keys and chat_request.state:  # the client's state, for the keys shared with it
        schema = getattr(getattr(graph, "builder", None), "state_schema", None)
        inputs |= _shared_state(chat_request.state, state_keys, schema)
    return RunInput(inputs)


def _shared_state(state: Mapping[str, Any], keys: Collection[str], schema: Any) -> dict[str, Any]:
    """The client's state for the shared ``keys``, each checked against its type in the graph's state
    ``schema``: a value a node would fail on (a number for a list) is a 400, not a run failing mid-stream. Never
    ``messages``, whatever ``state_keys`` shares: the conversation comes in as messages, checked, or not at all."""
    shared = {key: value for key, value in state.items() if key in keys and key != "messages"}
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
