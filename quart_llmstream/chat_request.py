"""The chat request the runnable factory sees, and reading a JSON body before any streaming starts.

Each protocol validates its own body shape (:mod:`.protocols`); what they share is here: the
:class:`ChatRequest` they produce, the JSON body reader, and how a validation error reads. Every way a
body can be wrong ends as a :class:`~.errors.RequestError`, which the view turns into a 4xx JSON answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import ValidationError
from quart import Request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge

from .errors import RequestError
from .settings import Settings

__all__ = ["ChatRequest", "describe_validation_error", "from_messages", "read_json_body"]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What the runnable factory sees: the validated question and history, the raw body, the headers.

    ``ids`` holds the protocol's own identifiers (the AI SDK's chat ``id``, AG-UI's ``threadId`` and
    ``runId``, ...), empty for the native protocol.
    """

    question: str
    chat_history: list[BaseMessage]
    body: dict[str, Any]
    headers: Headers
    ids: Mapping[str, str] = field(default_factory=dict)

    def runnable_input(self) -> dict[str, Any]:
        """The input the runnable receives."""
        return {"question": self.question, "chat_history": self.chat_history}


async def read_json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body, or :class:`RequestError` (415, 413 or 400)."""
    if not request.is_json:
        raise RequestError(415, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)")
    try:
        raw = await request.get_data()
    except RequestEntityTooLarge:
        raise RequestError(413, "payload_too_large", f"the body is over {request.max_content_length} bytes") from None
    try:
        body = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise RequestError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise RequestError(400, "invalid_request", "the body must be a JSON object")
    return body


def from_messages(
    messages: list[BaseMessage], body: dict[str, Any], headers: Headers, settings: Settings, ids: Mapping[str, str]
) -> ChatRequest:
    """The chat request of a protocol that sends the whole conversation: the last message, a user's, is
    the question; the ones before it are the history. Limits are those of the native body."""
    if not messages or not isinstance(messages[-1], HumanMessage):
        raise RequestError(400, "invalid_request", "messages: the last message must be the user's question")
    question = messages[-1].text
    if not question.strip():
        raise RequestError(400, "invalid_request", "messages: the last user message has no text")
    if len(question) > settings.max_question_chars:
        detail = f"the question must be at most {settings.max_question_chars} characters, got {len(question)}"
        raise RequestError(400, "invalid_request", detail)
    history = messages[:-1]
    if len(history) > settings.max_history:
        detail = f"messages: at most {settings.max_history} before the question, got {len(history)}"
        raise RequestError(400, "invalid_request", detail)
    return ChatRequest(question, history, body, headers, ids)


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic error as one readable line: ``field.path: message; ...``."""
    return "; ".join(f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors())
