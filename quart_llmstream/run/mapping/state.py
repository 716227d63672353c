"""Shared state: the graph's state streams to the client, and a node can publish one while it works.

A LangGraph graph's state is read where it shows in the stream — the input of each top-level node is the
state after the step before it, the graph's end holds the last, and the thread's state after the run says
what it is — and from :func:`emit_state`, which a node or tool calls with an intermediate state (a long
task's progress). A tool whose arguments predict the state (``predict_state``) moves it as the arguments
stream, before the tool runs. Only the keys ``state_keys`` selects are sent (by default those of the graph's
output schema but ``messages``), and only when they changed: the first time whole, then as RFC 6902 JSON patches
(``jsonpatch``, which langchain-core brings). A step's state is compared once, never per token; a predicted
argument is parsed again only once it has grown by an eighth (and whole when the model's message ends), so a
long one costs time linear in its length, not quadratic.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import jsonpatch
from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.runnables import RunnableConfig
from langchain_core.utils.json import parse_partial_json

from ...events import Event, StateChanged, StatePredicted
from ..threads.state import shared_state

__all__ = ["STATE_EVENT", "StateStream", "emit_state"]

STATE_EVENT = "quart_llmstream.state"
"""The custom event :func:`emit_state` dispatches."""


async def emit_state(values: Mapping[str, Any], config: RunnableConfig | None = None) -> None:
    """Publish ``values`` (some of the graph's state keys) from inside a node or tool, while it works: the
    client gets them before the node ends. ``config`` is the node's, where Python cannot pass it on by itself
    (before 3.11 in async code)."""
    await adispatch_custom_event(STATE_EVENT, dict(values), config=config)


class StateStream:
    """The state one stream sends."""

    __slots__ = ("_calls", "_held", "_keys", "_predicted", "_predictions", "_sent", "_values")

    def __init__(self, keys: Collection[str], predictions: Sequence[Mapping[str, str]] = ()) -> None:
        self._keys = frozenset(keys)
        self._predictions = [dict(p) for p in predictions]
        self._predicted = {p["tool"] for p in self._predictions}
        self._values: dict[str, Any] = {}
        self._sent: Any = None
        self._calls: dict[Any, _Predicting] = {}  # each predicting call, by (its model run, its index)
        self._held: dict[str, dict[str, Any]] = {}  # what each predicting tool predicted, until it has run

    def replace(self, values: Any) -> tuple[Event, ...]:
        """The graph's whole state, as it is now, but for the keys a tool that has not run yet predicts: a
        node between the model and the tool (middleware's ``after_model``) must not take the prediction back."""
        if not isinstance(values, Mapping):
            return ()
        self._values = self._selected(values)
        for predicted in self._held.values():
            self._values |= predicted
        return self._changed()

    def settle(self, values: Any) -> tuple[Event, ...]:
        """The thread's state after the run: the truth, whatever was predicted (a call rejected or never run)."""
        self._held.clear()
        return self.replace(values)

    def tool_ran(self, name: str | None) -> None:
        """A tool has answered: the state it predicted is the graph's to say again (its next step shows it)."""
        if name is not None:
            self._held.pop(name, None)

    def update(self, values: Any) -> tuple[Event, ...]:
        """Some of the state's keys (a node's published state, a predicted argument)."""
        if not isinstance(values, Mapping):
            return ()
        self._values = {**self._values, **self._selected(values)}
        return self._changed()

    def tool_args(self, call: tuple[str, int], name: str | None, args: str | None) -> tuple[Event, ...]:
        """A model streams a call's arguments (``call`` is its model run and index): a predicting tool's start
        says so, and its arguments move the state as they come, parsed from the partial JSON."""
        predicting = self._calls.get(call)
        started: tuple[Event, ...] = ()
        if predicting is None:
            if name not in self._predicted:
                return ()
            predicting = self._calls[call] = _Predicting(name)
            started = (StatePredicted(self._predictions),)
        predicting.args += args or ""
        if 8 * len(predicting.args) < 9 * predicting.parsed:  # not an eighth longer yet
            return started
        return started + self._predicted_by(predicting)

    def model_ended(self, run_id: str) -> tuple[Event, ...]:
        """A model's message ends: its predicting calls' arguments, whole."""
        ended = [call for call in self._calls if call[0] == run_id]
        return tuple(event for call in ended for event in self._predicted_by(self._calls.pop(call)))

    def _predicted_by(self, predicting: _Predicting) -> tuple[Event, ...]:
        if predicting.parsed == len(predicting.args):
            return ()
        predicting.parsed = len(predicting.args)
        parsed = parse_partial_json(predicting.args) if predicting.args else None
        moved = {
            p["state_key"]: parsed[p["tool_argument"]]
            for p in self._predictions
            if p["tool"] == predicting.tool and isinstance(parsed, dict) and p["tool_argument"] in parsed
        }
        if not moved:
            return ()
        self._held.setdefault(predicting.tool, {}).update(moved)
        return self.update(moved)

    def _selected(self, values: Mapping[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in values.items() if key in self._keys}

    def _changed(self) -> tuple[Event, ...]:
        current = shared_state(self._values, self._keys)
        if current is None or current == self._sent or (self._sent is None and not current):
            return ()  # unchanged, or nothing to show yet
        patch = None if self._sent is None else jsonpatch.make_patch(self._sent, current).patch
        self._sent = current
        return (StateChanged(current, patch),)


class _Predicting:
    """A predicting tool's call as its arguments stream: how much of them was parsed last."""

    __slots__ = ("args", "parsed", "tool")

    def __init__(self, tool: str) -> None:
        self.tool, self.args, self.parsed = tool, "", 0
