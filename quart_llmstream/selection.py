"""Selection and normalisation: from LangChain's v2 events to the stream's own small vocabulary.

A v2 event is a dict with ``event``, ``name``, ``run_id``, ``tags``, ``metadata`` and ``data``. Only
some kinds of event matter to a chat client, and each becomes a :class:`StreamEvent` whose payload is
plain data, ready for a wire format.

Tokens come only from ``on_chat_model_stream``: the enclosing chain's ``on_chain_stream`` carries the
same chunks again when a pipeline ends at a model, which is how hand-written loops send every token
twice. The text is ``AIMessageChunk.text``, which joins the text blocks of content-block chunks and is
empty for reasoning and tool-call chunks; empty text is never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = ["Selected", "Selection", "StreamEvent", "TOKEN"]

TOKEN = "token"


class StreamEvent(NamedTuple):
    """One normalised event: its kind (``token``, ...) and a JSON-ready payload."""

    kind: str
    data: Any


Selected = tuple[StreamEvent, ...]
_NOTHING: Selected = ()


class Selection:
    """The selection state of one stream: built per request, fed every v2 event of its run.

    It also keeps what the end of the stream reports: the whole text, the number of tokens sent and
    the token usage the models reported.
    """

    __slots__ = ("_handlers", "_text", "tokens", "usage")

    def __init__(self) -> None:
        self._text: list[str] = []
        self.tokens = 0
        self.usage: dict[str, int] | None = None
        self._handlers: dict[str, Callable[[Mapping[str, Any]], Selected]] = {
            "on_chat_model_stream": self._chat_model_stream,
        }

    def select(self, event: Mapping[str, Any]) -> Selected:
        """The stream events one v2 event stands for: none, one or several."""
        handler = self._handlers.get(event["event"])
        return _NOTHING if handler is None else handler(event)

    def finish(self, status: str) -> Selected:
        """The stream events that close a stream ended by the server with ``status``
        (``completed``, ``error`` or ``timeout``), before the wire format's final frame."""
        return _NOTHING

    @property
    def text(self) -> str:
        """The text of all tokens selected so far."""
        return "".join(self._text)

    def _chat_model_stream(self, event: Mapping[str, Any]) -> Selected:
        text = event["data"]["chunk"].text
        if not text:
            return _NOTHING
        text = str(text)
        self._text.append(text)
        self.tokens += 1
        return (StreamEvent(TOKEN, text),)
