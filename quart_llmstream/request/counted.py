"""A conversation's size, held to its limits while the body is parsed: its messages (``max_history``) and their
parts (``max_parts``: content parts, AI SDK parts, tool calls, attachments).

A small body is parsed whole and counted after. A big one is parsed a value at a time with the C scanner
``json.loads`` uses, its list of messages a message at a time and each message's parts a part at a time, and is
refused at the first message or part past its limit: a 15 MB body of 300,000 small messages, or of one message
of 300,000 parts, costs a look at what the limit allows, not everything built and freed for nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from json.decoder import WHITESPACE, JSONDecoder  # type: ignore[attr-defined]  # WHITESPACE is not typed
from typing import Any

from ..errors import RequestError

__all__ = ["Budget", "check_counts", "check_text", "parse_counting"]

Parse = Callable[[str, int], tuple[Any, int]]


@dataclass(frozen=True, slots=True)
class Budget:
    """What a body's conversation may hold: at most ``messages`` values in its list ``key`` (``input.messages``: in
    the object ``input``), and at most ``parts`` values in all in the lists its messages hold under ``part_keys``."""

    key: str
    messages: int
    part_keys: tuple[str, ...] = ()
    parts: int = 1 << 62

    def too_many_messages(self, got: str) -> RequestError:
        return RequestError(400, "invalid_request", f"{self.key}: at most {self.messages} messages, got {got}")

    def too_many_parts(self) -> RequestError:
        detail = f"{self.key}: at most {self.parts} parts in all ({', '.join(self.part_keys)}), got more"
        return RequestError(400, "invalid_request", detail)


def check_text(where: str, text: str, limit: int) -> None:
    """A message's text within ``limit`` characters (``max_question_chars``), or a 400 naming where it was."""
    if len(text) > limit:
        raise RequestError(400, "invalid_request", f"{where}: at most {limit} characters, got {len(text)}")


def check_counts(body: dict[str, Any], budget: Budget) -> None:
    """A parsed body's conversation within ``budget``, or a 400."""
    *outer, last = budget.key.split(".")
    for key in outer:
        inner = body.get(key)
        body = inner if isinstance(inner, dict) else {}
    messages = body.get(last)
    if not isinstance(messages, list):
        return
    if len(messages) > budget.messages:
        raise budget.too_many_messages(str(len(messages)))
    parts = sum(
        len(value)
        for message in messages
        if isinstance(message, dict)
        for key in budget.part_keys
        if isinstance(value := message.get(key), list)
    )
    if parts > budget.parts:
        raise budget.too_many_parts()


def parse_counting(text: str, budget: Budget) -> dict[str, Any] | None:
    """``text`` parsed as ``json.loads`` parses it, its conversation counted as it goes (a 400 past the budget);
    None for anything but a well-formed object with keys (``json.loads`` then says what is wrong)."""
    left = [budget.parts]

    def part(text: str, at: int) -> tuple[Any, int]:
        left[0] -= 1
        if left[0] < 0:
            raise budget.too_many_parts()
        return _SCAN(text, at)

    def message(text: str, at: int) -> tuple[Any, int]:
        if text[at] != "{":
            return _SCAN(text, at)
        return _object(
            text,
            at,
            lambda name, text, at: _array(text, at, part) if name in budget.part_keys and text[at] == "[" else None,
        )

    def messages(text: str, at: int) -> tuple[Any, int]:
        return _array(text, at, message, budget.messages, budget.too_many_messages("more"))

    def within(keys: list[str]) -> Callable[[str, str, int], tuple[Any, int] | None]:
        """What parses the value of ``keys[0]`` in an object: the messages, or the object holding them."""

        def special(name: str, text: str, at: int) -> tuple[Any, int] | None:
            if name != keys[0]:
                return None
            if len(keys) == 1:
                return messages(text, at) if text[at] == "[" else None
            return _object(text, at, within(keys[1:])) if text[at] == "{" else None

        return special

    try:
        body, at = _object(text, _SPACE(text, 0).end(), within(budget.key.split(".")))
    except (StopIteration, IndexError, ValueError, RecursionError):
        return None
    return body if body and _SPACE(text, at).end() == len(text) else None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


_SCAN: Parse = JSONDecoder(parse_constant=_not_json).scan_once  # type: ignore[attr-defined]  # one value at a time
_SPACE = WHITESPACE.match


def _object(
    text: str, at: int, special: Callable[[str, str, int], tuple[Any, int] | None]
) -> tuple[dict[str, Any], int]:
    """The JSON object at ``text[at]``, each array or object value parsed by ``special(name, text, at)`` when it
    parses it (an array it counts), else whole; ``ValueError`` for what is not a well-formed object."""
    if text[at] != "{":
        raise ValueError("not an object")
    found: dict[str, Any] = {}
    at = _SPACE(text, at + 1).end()
    if text[at] == "}":
        return found, at + 1
    while True:
        if text[at] != '"':
            raise ValueError("not a key")
        name, at = _SCAN(text, at)
        at = _SPACE(text, at).end()
        if text[at] != ":":
            raise ValueError("no colon")
        at = _SPACE(text, at + 1).end()
        parsed = special(name, text, at) if text[at] in "[{" else None
        found[name], at = parsed if parsed is not None else _SCAN(text, at)
        at = _SPACE(text, at).end()
        if text[at] == "}":
            return found, at + 1
        if text[at] != ",":
            raise ValueError("not an object")
        at = _SPACE(text, at + 1).end()


def _array(
    text: str, at: int, each: Parse, most: int | None = None, refusal: RequestError | None = None
) -> tuple[list[Any], int]:
    """The JSON array at ``text[at]``, each value parsed by ``each``; ``refusal`` once it holds more than ``most``."""
    values: list[Any] = []
    at = _SPACE(text, at + 1).end()
    if text[at] == "]":
        return values, at + 1
    while True:
        if most is not None and len(values) == most and refusal is not None:
            raise refusal
        value, at = each(text, _SPACE(text, at).end())
        values.append(value)
        at = _SPACE(text, at).end()
        if text[at] == "]":
            return values, at + 1
        if text[at] != ",":
            raise ValueError("not an array")
        at += 1
