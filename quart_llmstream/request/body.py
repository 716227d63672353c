"""The request's JSON body, read before any streaming starts, and held to what the run can keep and send back.

What a client sends goes further than the model: a checkpointer stores its messages, state, tool arguments
and decisions (msgpack), and the stream sends them back as JSON. A body that either would fail on — NaN or
Infinity (or a number that overflows to it), an integer beyond 64 bits, a lone UTF-16 surrogate, nesting
deeper than :data:`MAX_DEPTH`, a NUL character (PostgreSQL's text and JSON hold none: a thread's title, its
metadata, a checkpoint's metadata) — is refused here with a ``400`` naming where, rather than failing the run
after its stream has started.

A conversation larger than allowed is refused while the body is parsed (:mod:`.counted`), and a body of more
than :data:`MAX_VALUES` values before they are read.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from quart import Request
from werkzeug.exceptions import RequestEntityTooLarge

from ..errors import RequestError
from .counted import Budget, check_counts, parse_counting

__all__ = ["MAX_DEPTH", "parse_json_body", "read_json_bodies", "read_json_body"]

MAX_DEPTH = 64
"""How deep a body's arrays and objects may nest."""
MAX_VALUES = 1_000_000
"""How many values a body may hold in all (its arrays' items and its objects' members)."""
MAX_BATCH = 100
"""How many bodies a body of several (a batch of runs) may hold."""
_LOWEST, _HIGHEST = -(1 << 63), (1 << 64) - 1  # the integers msgpack holds
_INFINITE = (math.inf, -math.inf)
_BIG = 1 << 20  # bytes: a body past this is parsed a value at a time, its conversation counted as it is
_NUL = "a NUL character (U+0000) is not text PostgreSQL keeps"
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)  # a JSON string: one left open runs to the end
# (were the closing quote required, each escaped quote of a string left open would scan to the end again)
_SPACES = re.compile(r"\s+")


async def read_json_body(request: Request, budget: Budget | None = None) -> dict[str, Any]:
    """The request's JSON object body, or :class:`~.errors.RequestError` (415, 413 or 400); ``budget``: see
    :func:`parse_json_body`."""
    return parse_json_body(await _raw(request), budget)


async def read_json_bodies(request: Request, budget: Budget | None = None) -> list[dict[str, Any]]:
    """The request's body of several (a JSON array of objects, each held to ``budget``), or a refusal as
    :func:`read_json_body`'s."""
    bodies = _loads(await _raw(request), None)
    if not isinstance(bodies, list) or not all(isinstance(body, dict) for body in bodies):
        raise RequestError(400, "invalid_json", "the body must be a JSON array of objects")
    if len(bodies) > MAX_BATCH:  # each is a run: refused before any is looked at
        raise RequestError(400, "invalid_request", f"at most {MAX_BATCH} in one request, got {len(bodies)}")
    for body in bodies:
        _checked(body, budget)
    return bodies


async def _raw(request: Request) -> bytes | str:
    if not request.is_json:
        raise RequestError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)")
    try:
        return await request.get_data(cache=False)  # not kept: the parsed body is what the request needs
    except RequestEntityTooLarge:
        raise RequestError(413, "payload_too_large", f"the body is over {request.max_content_length} bytes") from None


def parse_json_body(raw: bytes | str, budget: Budget | None = None) -> dict[str, Any]:
    """``raw`` as a JSON object the run can keep, or a 400; ``budget`` is what its conversation may hold."""
    body = _loads(raw, budget)
    if not isinstance(body, dict):
        raise RequestError(400, "invalid_json", "the body must be a JSON object")
    return _checked(body, budget)


def _loads(raw: bytes | str, budget: Budget | None) -> Any:
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass") if isinstance(raw, bytes) else raw
        if len(text) > _BIG and _values(text) > MAX_VALUES:
            _refuse((), f"more than {MAX_VALUES} values in all")
        counted = parse_counting(text, budget) if budget is not None and len(text) > _BIG else None
        return counted or json.loads(text, parse_constant=_not_json)
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, a constant
        raise RequestError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise RequestError(400, "invalid_json", f"the body nests deeper than {MAX_DEPTH} levels") from None


def _values(text: str) -> int:
    """How many values a JSON text holds (its arrays' items, its objects' members), counted before it is parsed
    (15 MB of small values cost a second and hundreds of megabytes to build): the commas outside its strings and
    its arrays and objects that are not empty; at most that, when its text has too few commas to go over."""
    bound = text.count(",") + text.count("[") + text.count("{")
    if bound <= MAX_VALUES:
        return bound
    bare = _SPACES.sub("", _STRING.sub("", text))
    return bare.count(",") + bare.count("[") + bare.count("{") - bare.count("[]") - bare.count("{}")


def _checked(body: dict[str, Any], budget: Budget | None) -> dict[str, Any]:
    if budget is not None:
        check_counts(body, budget)
    _check(body)
    return body


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON number")


def _check(body: dict[str, Any]) -> None:
    """One walk over the parsed body, each value looked at in place (a path is made only for a refusal): a
    data URL of megabytes is one string, checked at C speed; a value costs about a tenth of a microsecond."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(body, 1, ())]
    values = 0
    while stack:
        container, depth, path = stack.pop()
        if depth > MAX_DEPTH:
            _refuse(path, f"nested deeper than {MAX_DEPTH} levels")
        values += len(container)
        if values > MAX_VALUES:
            _refuse((), f"more than {MAX_VALUES} values in all")
        items = container.items() if type(container) is dict else enumerate(container)
        for key, value in items:
            kind = type(value)
            if kind is str:
                if not value.isascii() and _not_utf8(value):
                    _refuse((*path, key), "a lone UTF-16 surrogate is not text")
                if "\x00" in value:
                    _refuse((*path, key), _NUL)
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
            if type(key) is str and "\x00" in key:
                _refuse(path, _NUL)


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
