"""The validated chat request: read from the HTTP request before any streaming starts.

Every way a body can be wrong ends here as a :class:`RequestError`, which the view turns into a 4xx
JSON answer ``{"error": <code>, "detail": <what is wrong>}``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, StrictStr, ValidationError, ValidationInfo, field_validator, model_validator
from quart import Request
from werkzeug.datastructures import Headers
from werkzeug.exceptions import RequestEntityTooLarge

from .settings import Settings

__all__ = ["ChatRequest", "RequestError", "read_chat_request"]

_MESSAGE_CLASSES: dict[str, type[BaseMessage]] = {
    "user": HumanMessage,
    "human": HumanMessage,
    "assistant": AIMessage,
    "ai": AIMessage,
    "system": SystemMessage,
}


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What the runnable factory sees: the validated question and history, the raw body, the headers."""

    question: str
    chat_history: list[BaseMessage]
    body: dict[str, Any]
    headers: Headers

    def runnable_input(self) -> dict[str, Any]:
        """The input the runnable receives."""
        return {"question": self.question, "chat_history": self.chat_history}


class RequestError(Exception):
    """A request refused before streaming: its status, a stable error code and a readable detail."""

    def __init__(self, status: int, error: str, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.retry_after = retry_after


class _HistoryItem(BaseModel):
    role: Literal["user", "assistant", "system", "human", "ai"]
    content: StrictStr

    @model_validator(mode="before")
    @classmethod
    def _accept_pairs(cls, value: Any) -> Any:
        if isinstance(value, list):
            if len(value) != 2:
                raise ValueError("a history pair must be [role, content]")
            return {"role": value[0], "content": value[1]}
        return value


class _ChatBody(BaseModel):
    question: StrictStr
    chat_history: list[_HistoryItem] = []

    @field_validator("question")
    @classmethod
    def _question_fits(cls, value: str, info: ValidationInfo) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        limit = _settings(info).max_question_chars
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters, got {len(value)}")
        return value

    @field_validator("chat_history", mode="before")
    @classmethod
    def _history_fits(cls, value: Any, info: ValidationInfo) -> Any:
        limit = _settings(info).max_history
        if isinstance(value, list) and len(value) > limit:
            raise ValueError(f"must hold at most {limit} messages, got {len(value)}")
        return value


async def read_chat_request(request: Request, settings: Settings) -> ChatRequest:
    """Read and validate the body of a chat request, or raise :class:`RequestError`."""
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
    try:
        parsed = _ChatBody.model_validate(body, context={"settings": settings})
    except ValidationError as exc:
        raise RequestError(400, "invalid_request", _describe(exc)) from None
    history = [_MESSAGE_CLASSES[item.role](content=item.content) for item in parsed.chat_history]
    return ChatRequest(parsed.question, history, body, Headers(request.headers))


def _settings(info: ValidationInfo) -> Settings:
    return cast(Settings, cast(dict[str, Any], info.context)["settings"])


def _describe(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors())
