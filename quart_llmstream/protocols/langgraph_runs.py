"""A thread's runs, as LangGraph's server serves them: listed, read, joined (their frames from the start, or after
``Last-Event-ID``; or the thread's values once the run ends), cancelled (``action=rollback``: and deleted) and
deleted (with the checkpoints they wrote). A run's frames are kept in the blueprint's stream store, so listing and
joining need ``resume`` on; one run at a time on a thread, so the run cancelled is the one going on, or one
waiting its turn (``pending``: :mod:`~quart_llmstream.run.queued`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr
from quart import Response, request

from ..errors import RequestError
from ..events import RunEnded
from ..request.validation import validated
from ..settings import Settings
from .langgraph_body import checked_body, json_response
from .langgraph_encoder import LangGraphEncoder, run_json
from .response import FOLLOWER
from .sse import event_number
from .threads import ThreadAccess

__all__ = ["run_routes"]

Respond = Callable[..., Awaitable[Response]]


def run_routes(
    threads: ThreadAccess, name: str, respond: Respond, settings: Settings
) -> list[tuple[str, str, Callable[..., Any]]]:
    """A thread's run routes; ``respond`` is the protocol's (a run's frames)."""

    async def list_runs(thread_id: str) -> Response:
        """The thread's runs, newest first: ``limit`` of them (10) from ``offset``, with ``status`` when named."""
        asked, mine = validated(_RunList, request.args.to_dict(), status=422), await threads.for_request()
        found = [run_json(run_id, thread_id, name, status, ids) for run_id, status, ids in await mine.runs(thread_id)]
        found = [run for run in found if asked.status in (None, run["status"])]
        return json_response(found[asked.offset : asked.offset + asked.limit])

    async def get_run(thread_id: str, run_id: str) -> Response:
        mine = await threads.for_request()
        found = {run: (status, ids) for run, status, ids in await mine.runs(thread_id)}
        if run_id not in found:
            raise RequestError(404, "not_found", f"Run {run_id} not found")
        return json_response(run_json(run_id, thread_id, name, *found[run_id]))

    async def join_stream(thread_id: str, run_id: str) -> Response:
        """The run's frames from its start (after ``Last-Event-ID``, when named), then as they come."""
        after = request.headers.get("Last-Event-ID") or "0"  # an empty one: none
        if after == "-1":  # the SDKs' "from the start"
            after = "0"
        if (number := event_number(after)) is None:
            raise RequestError(422, "invalid_request", "Last-Event-ID: an event number (or -1: from the start)")
        mine = await threads.for_request()
        reader = await mine.follow(thread_id, run_id)
        let_go = mine.follower(reader)
        encoder = LangGraphEncoder(run_id, thread_id=thread_id)
        return await respond(reader, encoder, FOLLOWER, settings, number, closed=let_go)

    async def join_run(thread_id: str, run_id: str) -> Response:
        """Wait for the run to end; the thread's values then (with what it waits on, ``__interrupt__``), or the
        run's error (``__error__``, as ``runs.wait`` answers it: the SDKs raise it), unless a client stopped it."""
        mine = await threads.for_request()
        reader = await mine.follow(thread_id, run_id)
        ended: RunEnded | None = None
        try:
            while not reader.ended:
                ended = next((e for _, e in reversed(await reader.read()) if isinstance(e, RunEnded)), ended)
        finally:
            reader.close()
        if ended is not None and ended.error not in (None, "cancelled"):
            return json_response({"__error__": {"error": ended.error, "message": ended.message}})
        state = await mine.state(thread_id)
        waits = {"__interrupt__": list(state.interrupts)} if state.interrupts else {}  # as runs.wait answers
        return json_response({**state.values, **waits} if isinstance(state.values, dict) else state.values)

    async def cancel_run(thread_id: str, run_id: str) -> Response:
        """Stop the run (``action=rollback``: and delete it); ``202`` at once, or with ``wait``, once it has ended,
        ``{}`` as LangGraph's server answers (no values come after a cancel); ``404`` when it is not going on."""
        wait = request.args.get("wait", "").lower() in ("1", "true", "yes")
        rollback = request.args.get("action") == "rollback"
        mine = await threads.for_request()
        await mine.cancel(thread_id, run_id, wait, rollback)
        return json_response({}) if wait else Response(status=202)

    async def cancel_runs() -> Response:
        """Stop runs: a thread's, named by their ids, or all the caller's going on (``status``)."""
        body, mine = await checked_body(_Cancel), await threads.for_request()
        rollback = request.args.get("action") == "rollback"
        if body.status is not None:
            status = body.status.lower()
            if status not in ("pending", "running", "all") or body.thread_id or body.run_ids:
                detail = "status: pending, running or all, without thread_id and run_ids"
                raise RequestError(422, "invalid_request", detail)
            going = [] if status == "pending" else await mine.going()
            going += [] if status == "running" else await mine.going(pending=True)  # waiting their turn
        elif body.thread_id is None or body.run_ids is None:
            raise RequestError(422, "invalid_request", "thread_id and run_ids, or a status")
        else:
            going = [(body.thread_id, run_id) for run_id in dict.fromkeys(body.run_ids)]
        cancelled = 0
        for thread_id, run_id in going:
            try:
                await mine.cancel(thread_id, run_id, rollback=rollback)
                cancelled += 1
            except RequestError:  # not going on (any more)
                continue
        if not cancelled:
            raise RequestError(404, "not_found", "No runs found to cancel.")
        return Response(status=204)

    async def delete_run(thread_id: str, run_id: str) -> Response:
        """Delete a run the thread has had, and the checkpoints it wrote (``409`` while a run is on it)."""
        mine = await threads.for_request()
        await mine.delete_run(thread_id, run_id)
        return Response(status=204)

    return [
        ("/threads/<thread_id>/runs", "GET", list_runs),
        ("/threads/<thread_id>/runs/<run_id>", "GET", get_run),
        ("/threads/<thread_id>/runs/<run_id>", "DELETE", delete_run),
        ("/runs/cancel", "POST", cancel_runs),
        ("/threads/<thread_id>/runs/<run_id>/stream", "GET", join_stream),
        ("/threads/<thread_id>/runs/<run_id>/join", "GET", join_run),
        ("/threads/<thread_id>/runs/<run_id>/cancel", "POST", cancel_run),
    ]


class _RunList(BaseModel):
    model_config = ConfigDict(extra="allow")  # select: every field is sent

    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    status: str | None = None


class _Cancel(BaseModel):
    model_config = ConfigDict(extra="allow")

    thread_id: StrictStr | None = None
    run_ids: list[StrictStr] | None = None
    status: StrictStr | None = None
