"""The stream's own vocabulary: small immutable events, the same for every protocol.

The mapping (:mod:`.mapping`) makes them from LangChain's v2 events, the run appends them to the
stream's log, and each protocol's encoder writes them as its frames. Every payload is plain JSON data
already, so an event can be encoded, stored (in Redis) or compared without touching LangChain objects.

Each event has a ``kind``, the name the ``events`` option and the native format give it, and a ``data``
view, its native payload (what the event hook sees: :mod:`.hook`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, NamedTuple

from .errors import public_message
from .lifecycle import Status

__all__ = [
    *("BLOCK_BOUNDARIES", "EVENT_TYPES", "Custom", "Event", "Interrupted", "MessagesSnapshot", "ReasoningDelta"),
    *("ReasoningEnd", "ReasoningStart", "RunEnded", "RunStarted", "StateChanged", "StatePredicted", "StreamEvent"),
    *("TextDelta", "TextEnd", "TextStart", "ToolCallArgs", "ToolCallDecided", "ToolCallPending", "ToolCallStarted"),
    *("GraphChunk", "ToolEnded", "ToolFailed", "ToolStarted"),
]


class StreamEvent(NamedTuple):
    """An event as the event hook sees it (:mod:`.hook`): its kind (``token``, ``tool_call``, ...) and its
    JSON payload."""

    kind: str
    data: Any


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event; ``data`` is the payload of the native format: by default its fields."""

    kind: ClassVar[str]

    @property
    def data(self) -> Any:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_data(cls, data: Any) -> Event:
        """The event whose native payload is ``data`` (what an event hook returned)."""
        if not isinstance(data, dict):
            raise ValueError(f"the event hook returned a {cls.kind!r} event whose data is not an object")
        names = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclass(frozen=True, slots=True)
class RunStarted(Event):
    kind = "start"
    run_id: str


@dataclass(frozen=True, slots=True)
class TextDelta(Event):
    """A piece of the answer's text (never empty)."""

    kind = "token"
    text: str

    @property
    def data(self) -> Any:
        return self.text

    @classmethod
    def from_data(cls, data: Any) -> Event:
        return cls(str(data))


@dataclass(frozen=True, slots=True)
class ReasoningDelta(Event):
    kind = "reasoning"
    text: str


@dataclass(frozen=True, slots=True)
class TextStart(Event):
    """A block of text begins: the first text after the run start, a tool call or reasoning."""

    kind = "text_start"


@dataclass(frozen=True, slots=True)
class TextEnd(Event):
    kind = "text_end"


@dataclass(frozen=True, slots=True)
class ReasoningStart(Event):
    kind = "reasoning_start"


@dataclass(frozen=True, slots=True)
class ReasoningEnd(Event):
    kind = "reasoning_end"


BLOCK_BOUNDARIES = (TextStart, TextEnd, ReasoningStart, ReasoningEnd)
"""Added by the mapping around runs of deltas; the native format sends nothing for them."""


@dataclass(frozen=True, slots=True)
class ToolCallStarted(Event):
    """A model began a tool call; ``index`` correlates its argument chunks within one model run."""

    kind = "tool_call"
    index: int
    id: str | None
    name: str


@dataclass(frozen=True, slots=True)
class ToolCallArgs(Event):
    """A piece of a tool call's JSON arguments, as the model streams them."""

    kind = "tool_args"
    index: int
    id: str | None
    delta: str


@dataclass(frozen=True, slots=True)
class ToolStarted(Event):
    kind = "tool_start"
    run_id: str
    name: str
    input: Any


@dataclass(frozen=True, slots=True)
class ToolEnded(Event):
    kind = "tool_end"
    run_id: str
    name: str
    output: Any
    call_id: str | None = None

    @property
    def data(self) -> Any:
        data = {"run_id": self.run_id, "name": self.name, "output": self.output}
        return data if self.call_id is None else data | {"call_id": self.call_id}


@dataclass(frozen=True, slots=True)
class ToolFailed(Event):
    kind = "tool_error"
    run_id: str
    name: str
    error: str
    call_id: str | None = None

    @property
    def data(self) -> Any:
        data = {"run_id": self.run_id, "name": self.name, "error": self.error}
        return data if self.call_id is None else data | {"call_id": self.call_id}


@dataclass(frozen=True, slots=True)
class ToolCallPending(Event):
    """A model's tool call that no server tool ran by the end of the run: the client is to run it.

    Sent whatever the ``events`` option selects (the client must act on it), just before the final event;
    ``declared`` says whether the client declared the tool (an agent's own tools are not the client's).
    """

    kind = "tool_pending"
    id: str
    name: str
    args: Any
    declared: bool = False


@dataclass(frozen=True, slots=True)
class Interrupted(Event):
    """The run paused at LangGraph interrupts: its thread waits for a decision on each.

    Sent whatever ``events`` selects, just before the final event. Each interrupt is ``{"id", "value"}``, and
    for tool calls awaiting approval (``HumanInTheLoopMiddleware``) ``"actions"``: ``[{"tool_call_id", "name",
    "args", "description"}]``. ``thread_id`` is the client's name for the thread.
    """

    kind = "interrupt"
    thread_id: str | None
    interrupts: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ToolCallDecided(Event):
    """A resumed run starts with the decisions it carries on tool calls that awaited approval."""

    kind = "tool_decided"
    id: str
    name: str
    approved: bool
    message: str | None = None


@dataclass(frozen=True, slots=True)
class MessagesSnapshot(Event):
    """The thread's messages, as plain data (``{"id", "role", "content", "tool_calls"?, "tool_call_id"?}``, a tool
    result's ``"status": "error"`` when it failed or was rejected, and its ``"decision"`` when a person's decision
    stood in for the tool: ``"reject"``, ``"respond"``): a resumed run starts with them, for clients that must know
    every call it goes on with."""

    kind = "messages"
    messages: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class StateChanged(Event):
    """The graph's state changed (the keys ``state_keys`` selects): ``values`` is all of it, ``patch`` the RFC 6902
    operations from the state sent before (None for the first). Sent whatever ``events`` selects."""

    kind = "state"
    values: dict[str, Any]
    patch: list[dict[str, Any]] | None = None

    @property
    def data(self) -> Any:
        return {"snapshot": self.values} if self.patch is None else {"patch": self.patch}


@dataclass(frozen=True, slots=True)
class StatePredicted(Event):
    """A tool whose arguments predict the state (``predict_state``) is being called: the state follows them."""

    kind = "state_predicted"
    predictions: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Custom(Event):
    """``adispatch_custom_event(name, data)`` in the runnable."""

    kind = "custom"
    name: str
    value: Any

    @property
    def data(self) -> Any:
        return {"name": self.name, "data": self.value}

    @classmethod
    def from_data(cls, data: Any) -> Event:
        if not isinstance(data, dict):
            raise ValueError("the event hook returned a 'custom' event whose data is not an object")
        return cls(str(data.get("name", "")), data.get("data"))


@dataclass(frozen=True, slots=True)
class RunEnded(Event):
    """The last event of every stream: how the run ended, and what a client learns of it.

    ``status`` is how it ended (:data:`~.lifecycle.Status`); ``error`` is the code of the error frame a protocol
    sends first (None when completed) and ``message`` its public text."""

    kind = "end"
    status: Status
    finish_reason: str
    usage: dict[str, int] | None = None
    error: str | None = None
    message: str | None = None
    run_id: str | None = None
    """The run's id, which feedback on its answer names."""

    @property
    def data(self) -> Any:
        run = {"run_id": self.run_id} if self.run_id is not None else {}
        return {"finish_reason": self.finish_reason, "usage": self.usage, **run}

    @classmethod
    def failed(cls, code: str) -> RunEnded:
        """The end of a stream that cannot go on to its own end: an error frame with ``code``'s public text."""
        return cls("error", "error", None, code, public_message(code))


@dataclass(frozen=True, slots=True)
class GraphChunk(Event):
    """A chunk of a LangGraph graph's own stream, in one of its stream modes (the LangGraph protocol's run):
    ``namespace`` names the subgraph it comes from (empty: the graph's own), ``data`` is the chunk as the graph
    made it (messages and all: its encoder writes it as LangGraph's server does)."""

    kind = "graph"
    mode: str
    namespace: tuple[str, ...]
    data: Any


EVENT_TYPES: tuple[type[Event], ...] = (
    *(RunStarted, TextDelta, ReasoningDelta, ToolCallStarted, ToolCallArgs, ToolStarted, ToolEnded, ToolFailed),
    *(ToolCallPending, Interrupted, ToolCallDecided, MessagesSnapshot, StateChanged, StatePredicted, Custom),
    *(RunEnded, GraphChunk, *BLOCK_BOUNDARIES),
)
"""Every type of event, for encoders that dispatch on the type."""
