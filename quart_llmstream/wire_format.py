"""Wire formats: how stream events are written as SSE frames.

A wire format turns each :class:`~quart_llmstream.selection.StreamEvent`, an error and the end of the
stream into encoded frames. The streaming loop knows nothing of any format, so adding one (OpenAI,
Vercel AI SDK, AG-UI) means adding a class here, not another generator.
"""

from __future__ import annotations

from typing import Protocol

from .payloads import to_json
from .selection import TOKEN, StreamEvent
from .sse import encode_event

__all__ = ["NativeFormat", "WireFormat"]


class WireFormat(Protocol):
    """What the streaming loop needs of a format. Each method returns one or more whole frames."""

    def event(self, event: StreamEvent) -> bytes: ...

    def error(self, code: str, message: str) -> bytes: ...

    def done(self) -> bytes: ...


class NativeFormat:
    """The format of the hand-written pattern this library replaces, so existing clients keep working.

    Tokens are unnamed ``data: {"token": "..."}`` messages; an error is ``data: {"error": "...",
    "code": "..."}``; the last frame is ``data: [DONE]``. Every other kind of event goes out as a
    *named* event (``event: <kind>``), which a client that handles only unnamed messages ignores.
    """

    _DONE = encode_event("[DONE]")

    def event(self, event: StreamEvent) -> bytes:
        if event.kind == TOKEN:
            return encode_event(to_json({"token": event.data}))
        return encode_event(to_json(event.data), event=event.kind)

    def error(self, code: str, message: str) -> bytes:
        return encode_event(to_json({"error": message, "code": code}))

    def done(self) -> bytes:
        return self._DONE
