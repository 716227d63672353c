"""Server-Sent Events encoding, by the rules of the WHATWG HTML standard.

The rules are kept here: LF line ends, one ``data: `` line per line of the payload, a blank line after every
event, and fields that can never inject a line. Frames are made by :func:`encode_event` and
:func:`encode_comment`, and an id put on a frame by :func:`with_id`; two per-token paths write the same bytes
inline, each where it says so (the resumable stream's id, ``response.py``; the OpenAI encoder's chunks, whose JSON
holds no line break).
"""

from __future__ import annotations

import re

__all__ = ["OPEN", "PING", "encode_comment", "encode_event", "event_number", "with_id"]

# The standard's line breaks: CRLF, CR and LF, and nothing else (not str.splitlines()).
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def encode_event(
    data: str,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """One complete event, ending with a blank line.

    ``event`` and ``id`` values that would inject a line are refused with ``ValueError``
    rather than silently changed: they come from code, not from the model.
    """
    head = ""
    if event is not None:
        _check_field("event", event)
        head += f"event: {event}\n"
    if id is not None:
        _check_field("id", id)
        if "\0" in id:
            raise ValueError("an SSE id must not contain NUL")
        head += f"id: {id}\n"
    if retry is not None:
        if type(retry) is not int or retry < 0:
            raise ValueError(f"SSE retry must be a non-negative int of milliseconds, not {retry!r}")
        head += f"retry: {retry}\n"
    if "\n" in data or "\r" in data:
        data = "\ndata: ".join(_LINE_BREAK.split(data))
    return _utf8(f"{head}data: {data}\n\n")


def encode_comment(text: str = "") -> bytes:
    """Comment lines with no blank line after them: a keep-alive that dispatches nothing in any parser.

    Under the standard a comment block followed by a blank line dispatches nothing either, but some
    widely used clients (``@microsoft/fetch-event-source``; the OpenAI SDK once it saw an ``id``) turn
    every blank line into an empty message. A comment line between two events joins the next event's
    lines, harmlessly.
    """
    lines = _LINE_BREAK.split(text)
    return _utf8("".join(f": {line}\n" if line else ":\n" for line in lines))


def _check_field(name: str, value: str) -> None:
    if "\n" in value or "\r" in value:
        raise ValueError(f"an SSE {name} must not contain CR or LF: {value!r}")


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # A lone surrogate has no UTF-8 form: send U+FFFD, as a browser would show it.
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


def event_number(value: str) -> int | None:
    """A ``Last-Event-ID`` as the event number it names (this server's ids are 0, 1, 2...), or None for one that is
    not (a number of more than 18 digits included: no stream has as many events)."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


OPEN = encode_comment("stream open")
"""A stream's first bytes, sent at once: they flush the headers through proxies."""
PING = encode_comment("ping")
"""The heartbeat after ``heartbeat`` seconds of silence."""


def with_id(frame: bytes, id: bytes) -> bytes:
    """``frame`` (one or more events) with ``id`` on its last event, which a client that had it resumes after.

    ``id`` comes from code (numbers, run ids): it is not checked as :func:`encode_event` checks one."""
    return b"%sid: %s\n\n" % (frame[:-1], id)
