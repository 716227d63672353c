"""A Server-Sent Events parser written from the WHATWG HTML standard, as a browser reads a stream."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass
class Event:
    data: str
    event: str = "message"
    id: str = ""


@dataclass
class ParsedStream:
    events: list[Event] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    retry: int | None = None
    incomplete: str = ""  # text after the last blank line: a half event a client would discard

    @property
    def messages(self) -> list[str]:
        """The data of unnamed events, as ``EventSource.onmessage`` sees them."""
        return [e.data for e in self.events if e.event == "message"]


def parse(body: bytes) -> ParsedStream:
    text = body.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    result = ParsedStream()
    lines = _LINE_BREAK.split(text)
    # The last piece has no line end yet: it is not a line, so it is not processed.
    *complete, result.incomplete = lines
    data: list[str] = []
    event_type, last_id = "", ""
    pending_lines = 0
    for line in complete:
        if line == "":
            if data:
                result.events.append(Event("\n".join(data), event_type or "message", last_id))
            data, event_type, pending_lines = [], "", 0
            continue
        pending_lines += 1
        if line.startswith(":"):
            result.comments.append(line[1:].removeprefix(" "))
            continue
        name, colon, value = line.partition(":")
        if colon:
            value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        elif name == "event":
            event_type = value
        elif name == "id" and "\0" not in value:
            last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            result.retry = int(value)
    if pending_lines:
        result.incomplete = "\n".join(complete[-pending_lines:]) + result.incomplete
    return result
