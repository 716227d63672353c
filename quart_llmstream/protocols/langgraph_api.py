"""The LangGraph server's thread routes, in its shapes: threads made, read, searched by metadata, deleted, with
their state and history (:class:`~.threads.ThreadAccess` reaches them). The assistant's are
:mod:`.langgraph_assistant`.

The store's are :mod:`.langgraph_store`. Not served (``docs/langgraph.md``): crons, webhooks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from quart import Response, request

from ..errors import RequestError
from ..request.validation import validated
from .langgraph_body import checked_body, json_response
from .langgraph_threads_body import CheckpointState, History, NewThread, Patch, Prune, Search, StateUpdate
from .threads import ThreadAccess

__all__ = ["thread_routes"]


def thread_routes(threads: ThreadAccess, name: str) -> list[tuple[str, str, Callable[..., Any]]]:
    """The thread routes, each owner's own."""

    def thread(record: dict[str, Any], state: Any = None) -> dict[str, Any]:
        metadata = {"graph_id": name, "assistant_id": name} | record["metadata"]
        values = state.values if state is not None and state.created_at is not None else None
        interrupts = (
            {}
            if state is None
            else {task.id: [_interrupt(i) for i in task.interrupts] for task in state.tasks if task.interrupts}
        )
        return {
            "thread_id": record["thread_id"],
            "created_at": record["created_at"],
            "updated_at": record["updated_at"],
            "state_updated_at": record["updated_at"],
            "metadata": metadata,
            "status": "interrupted" if interrupts else record["status"],
            "config": {"configurable": {}},
            "values": values,
            "interrupts": interrupts,
            "error": None,
        }

    async def create_thread() -> Response:
        body, mine = await checked_body(NewThread), await threads.for_request()
        thread_id = body.thread_id or str(uuid4())
        if body.if_exists == "do_nothing" and (found := await mine.record(thread_id)) is not None:
            return json_response(thread(found, await mine.state(thread_id)))
        return json_response(thread(await mine.create(thread_id, body.metadata)))

    async def get_thread(thread_id: str) -> Response:
        mine = await threads.for_request()
        record = await mine.record(thread_id)
        state = await mine.state(thread_id)
        if record is None:
            now = datetime.now(UTC).isoformat()
            record = {"thread_id": thread_id, "created_at": now, "updated_at": now, "status": "idle", "metadata": {}}
        return json_response(thread(record, state))

    async def patch_thread(thread_id: str) -> Response:
        body, mine = await checked_body(Patch), await threads.for_request()
        updated = await mine.update(thread_id, body.metadata)
        return json_response(thread(updated, await mine.state(thread_id)))

    async def found(mine: ThreadAccess, body: Search, limit: int, offset: int) -> list[dict[str, Any]]:
        """The caller's threads whose metadata holds the body's pairs: every thread here is this assistant's, so
        ``graph_id`` and ``assistant_id`` pairs (Agent Chat UI's search) match all of them, or none."""
        if body.values:  # its threads' states would be read, each, to filter a page
            raise RequestError(422, "invalid_request", "values: a search by a thread's values is not served")
        pairs = dict(body.metadata or {})
        for key in ("graph_id", "assistant_id"):
            if key in pairs and pairs.pop(key) != name:
                return []
        return await mine.search(pairs or None, limit, offset, body.status, body.ids, body.order)

    async def count_threads() -> Response:
        body = await checked_body(Search)
        return json_response(len(await found(await threads.for_request(), body, 10_000, 0)))

    async def update_state(thread_id: str) -> Response:
        body, mine = await checked_body(StateUpdate), await threads.for_request()
        at = body.checkpoint_id or (body.checkpoint.checkpoint_id if body.checkpoint else None)
        config = await mine.update_state(thread_id, body.values, body.as_node, at)
        return json_response({"checkpoint": _checkpoint(config, thread_id)})

    async def delete_thread(thread_id: str) -> Response:
        mine = await threads.for_request()
        await mine.delete(thread_id)
        return Response(status=204)

    async def copy_thread(thread_id: str) -> Response:
        mine = await threads.for_request()
        made = await mine.copy(thread_id)
        copied = thread(made) | {"config": {}}
        del copied["values"], copied["interrupts"], copied["error"]  # as LangGraph's server answers a copy
        return json_response(copied)

    async def prune_threads() -> Response:
        """Delete threads, or cut them to their latest checkpoint; another owner's are left out as ones not there."""
        body, mine, pruned = await checked_body(Prune), await threads.for_request(), 0
        for thread_id in dict.fromkeys(body.thread_ids):
            try:
                await (mine.cut if body.strategy == "keep_latest" else mine.delete)(thread_id)
            except RequestError as error:
                if error.status not in (400, 404):  # 400, 404: not there (any more)
                    raise
                continue
            pruned += 1
        return json_response({"pruned_count": pruned})

    async def search_threads() -> Response:
        """The threads with their values and interrupts (a sidebar's labels: Agent Chat UI's, the first message)."""
        body, mine = await checked_body(Search), await threads.for_request()
        page = await found(mine, body, body.limit, body.offset)
        if body.select is None:
            return json_response([thread(record, await mine.state(record["thread_id"])) for record in page])
        read = {"values", "interrupts", "status"} & set(body.select)  # what the threads' states tell
        listed = [thread(record, await mine.state(record["thread_id"]) if read else None) for record in page]
        return json_response([{key: value for key, value in each.items() if key in body.select} for each in listed])

    async def thread_state(thread_id: str, checkpoint_id: str | None = None) -> Response:
        mine, subgraphs = await threads.for_request(), request.args.get("subgraphs", "").lower() == "true"
        return json_response(_state(await mine.state(thread_id, checkpoint_id, subgraphs), thread_id))

    async def checkpoint_state(thread_id: str) -> Response:
        """The state at a checkpoint the client names as an object (``{checkpoint_id, checkpoint_ns}``)."""
        body, mine = await checked_body(CheckpointState), await threads.for_request()
        at, subgraphs = body.checkpoint, bool(body.subgraphs)
        state = await mine.state(thread_id, at.checkpoint_id, subgraphs, at.checkpoint_ns)
        return json_response(_state(state, thread_id))

    async def thread_history(thread_id: str) -> Response:
        mine = await threads.for_request()
        if request.method == "GET":
            limit = request.args.get("limit", "10")
            body = validated(History, {"limit": int(limit) if limit.isdigit() else limit, **_before(request.args)})
        else:
            body = await checked_body(History)
        before = body.before  # a checkpoint id, or a config naming one
        if isinstance(before, dict) and isinstance(configurable := before.get("configurable", before), dict):
            before = configurable.get("checkpoint_id")
        if before is not None and not isinstance(before, str):  # a config whose configurable is not one, say
            raise RequestError(422, "invalid_request", "before: a checkpoint id, or a config naming one")
        at = ("", None) if body.checkpoint is None else (body.checkpoint.checkpoint_ns, body.checkpoint.checkpoint_id)
        states = await mine.history(thread_id, body.limit, before, body.metadata, at)
        return json_response([_state(state, thread_id) for state in states])

    return [
        ("/threads", "POST", create_thread),
        ("/threads/search", "POST", search_threads),
        ("/threads/<thread_id>", "GET", get_thread),
        ("/threads/<thread_id>", "DELETE", delete_thread),
        ("/threads/<thread_id>", "PATCH", patch_thread),
        ("/threads/count", "POST", count_threads),
        ("/threads/prune", "POST", prune_threads),
        ("/threads/<thread_id>/copy", "POST", copy_thread),
        ("/threads/<thread_id>/state", "POST", update_state),
        ("/threads/<thread_id>/state", "GET", thread_state),
        ("/threads/<thread_id>/state/<checkpoint_id>", "GET", thread_state),
        ("/threads/<thread_id>/state/checkpoint", "POST", checkpoint_state),
        ("/threads/<thread_id>/history", "GET", thread_history),
        ("/threads/<thread_id>/history", "POST", thread_history),
    ]


def _interrupt(interrupt: Any) -> dict[str, Any]:
    """An interrupt as the server shows it: its value and id, and its ``response_schema`` when it has one."""
    schema = getattr(interrupt, "response_schema", None)
    return {"value": interrupt.value, "id": interrupt.id} | ({"response_schema": schema} if schema is not None else {})


def _before(args: Mapping[str, str]) -> dict[str, Any]:
    """A GET's ``before``: a checkpoint id."""
    return {"before": args["before"]} if "before" in args else {}


def _checkpoint(config: Any, thread_id: str) -> dict[str, Any] | None:
    """A checkpoint as the client names it: under the client's thread id (the owner's scope is the server's); None
    for a thread with none yet."""
    configurable = (config or {}).get("configurable", {})
    if not configurable.get("checkpoint_id"):
        return None
    return {
        "thread_id": thread_id,
        "checkpoint_ns": configurable.get("checkpoint_ns", ""),
        "checkpoint_id": configurable.get("checkpoint_id"),
    }


def _subgraph(config: Mapping[str, Any], thread_id: str) -> dict[str, Any]:
    """Where a subgraph's task keeps its state (its config, as the server shows it), under the client's thread id."""
    return {**config.get("configurable", {}), "thread_id": thread_id}


def _state(state: Any, thread_id: str) -> dict[str, Any]:
    """A thread's ``StateSnapshot`` as LangGraph's server answers ``GET /threads/{id}/state``."""
    checkpoint, parent = _checkpoint(state.config, thread_id), _checkpoint(state.parent_config, thread_id)
    tasks = [
        {
            "id": task.id,
            "name": task.name,
            "error": None if task.error is None else f"{type(task.error).__name__}()",  # its text may not be told
            "interrupts": [_interrupt(interrupt) for interrupt in task.interrupts],
            "checkpoint": _subgraph(task.state, thread_id) if isinstance(task.state, Mapping) else None,
            "state": None if task.state is None or isinstance(task.state, Mapping) else _state(task.state, thread_id),
            "result": getattr(task, "result", None),
            "path": list(getattr(task, "path", ())),
        }
        for task in state.tasks
    ]
    return {
        "values": state.values,
        "next": list(state.next),
        "tasks": tasks,
        "interrupts": [_interrupt(interrupt) for interrupt in state.interrupts],
        "checkpoint": checkpoint,
        "checkpoint_id": checkpoint and checkpoint["checkpoint_id"],
        "metadata": None if state.metadata is None else dict(state.metadata),
        "created_at": state.created_at,
        "parent_checkpoint": parent,
        "parent_checkpoint_id": parent and parent["checkpoint_id"],
    }
