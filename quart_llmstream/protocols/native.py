"""The native protocol: the format of the hand-written pattern this library replaces.

Request: ``{"question": str, "chat_history": [{"role", "content"} | [role, content], ...], "id"?: str}``
(``id`` names the stream, for resume).
Tokens are unnamed ``data: {"token": "..."}`` messages; an error is ``data: {"error": "...", "code":
"..."}``; the last frame is ``data: [DONE]``. Every other kind of event goes out as a *named* event
(``event: <kind>``), which a client that handles only unnamed messages ignores.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, cast

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, StrictStr, ValidationError, ValidationInfo, field_validator, model_validator
from werkzeug.datastructures import Headers

from ..chat_request import ChatRequest, describe_validation_error
from ..errors import RequestError
from ..events import BLOCK_BOUNDARIES, EVENT_TYPES, Event, RunEnded, RunStarted, TextDelta
from ..payloads import to_json
from ..settings import Settings
from ..sse import encode_event
from .base import Encoder, Protocol

__all__ = ["NativeProtocol"]

_MESSAGE_CLASSES: dict[str, type[BaseMessage]] = {
    "user": HumanMessage,
    "human": HumanMessage,
    "assistant": AIMessage,
    "ai": AIMessage,
    "system": SystemMessage,
}
_DONE = encode_event("[DONE]")


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
    id: StrictStr | None = None  # the stream's id, for resume

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


def _settings(info: ValidationInfo) -> Settings:
    return cast(Settings, cast(dict[str, Any], info.context)["settings"])


class NativeProtocol(Protocol):
    name = "native"

    def read(self, body: dict[str, Any], headers: Headers, settings: Settings) -> ChatRequest:
        try:
            parsed = _ChatBody.model_validate(body, context={"settings": settings})
        except ValidationError as exc:
            raise RequestError(400, "invalid_request", describe_validation_error(exc)) from None
        history = [_MESSAGE_CLASSES[item.role](content=item.content) for item in parsed.chat_history]
        ids = {"stream_id": parsed.id} if parsed.id is not None else {}
        return ChatRequest(parsed.question, history, body, headers, ids)

    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        return NativeEncoder(events)


class NativeEncoder(Encoder):
    def __init__(self, events: frozenset[str]) -> None:
        self._start, self._end = "start" in events, "end" in events
        self.encoders = _NAMED.copy()
        self.encoders[RunStarted] = self._run_started
        self.encoders[RunEnded] = self._run_ended

    def _run_started(self, event: RunStarted) -> bytes:
        return _named(event) if self._start else b""

    def _run_ended(self, event: RunEnded) -> bytes:
        frames = encode_event(to_json({"error": event.message, "code": event.error})) if event.error else b""
        if self._end:
            frames += _named(event)
        return frames + _DONE


def _token(event: TextDelta) -> bytes:
    return encode_event(to_json({"token": event.text}))


def _named(event: Event) -> bytes:
    return encode_event(to_json(event.data), event=event.kind)


def _nothing(event: Event) -> bytes:
    return b""


_NAMED: dict[type[Event], Any] = dict.fromkeys(EVENT_TYPES, _named) | dict.fromkeys(BLOCK_BOUNDARIES, _nothing)
_NAMED[TextDelta] = _token
