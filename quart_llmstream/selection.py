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

__all__ = ["Selected", "Selector", "StreamEvent", "TOKEN", "make_selector"]

TOKEN = "token"


class StreamEvent(NamedTuple):
    """One normalised event: its kind (``token``, ...) and a JSON-ready payload."""

    kind: str
    data: Any


Selected = tuple[StreamEvent, ...]
Selector = Callable[[Mapping[str, Any]], Selected]
"""Maps one v2 event to the stream events it stands for: none, one, or several."""

_NOTHING: Selected = ()


def _chat_model_token(event: Mapping[str, Any]) -> Selected:
    text = event["data"]["chunk"].text
    return (StreamEvent(TOKEN, str(text)),) if text else _NOTHING


def make_selector() -> Selector:
    """Build, once per blueprint, the function the per-event loop calls."""
    handlers: dict[str, Selector] = {
        "on_chat_model_stream": _chat_model_token,
    }

    def select(event: Mapping[str, Any]) -> Selected:
        handler = handlers.get(event["event"])
        return _NOTHING if handler is None else handler(event)

    return select
