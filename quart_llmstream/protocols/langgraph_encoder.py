"""The LangGraph protocol's frames: a run's ``metadata``, its chunks by stream mode, its ``error`` — and what a
client is told of a run (LangGraph's ``Run``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .. import events
from ..payloads import to_json
from .base import Encoder
from .sse import encode_event

__all__ = ["RUN_STATUSES", "LangGraphEncoder", "run_json"]

RUN_STATUSES = {"completed": "success", "interrupted": "success", "cancelled": "interrupted"}
"""A stream's end as a run's status (an interrupt of the graph is a run that did its part); else its own name."""


def run_json(
    run_id: str, thread_id: str | None, assistant_id: str | None, status: str, ids: Mapping[str, str]
) -> dict[str, Any]:
    """A run as LangGraph's server describes it, ``status`` a stream's (:data:`RUN_STATUSES`), and when it was made,
    its metadata and multitask strategy as its request's ``ids`` keep them (with its stream)."""
    made = ids.get("created_at") or datetime.now(UTC).isoformat()
    return {
        "run_id": run_id,
        "thread_id": thread_id,
        "assistant_id": assistant_id,
        "created_at": made,
        "updated_at": made,
        "status": RUN_STATUSES.get(status, status),
        "metadata": json.loads(ids.get("run_metadata", "{}")),
        "multitask_strategy": ids.get("multitask_strategy", "reject"),
        "kwargs": {},
    }


def _frame(name: str, data: Any) -> bytes:
    return encode_event(to_json(data), event=name)


class LangGraphEncoder(Encoder):
    """A run's frames: its metadata, its chunks by mode, its error."""

    def __init__(
        self,
        run_id: str,
        kind: str = "stream",
        thread_id: str | None = None,
        assistant_id: str | None = None,
        ids: Mapping[str, str] | None = None,
    ) -> None:
        self.run_id, self.kind, self.thread_id, self.assistant_id = run_id, kind, thread_id, assistant_id
        self.ids = ids or {}
        self.last_values: Any = None
        self.failure: dict[str, Any] | None = None
        self.status: str | None = None  # how the run ended, once it has

    def run_json(self, status: str) -> dict[str, Any]:
        """This run as LangGraph's server describes it (:func:`run_json`)."""
        return run_json(self.run_id, self.thread_id, self.assistant_id, status, self.ids)

    def on_run_started(self, event: events.RunStarted) -> bytes:
        return _frame("metadata", {"run_id": self.run_id, "attempt": 1})

    def on_graph_chunk(self, event: events.GraphChunk) -> bytes:
        if event.mode == "values" and not event.namespace:
            self.last_values = event.data
        name = "|".join((event.mode, *event.namespace))
        return _frame(name, event.data)

    def on_run_ended(self, event: events.RunEnded) -> bytes:
        self.status = RUN_STATUSES.get(event.status, event.status)
        if event.error is None or event.error == "cancelled":  # a run a client stopped just ends, as on LangGraph's
            return b""
        self.failure = {"error": event.error, "message": event.message}
        return _frame("error", self.failure)
