"""A blueprint's threads as a resource: read one back, list them, rename and delete one — each owner's own.

``GET <route>/threads?limit=&cursor=`` lists the caller's threads, most recent activity first; ``GET
<route>/threads/<id>`` reads one back in the protocol's own shapes (its messages as the client sends them again,
the state shared with it, what waits for a decision, the stream going on now) — and, for clients that connect
to a thread (AG-UI's ``connectAgent``), ``POST <route>/connect`` streams the same, then the live run; ``PATCH``
sets its title;
``DELETE`` stops a run on it, wherever it runs, then removes its checkpoints, its record and its streams' logs.
Another owner's thread is a ``404`` on every route and never listed. The routes are there only when owners can
be told apart (a ``stream_owner`` hook) or the app serves one user (``single_user``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr, field_validator
from quart import Response, jsonify, request

from .errors import RequestError
from .events import Event, MessagesSnapshot, RunEnded, RunStarted, StateChanged
from .extension import LLMStream
from .logs.prefaced import Prefaced
from .logs.store import StreamStore
from .protocols import Protocol
from .protocols.response import FOLLOWER
from .protocols.threads import ThreadView
from .request.body import read_json_body
from .request.validation import validated
from .run import Preparer
from .run.threads import shared_keys
from .run.threads.records import MAX_TITLE_CHARS, Record, title_of
from .run.threads.state import interrupts_of, plain_messages, shared_state
from .settings import Settings
from .thread_access import NO_THREAD, found
from .thread_runs import ThreadRuns

__all__ = ["thread_routes"]

DEFAULT_PAGE = 20
MAX_PAGE = 100


class _Rename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: StrictStr

    @field_validator("title")
    @classmethod
    def _fits(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value or len(value) > MAX_TITLE_CHARS or not value.isprintable():
            raise ValueError(f"1 to {MAX_TITLE_CHARS} printable characters, not only spaces")
        return value


def thread_routes(
    protocol: Protocol,
    name: str,
    settings: Settings,
    extension: LLMStream,
    preparer: Preparer,
    store: StreamStore | None,
) -> list[tuple[str, str, Callable[..., Awaitable[Response]]]]:
    """The thread routes of a blueprint; a refusal is a :class:`~.errors.RequestError`, which it renders."""
    threads = ThreadRuns(settings, extension, preparer, store)

    async def list_threads() -> Response:
        mine = await threads.for_request()
        limit, offset = _limit(request.args.get("limit")), _offset(request.args.get("cursor"))
        records, more = await extension.records().page(mine.owner, limit, offset)
        listed = [await mine.listed(record, metadata=False) for record in records]
        return jsonify(threads=listed, next_cursor=_cursor(offset + limit) if more else None)

    async def read_thread(thread_id: str) -> Response:
        mine, name = await threads.for_request(), threads.name(thread_id)
        thread = await _read(mine, name)
        found(thread.state, thread.record)
        return jsonify(protocol.thread_body(thread.view))

    async def connect() -> Response:
        """The thread as it is (its messages, its state), then the live run's events if one is going (followed
        from its start in the stream store); a new thread connects empty."""
        mine = await threads.for_request()
        ids = protocol.connect_ids(await read_json_body(request))
        name = threads.name(ids["thread_id"])
        thread = await _read(mine, name)
        view = thread.view
        first: list[Event] = [RunStarted(ids["run_id"]), MessagesSnapshot(view.messages), StateChanged(view.state)]
        live = None if view.stream_id is None or store is None else await store.open(view.stream_id, mine.owner)
        if live is None:
            ending = RunEnded("interrupted" if thread.state.interrupts else "completed", "stop")
            first.append(ending)
        let_go = mine.follower(None if live is None else live[1])  # held as a stream holds a connection
        reader = Prefaced(first, None if live is None else live[1])
        encoder = protocol.encoder(ids["run_id"], frozenset(), ids)
        return await protocol.respond(reader, encoder, FOLLOWER, settings, closed=let_go)

    async def _read(mine: ThreadRuns, name: str) -> _Thread:
        graph, config = await mine.graph(name)
        state = await graph.aget_state(config)
        record = await extension.records().get(mine.owner, name)
        messages = plain_messages(state) if state.created_at is not None else []
        first = next((message["content"] for message in messages if message["role"] == "user"), "")
        title = record.title if record is not None else title_of(first)
        values = state.values if isinstance(state.values, dict) else {}
        keys = shared_keys(graph, settings.state_keys)
        shared = shared_state(values, keys) or {}
        stream_id = record.stream_id if record is not None and await mine.run_going(record) else None
        interrupts = interrupts_of(state) if state.created_at is not None else []
        return _Thread(state, record, ThreadView(name, title, messages, shared, interrupts, stream_id))

    async def rename_thread(thread_id: str) -> Response:
        mine, name = await threads.for_request(), threads.name(thread_id)
        body = await read_json_body(request)
        renamed = await extension.records().rename(mine.owner, name, validated(_Rename, body).title)
        if renamed is None:
            raise RequestError(404, "not_found", NO_THREAD)
        return jsonify(await mine.listed(renamed, metadata=False))

    async def delete_thread(thread_id: str) -> Response:
        """A run on it is stopped first (the hold taken as ``interrupt`` does), then all of it goes."""
        mine = await threads.for_request()
        await mine.delete(thread_id)
        return Response(status=204)

    if not protocol.serves_thread_routes:
        return protocol.thread_api(threads, name, settings)
    base = protocol.threads_route(settings)
    routes: list[tuple[str, str, Callable[..., Awaitable[Response]]]] = [
        (base, "GET", list_threads),
        (f"{base}/<thread_id>", "GET", read_thread),
        (f"{base}/<thread_id>", "PATCH", rename_thread),
        (f"{base}/<thread_id>", "DELETE", delete_thread),
    ]
    return routes + ([(f"{settings.route}/connect", "POST", connect)] if protocol.connects else [])


@dataclass(frozen=True, slots=True)
class _Thread:
    """A thread read: its state and record, and what :meth:`~.protocols.Protocol.thread_body` shows of it."""

    state: Any
    record: Record | None
    view: ThreadView


def _limit(value: str | None) -> int:
    if value is None:
        return DEFAULT_PAGE
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_PAGE:
        raise RequestError(400, "invalid_request", f"limit: a whole number from 1 to {MAX_PAGE}")
    return int(value)


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    """The place in the list a cursor (a ``next_cursor`` given before) stands for."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    if len(cursor) > 32 or not (text.startswith("o") and text[1:].isdigit() and len(text) <= 10):
        raise RequestError(400, "invalid_request", "cursor: not a next_cursor this server gave")
    return int(text[1:])
