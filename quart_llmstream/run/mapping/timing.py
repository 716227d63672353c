"""What a stream's metrics need of its run, kept only when the app has metrics on (:mod:`...metrics`).

A :class:`TimedTally` stands in for the :class:`~.tally.Tally`: on the per-token path it reads the clock at the
first token of each model call and nothing more; at each model call's end it notes the model's name, its usage
and its time per output token, and :func:`timed` adds handlers that time each tool the server runs. With metrics
off none of this is there: the plain tally and handlers run.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from ..threads.state import is_interrupt
from .base import NOTHING, Events, Handler, MappingState, V2Event
from .tally import Tally

__all__ = ["ModelCall", "TimedTally", "ToolRun", "timed"]


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One model call of the run: the model as it named itself, its usage, its time per output token (s)."""

    model: str
    input_tokens: int | None
    output_tokens: int | None
    per_token: float | None


@dataclass(frozen=True, slots=True)
class ToolRun:
    """One tool the server ran: its name, how long it took (s), and whether it failed."""

    name: str
    seconds: float
    failed: bool


class TimedTally(Tally):
    __slots__ = ("_call_first", "_call_tokens", "_tools", "first_token_at", "model_calls", "tool_runs")

    def __init__(self) -> None:
        super().__init__()
        self.first_token_at: float | None = None
        """When the stream's first token came (``time.monotonic``)."""
        self.model_calls: list[ModelCall] = []
        self.tool_runs: list[ToolRun] = []
        self._call_first: float | None = None  # the current model call's first token
        self._call_tokens = 0  # tokens before it
        self._tools: dict[Any, tuple[str, float]] = {}

    def add_text(self, text: str) -> None:
        self._text.append(text)
        self.tokens += 1
        if self._call_first is None:
            self._call_first = now = time.monotonic()
            self._call_tokens = self.tokens - 1
            if self.first_token_at is None:
                self.first_token_at = now

    def model_ended(self, output: Any) -> None:
        super().model_ended(output)
        first, self._call_first = self._call_first, None
        if output is None:
            return
        tokens = self.tokens - self._call_tokens if first is not None else 0
        per_token = (time.monotonic() - first) / (tokens - 1) if first is not None and tokens > 1 else None
        metadata = getattr(output, "response_metadata", None) or {}
        usage = getattr(output, "usage_metadata", None) or {}
        model = str(metadata.get("model_name") or metadata.get("model") or "")
        self.model_calls.append(ModelCall(model, usage.get("input_tokens"), usage.get("output_tokens"), per_token))

    def tool_started(self, run_id: Any, name: str) -> None:
        self._tools[run_id] = (name, time.monotonic())

    def tool_finished(self, run_id: Any, failed: bool | None) -> None:
        """The tool ended (``failed`` says how; None: it paused at an interrupt, and runs again when resumed)."""
        if (started := self._tools.pop(run_id, None)) is not None and failed is not None:
            self.tool_runs.append(ToolRun(started[0], time.monotonic() - started[1], failed))


def timed(handlers: Mapping[str, Handler]) -> dict[str, Handler]:
    """``handlers`` with each tool the server runs timed (in the stream's :class:`TimedTally`)."""
    start, end, error = handlers.get("on_tool_start"), handlers.get("on_tool_end"), handlers.get("on_tool_error")

    def tool_start(mapper: MappingState, event: V2Event) -> Events:
        _tally(mapper).tool_started(event["run_id"], event.get("name") or "")
        return start(mapper, event) if start is not None else NOTHING

    def tool_end(mapper: MappingState, event: V2Event) -> Events:
        _tally(mapper).tool_finished(event["run_id"], False)
        return end(mapper, event) if end is not None else NOTHING

    def tool_error(mapper: MappingState, event: V2Event) -> Events:
        failed = None if is_interrupt(event["data"].get("error")) else True
        _tally(mapper).tool_finished(event["run_id"], failed)
        return error(mapper, event) if error is not None else NOTHING

    return {**handlers, "on_tool_start": tool_start, "on_tool_end": tool_end, "on_tool_error": tool_error}


def _tally(mapper: MappingState) -> TimedTally:
    """The stream's tally, timed: these handlers are installed only beside a :class:`TimedTally`."""
    return cast(TimedTally, mapper.tally)
