"""The LangGraph server's run request (``POST /threads/{id}/runs/stream``, ``/runs/wait``, stateless ``/runs/...``)
as a :class:`~quart_llmstream.ChatRequest`: ``input.messages`` are the run's input messages (LangChain's dicts,
``{"type": "human", ...}`` or ``{"role": "user", ...}``), the rest of ``input`` the client's state, ``command.resume``
the answer to what the thread waits on; ``stream_mode`` and ``stream_subgraphs`` say what the stream carries.
A body that fails its schema is a ``422``, as LangGraph's server answers it; the other routes' bodies are read, and
every route answers, as here (:func:`checked_body`, :func:`json_response`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal, NoReturn

from langchain_core.messages import HumanMessage
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr
from pydantic_core import to_jsonable_python
from quart import Response, request
from werkzeug.datastructures import Headers

from ..errors import RequestError
from ..options import OnDisconnect, Strategy
from ..payloads import to_json
from ..request import ChatRequest, Resume, RunOptions
from ..request.attachments import Attachments
from ..request.body import read_json_body
from ..request.content_blocks import checked_content, client_messages
from ..request.counted import check_text
from ..request.validation import Metadata, validated
from ..settings import Settings

__all__ = ["STREAM_MODES", "checked_body", "json_response", "read_run"]

StreamMode = Literal[
    "values", "messages-tuple", "messages", "updates", "custom", "events", "debug", "tasks", "checkpoints"
]
STREAM_MODES = {"messages-tuple": "messages"}  # the server's names of the graph's modes, where they differ


def json_response(value: Any, status: int = 200) -> Response:
    """``value`` as LangGraph's server sends it: plain JSON of what it holds (messages as their dumps)."""
    return Response(to_json(to_jsonable_python(value, fallback=repr)), status, content_type="application/json")


async def checked_body(model: type[BaseModel]) -> Any:
    """The request's JSON body (none: {}) as ``model``, or LangGraph's ``422``."""
    body = await read_json_body(request) if await request.get_data() else {}
    return validated(model, body, status=422)


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resume: Any = None
    update: Any = None
    goto: Any = None


class _RunBody(BaseModel):
    model_config = ConfigDict(extra="allow")  # webhook, ...: LangGraph's, not served here

    assistant_id: StrictStr | None = None
    input: dict[str, Any] | None = None
    command: _Command | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: Metadata | None = None
    stream_mode: StreamMode | list[StreamMode] = "values"
    stream_subgraphs: StrictBool = False
    multitask_strategy: Strategy | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    on_disconnect: OnDisconnect | None = None
    on_completion: Literal["delete", "keep"] | None = None  # a stateless run's thread: gone with it, or kept
    checkpoint_id: StrictStr | None = None
    checkpoint: dict[str, Any] | None = None  # {checkpoint_id, checkpoint_ns}: useStream's edit and regenerate
    stream_resumable: StrictBool = False
    interrupt_before: Literal["*"] | list[StrictStr] | None = None  # breakpoints: the run stops before these nodes
    interrupt_after: Literal["*"] | list[StrictStr] | None = None


def read_run(body: dict[str, Any], headers: Headers, settings: Settings, path: dict[str, str]) -> ChatRequest:
    parsed = validated(_RunBody, body, status=422)
    inputs = dict(parsed.input or {})
    given = inputs.pop("messages", None) or []
    given = given if isinstance(given, list) else [given]  # one message, as the graph's add_messages takes it
    messages = client_messages(given, "input.messages", status=422)
    found = Attachments(settings)
    messages = checked_content(messages, found)
    question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    check_text("the question", question, settings.max_question_chars)
    assistant = path.get("blueprint", "")
    if parsed.assistant_id not in (None, assistant):  # the blueprint is one assistant, named as its graph
        _unknown(parsed.assistant_id, assistant)
    command = parsed.command
    if command is not None and (command.update, command.goto) != (None, None):  # a client would steer past checks
        detail = "command.update and command.goto are not served: a run's input and command.resume are"
        raise RequestError(422, "invalid_request", detail)
    resume = Resume(value=command.resume, has_value=True) if command and "resume" in command.model_fields_set else None
    goes_on = command is None and parsed.input is None  # from where the thread stopped, or a checkpoint's nodes again
    if goes_on and "thread_id" not in path:
        detail = "a run takes an input or a command, but on a thread, which it goes on from where it stopped"
        raise RequestError(422, "invalid_request", detail)
    modes = parsed.stream_mode if isinstance(parsed.stream_mode, list) else [parsed.stream_mode]
    kind = path.get("kind", "create")  # POST /runs, /threads/{id}/runs: in the background
    ids = {"kind": kind, "assistant_id": assistant}
    kept = "thread_id" not in path and parsed.on_completion == "keep"  # stateless, its thread kept: a new thread
    thread_id = str(uuid.uuid4()) if kept else path.get("thread_id")
    ids |= {"thread_id": thread_id} if thread_id else {}  # none: stateless, a thread of its own
    must_exist = bool(thread_id) and not kept and (parsed.if_not_exists or "reject") == "reject"  # LangGraph's default
    ids |= {"created_at": datetime.now(UTC).isoformat()}  # the run as it is described: kept with its stream
    ids |= {"multitask_strategy": parsed.multitask_strategy or settings.multitask_strategy}
    ids |= {"run_metadata": to_json(parsed.metadata)} if parsed.metadata else {}
    checkpoint = parsed.checkpoint_id or (parsed.checkpoint or {}).get("checkpoint_id")
    if checkpoint is not None and (not isinstance(checkpoint, str) or "thread_id" not in path):
        raise RequestError(422, "invalid_request", "checkpoint: a checkpoint id of the run's thread")
    source = {
        "stream_mode": tuple(dict.fromkeys(STREAM_MODES.get(mode, mode) for mode in modes)),
        "subgraphs": parsed.stream_subgraphs,
        "graph_id": assistant,
        "whole_messages": "messages" in modes and "messages-tuple" not in modes,  # the older mode, alone
    }
    source |= {key: nodes for key in ("interrupt_before", "interrupt_after") if (nodes := getattr(parsed, key))}
    return ChatRequest(
        question=question,
        chat_history=messages[:-1],
        body=body,
        headers=headers,
        ids=ids,
        messages=messages,
        thread_id=thread_id,
        resume=resume,
        state=inputs,
        attachments=found.found,
        run_options=RunOptions(
            on_disconnect=parsed.on_disconnect,
            multitask_strategy=parsed.multitask_strategy,
            checkpoint_id=checkpoint,
            goes_on=goes_on,
            must_exist=must_exist,
            ephemeral=not thread_id,
            source=source,
        ),
    )


def _unknown(assistant_id: str, assistant: str) -> NoReturn:
    """An assistant this server does not have, answered as LangGraph's: a ``422`` unless the id is a UUID."""
    try:
        uuid.UUID(assistant_id)
    except ValueError:
        detail = f"Invalid assistant: '{assistant_id}'. Must be either:\n- A valid assistant UUID, or\n"
        raise RequestError(422, "invalid_request", detail + f"- One of the registered graphs: {assistant}") from None
    raise RequestError(404, "not_found", f"Assistant {assistant_id} not found")
