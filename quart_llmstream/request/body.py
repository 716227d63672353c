"""The request's JSON body, read before any streaming starts, and held to what the run can keep and send back.

What a client sends goes further than the model: a checkpointer stores its messages, state, tool arguments
and decisions (msgpack), and the stream sends them back as JSON. A body that either would fail on — NaN or
Infinity (or a number that overflows to it), an integer beyond 64 bits, a lone UTF-16 surrogate, nesting
deeper than :data:`MAX_DEPTH` — is refused here with a ``400`` naming where, rather than failing the run
after its stream has started.

A conversation longer than allowed is refused while the body is parsed: a big body's top-level object is
parsed a value at a time, and its list of messages only as far as the first message past the limit, so a
15 MB body of 300,000 small messages costs a look at 101 of them, not 300,000 built (and freed) for nothing.
"""

from __future__ import annotations

import json
import math
from json.decoder import WHITESPACE, JSONDecoder  # type: ignore[attr-defined]  # WHITESPACE is not typed
from typing import Any

from quart import Request
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import RequestError

__all__ = ["MAX_DEPTH", "parse_json_body", "read_json_body"]

MAX_DEPTH = 64
"""How deep a body's arrays and objects may nest."""
_LOWEST, _HIGHEST = -(1 << 63), (1 << 64) - 1  # the integers msgpack holds
_INFINITE = (math.inf, -math.inf)
_BIG = 1 << 20  # bytes: a body past this is parsed a value at a time, its messages counted as they are


async def read_json_body(request: Request, counted: tuple[str, int] | None = None) -> dict[str, Any]:
    """The request's JSON object body, or :class:`~.errors.RequestError` (415, 413 or 400); ``counted``: see
    :func:`parse_json_body`."""
    if not request.is_json:
        raise RequestError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)")
    try:
        raw = await request.get_data(cache=False)  # not kept: the parsed body is what the request needs
    except RequestEntityTooLarge:
        raise RequestError(413, "payload_too_large", f"the body is over {request.max_content_length} bytes") from None
    return parse_json_body(raw, counted)


def parse_json_body(raw: bytes | str, counted: tuple[str, int] | None = None) -> dict[str, Any]:
    """``raw`` as a JSON object the run can keep, or a 400; ``counted`` names the body's list of messages and
    how many it may hold."""
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass") if isinstance(raw, bytes) else raw
        body = (_counting(text, *counted) if counted and len(text) > _BIG else None) or json.loads(
            text, parse_constant=_not_json
        )
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a constant
        raise RequestError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestError(400, "invalid_json", f"the body nests deeper than {MAX_DEPTH} levels") from None
    if not isinstance(body, dict):
        raise RequestError(400, "invalid_request", "the body must be a JSON object")
    if counted is not None:
        key, most = counted
        if isinstance(found := body.get(key), list) and len(found) > most:
            raise RequestError(400, "invalid_request", f"{key}: at most {most} messages, got {len(found)}")
    _check(body)
    return body


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


_SCAN = JSONDecoder(parse_constant=_not_json).scan_once  # type: ignore[attr-defined] # the C scanner json.loads uses: one value at a time
_SPACE = WHITESPACE.match


def _counting(text: str, key: str, most: int) -> dict[str, Any] | None:
    """``text`` parsed as ``json.loads`` parses it, a top-level value at a time, and the list under ``key`` a
    message at a time, refused (400) at the first past ``most``; None for anything but a well-formed object
    (``json.loads`` then says what is wrong)."""
    body: dict[str, Any] = {}
    try:
        at = _SPACE(text, 0).end()
        if text[at] != "{":
            return None
        at = _SPACE(text, at + 1).end()
        while text[at] == '"':
            name, at = _SCAN(text, at)
            at = _SPACE(text, at).end()
            if text[at] != ":":
                return None
            at = _SPACE(text, at + 1).end()
            if name == key and text[at] == "[":
                body[name], at = _list(text, at, f"{key}: at most {most} messages, got more", most)
            else:
                body[name], at = _SCAN(text, at)
            at = _SPACE(text, at).end()
            if text[at] == "}":
                return body if _SPACE(text, at + 1).end() == len(text) else None
            if text[at] != ",":
                return None
            at = _SPACE(text, at + 1).end()
    except (StopIteration, IndexError, ValueError, RecursionError):
        return None
    return None


def _list(text: str, at: int, refusal: str, most: int) -> tuple[list[Any], int]:
    """The JSON array at ``text[at]``, or :class:`RequestError` once it holds more than ``most`` values."""
    values: list[Any] = []
    at = _SPACE(text, at + 1).end()
    if text[at] == "]":
        return values, at + 1
    while True:
        if len(values) == most:
            raise RequestError(400, "invalid_request", refusal)
        value, at = _SCAN(text, _SPACE(text, at).end())
        values.append(value)
        at = _SPACE(text, at).end()
        if text[at] == "]":
            return values, at + 1
        if text[at] != ",":
            raise ValueError("not an array")
        at += 1


def _check(body: dict[str, Any]) -> None:
    """One walk over the parsed body, each value looked at in place (a path is made only for a refusal): a
    data URL of megabytes is one string, checked at C speed; a value costs about a tenth of a microsecond."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(body, 1, ())]
    while stack:
        container, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            _refuse(path, f"nested deeper than {MAX_DEPTH} levels")
        items = container.items() if type(container) is dict else enumerate(container)
        for key, value in items:
            kind = type(value)
            if kind is str:
                if not value.isascii() and _not_utf8(value):
                    _refuse((*path, key), "a lone UTF-16 surrogate is not text")
            elif kind is int:
                if not _LOWEST <= value <= _HIGHEST:
                    _refuse((*path, key), "an integer beyond 64 bits")
            elif kind is float:
                if value in _INFINITE:
                    _refuse((*path, key), "a number beyond a double's range")
            elif kind is dict or kind is list:
                stack.append((value, depth + 1, (*path, key)))
            if type(key) is str and not key.isascii() and _not_utf8(key):
                _refuse(path, "a lone UTF-16 surrogate is not text")


def _not_utf8(text: str) -> bool:
    """``text`` holds a lone surrogate (four times as fast as a regular expression's search)."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _refuse(path: tuple[str | int, ...], why: str) -> None:
    where = ".".join(map(str, path)) or "the body"
    raise RequestError(400, "invalid_request", f"{where}: {why}")
