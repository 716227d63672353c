"""What a stream's end reports: its whole text, tokens sent, usage, the last model's finish reason, and the
tool calls of the last model that no tool answered (the client's to run).

The mapping feeds it; ``on_end`` (through :class:`~.lifecycle.StreamResult`) and the final event read it.
It is kept whatever the ``events`` option selects, so ``on_end`` and every protocol's finish frame
know the usage and finish reason even when the native ``end`` event is not sent.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Tally"]

_USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


class Tally:
    __slots__ = ("_answered", "_calls", "_text", "finish_reason", "interrupts", "tokens", "usage")

    def __init__(self) -> None:
        self._text: list[str] = []
        self.tokens = 0
        self.usage: dict[str, int] | None = None
        self.finish_reason: str | None = None
        self._calls: list[dict[str, Any]] = []  # the last model's tool calls
        self._answered: set[str] = set()  # ids of the calls a tool answered
        self.interrupts: list[dict[str, Any]] = []  # the interrupts the thread waits on

    def add_text(self, text: str) -> None:
        self._text.append(text)
        self.tokens += 1

    def model_ended(self, output: Any) -> None:
        """A chat model's run ended with ``output`` (an ``AIMessage``, or None when it failed)."""
        usage = getattr(output, "usage_metadata", None)
        if usage:
            total = self.usage or {}
            for key in _USAGE_KEYS:
                total[key] = total.get(key, 0) + int(usage.get(key) or 0)
            self.usage = total
        if getattr(output, "tool_calls", None):
            self.finish_reason = "tool_calls"
            self._calls = list(output.tool_calls)
        elif output is not None:
            self._calls = []
            metadata = getattr(output, "response_metadata", {}) or {}
            self.finish_reason = metadata.get("finish_reason") or metadata.get("stop_reason") or "stop"

    def tool_answered(self, call_id: str | None) -> None:
        if call_id:
            self._answered.add(call_id)

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The last model's tool calls."""
        return self._calls

    def pending(self) -> list[dict[str, Any]]:
        """The last model's tool calls that no tool answered."""
        return [call for call in self._calls if call.get("id") not in self._answered]

    @property
    def text(self) -> str:
        """The text of all tokens sent so far."""
        return "".join(self._text)
