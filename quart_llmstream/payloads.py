"""Payloads of named events as plain JSON data: any object becomes JSON, and none can crash a stream.

Tool inputs and outputs and custom events carry arbitrary objects (messages, documents, pydantic
models, a class of the user's). pydantic's own serialiser dumps what it knows; anything else becomes
its ``repr``. A payload whose JSON is longer than the configured cap is cut to a string preview.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import ToolMessage
from pydantic_core import to_jsonable_python

__all__ = ["jsonable", "to_json", "tool_result"]

# Compact, one line, ASCII only: a lone surrogate from a model becomes a \ud800 escape that
# JSON.parse restores, instead of a UnicodeEncodeError; CR, LF and U+2028 can never break a frame.
to_json = json.JSONEncoder(separators=(",", ":")).encode

_ELLIPSIS = "…[truncated]"


def jsonable(value: Any, max_chars: int) -> Any:
    """``value`` as JSON-ready data, at most about ``max_chars`` characters of JSON."""
    if isinstance(value, ToolMessage):  # a tool's result, as a model would see it
        value = value.content if value.artifact is None else {"content": value.content, "artifact": value.artifact}
    try:
        data = to_jsonable_python(value, fallback=_safe_repr, serialize_unknown=True, bytes_mode="base64")
        text = to_json(data)
    except Exception:  # a broken __repr__, a cycle, ...: never the stream's problem
        return f"<unserialisable {type(value).__name__}>"
    if len(text) <= max_chars:
        return data
    return text[:max_chars] + _ELLIPSIS


def tool_result(output: Any) -> Any:
    """What a tool answered: a LangGraph ``Command`` it returned (to update the graph's state) answers with
    the ``ToolMessage`` among its updates, not as the command itself."""
    update = getattr(output, "update", None) if type(output).__name__ == "Command" else None
    messages = update.get("messages") if isinstance(update, dict) else None
    return next((m for m in messages if isinstance(m, ToolMessage)), output) if isinstance(messages, list) else output


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:
        return f"<unserialisable {type(value).__name__}>"
