"""Scenario (t), predicted state: what a long predicted tool argument costs, streamed in 5-character chunks.

In-process, on :class:`~quart_llmstream.state.StateStream` alone: its CPU time for an argument of about 13 KB
and for one four times as long. Parsed again on every chunk, four times the length costs sixteen times as much;
parsed again as it grows by an eighth, four times.
"""

from __future__ import annotations

import json
import time
from typing import Any

from quart_llmstream.events import StateChanged
from quart_llmstream.run.mapping.state import StateStream

PREDICT = [{"state_key": "todos", "tool": "update_todos", "tool_argument": "todos"}]


def predicted_argument(items: int) -> dict[str, Any]:
    """CPU ms and state events for a ``todos`` argument of ``items`` entries."""
    text = json.dumps({"todos": [f"item {index:05}" for index in range(items)]})
    state = StateStream({"todos"}, PREDICT)
    started = time.process_time()
    events: list[Any] = []
    for start in range(0, len(text), 5):
        events += state.tool_args(("run", 0), "update_todos" if start == 0 else None, text[start : start + 5])
    events += state.model_ended("run")
    cpu_ms = (time.process_time() - started) * 1000
    return {"kb": len(text) / 1000, "cpu_ms": cpu_ms, "events": sum(isinstance(e, StateChanged) for e in events)}


def predicted_costs() -> dict[str, Any]:
    return {"short": predicted_argument(1000), "long": predicted_argument(4000)}
