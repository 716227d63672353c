"""The instruments, named once for every backend, and what a blueprint records on them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

__all__ = ["INSTRUMENTS", "BlueprintMetrics", "Instrument", "Metrics", "Timings"]

Attributes = Mapping[str, str | int | None]  # None: the attribute is absent (Prometheus: an empty label)

_TO_FIRST = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
_PACE = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5)
_SECONDS_LONG = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84)
_TOKENS = tuple(float(4**n) for n in range(14))  # 1 to 67,108,864, as the conventions advise
_BLUEPRINT = ("llmstream.protocol", "llmstream.blueprint")
_ENDED = (*_BLUEPRINT, "llmstream.status", "error.type")
_MODEL = (*_BLUEPRINT, "gen_ai.response.model")
_USED = (*_MODEL, "gen_ai.token.type")
_TOOL = (*_BLUEPRINT, "gen_ai.tool.name", "error.type")
_REFUSED = (*_BLUEPRINT, "http.response.status_code", "error.type")


@dataclass(frozen=True, slots=True)
class Instrument:
    """A metric: its OpenTelemetry name, kind, unit (UCUM), description, attributes and histogram buckets."""

    name: str
    kind: Literal["counter", "updown", "histogram"]
    unit: str
    description: str
    attributes: tuple[str, ...] = _BLUEPRINT
    buckets: tuple[float, ...] = ()


ACTIVE = "llmstream.streams.active"
STARTED = "llmstream.streams.started"
ENDED = "llmstream.streams.ended"
DURATION = "gen_ai.server.request.duration"
FIRST_TOKEN = "gen_ai.server.time_to_first_token"
PER_TOKEN = "gen_ai.server.time_per_output_token"
USAGE = "gen_ai.client.token.usage"
TOOL = "gen_ai.execute_tool.duration"
INTERRUPTS = "llmstream.interrupts"
RESUMES = "llmstream.resumes"
CANCELS = "llmstream.cancels"
DISCONNECTS = "llmstream.disconnects"
REFUSALS = "llmstream.refusals"
INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(ACTIVE, "updown", "{stream}", "Streams whose run is going on."),
    Instrument(STARTED, "counter", "{stream}", "Streams started."),
    Instrument(ENDED, "counter", "{stream}", "Streams ended, by how (status) and error code.", _ENDED),
    Instrument(DURATION, "histogram", "s", "Duration of a stream's run, to its last event.", _ENDED, _SECONDS_LONG),
    Instrument(FIRST_TOKEN, "histogram", "s", "Time from a stream's start to its first token.", _MODEL, _TO_FIRST),
    Instrument(PER_TOKEN, "histogram", "s", "Time per output token after the first, per model call.", _MODEL, _PACE),
    Instrument(USAGE, "histogram", "{token}", "Tokens a model call used, as it reported them.", _USED, _TOKENS),
    Instrument(TOOL, "histogram", "s", "Duration of a tool the server ran.", _TOOL, _SECONDS_LONG),
    Instrument(INTERRUPTS, "counter", "{interrupt}", "Interrupts streams ended waiting on (a decision to make)."),
    Instrument(RESUMES, "counter", "{resume}", "Clients that came back to a stream (the resume route)."),
    Instrument(CANCELS, "counter", "{cancel}", "Runs a client asked to stop."),
    Instrument(DISCONNECTS, "counter", "{disconnect}", "Clients that left before their stream's end."),
    Instrument(REFUSALS, "counter", "{request}", "Requests refused before streaming, by status and code.", _REFUSED),
)


class Timings(Protocol):
    """What a stream's end reports (its :class:`~..run.mapping.timing.TimedTally`)."""

    first_token_at: float | None
    interrupts: list[dict[str, Any]]

    @property
    def model_calls(self) -> Sequence[Any]: ...  # ModelCall: model, input_tokens, output_tokens, per_token

    @property
    def tool_runs(self) -> Sequence[Any]: ...  # ToolRun: name, seconds, failed


class Metrics(ABC):
    """A backend: where the instruments live. An app passes one (or several) to :class:`~..LLMStream`."""

    @abstractmethod
    def add(self, name: str, value: float, attributes: Attributes) -> None:
        """Add ``value`` to the counter (or up-down counter) ``name``."""

    @abstractmethod
    def record(self, name: str, value: float, attributes: Attributes) -> None:
        """Record ``value`` in the histogram ``name``."""


class BlueprintMetrics:
    """The metrics of one blueprint: the app's backends and the blueprint's labels, bound at registration."""

    def __init__(self, backends: Sequence[Metrics], protocol: str, blueprint: str) -> None:
        self._backends = tuple(backends)
        self._labels: dict[str, str | int | None] = {"llmstream.protocol": protocol, "llmstream.blueprint": blueprint}

    def started(self) -> None:
        self._add(STARTED, 1, self._labels)
        self._add(ACTIVE, 1, self._labels)

    def ended(self, status: str, code: str | None, started_at: float, ended_at: float, timings: Timings) -> None:
        """A stream's run ended ``status`` (with the error ``code``, if any) at ``ended_at`` (``time.monotonic``)."""
        labels = self._labels
        self._add(ACTIVE, -1, labels)
        ended = {**labels, "llmstream.status": status, "error.type": code}
        self._add(ENDED, 1, ended)
        self._record(DURATION, ended_at - started_at, ended)
        calls = timings.model_calls
        if timings.first_token_at is not None:
            model = {**labels, "gen_ai.response.model": calls[0].model if calls else ""}
            self._record(FIRST_TOKEN, timings.first_token_at - started_at, model)
        for call in calls:
            model = {**labels, "gen_ai.response.model": call.model}
            if call.per_token is not None:
                self._record(PER_TOKEN, call.per_token, model)
            for kind, tokens in (("input", call.input_tokens), ("output", call.output_tokens)):
                if tokens is not None:
                    self._record(USAGE, tokens, {**model, "gen_ai.token.type": kind})
        for tool in timings.tool_runs:
            used = {**labels, "gen_ai.tool.name": tool.name, "error.type": "tool_error" if tool.failed else None}
            self._record(TOOL, tool.seconds, used)
        if status == "interrupted" and timings.interrupts:
            self._add(INTERRUPTS, len(timings.interrupts), labels)
        if code == "cancelled":
            self._add(CANCELS, 1, labels)

    def disconnected(self) -> None:
        self._add(DISCONNECTS, 1, self._labels)

    def resumed(self) -> None:
        self._add(RESUMES, 1, self._labels)

    def refused(self, status: int, code: str) -> None:
        self._add(REFUSALS, 1, {**self._labels, "http.response.status_code": status, "error.type": code})

    def _add(self, name: str, value: float, attributes: Attributes) -> None:
        for backend in self._backends:
            backend.add(name, value, attributes)

    def _record(self, name: str, value: float, attributes: Attributes) -> None:
        for backend in self._backends:
            backend.record(name, value, attributes)
