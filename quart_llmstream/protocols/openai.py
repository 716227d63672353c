"""The OpenAI Chat Completions API: any OpenAI client (the SDKs, Open WebUI, LiteLLM, ``ChatOpenAI``) can
talk to the runnable by pointing its base URL at the blueprint's ``url_prefix``.

Routes: ``POST /chat/completions`` and ``GET /models``. The last user message is the question, the
messages before it the history. ``stream: true`` gets ``chat.completion.chunk`` frames (the answer's text,
and reasoning as ``delta.reasoning_content``; the runnable's own tool calls are not sent as
``tool_calls``, which a client would try to run), a chunk with the ``finish_reason``, the usage chunk
when ``stream_options.include_usage`` is set, and ``data: [DONE]``; a failure mid-stream sends
``data: {"error": {...}}``. Otherwise the run goes to its end and one ``chat.completion`` comes back.
Fields the runnable cannot honour (``temperature``, ``max_tokens``, ``tools``, ...) are ignored.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, StrictBool, StrictStr, ValidationError
from quart import Response, jsonify
from werkzeug.datastructures import Headers

from ..chat_request import ChatRequest, describe_validation_error, from_messages
from ..errors import RequestError
from ..events import EVENT_TYPES, Event, ReasoningDelta, RunEnded, TextDelta
from ..logs import LogReader
from ..payloads import to_json
from ..response import Follower
from ..run import Run
from ..settings import Settings
from ..sse import encode_event
from .base import Encoder, Protocol

__all__ = ["OpenAIProtocol"]

_DONE = encode_event("[DONE]")
_FINISH_REASONS = {"length": "length", "content_filter": "content_filter"}  # anything else ends as "stop"
_ERROR_TYPES = {400: "invalid_request_error", 404: "invalid_request_error", 413: "invalid_request_error"}


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: StrictStr | None = None


class _StreamOptions(BaseModel):
    include_usage: StrictBool = False


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: StrictStr
    messages: list[_Message]
    stream: StrictBool | None = False
    stream_options: _StreamOptions | None = None


class OpenAIProtocol(Protocol):
    name = "openai"

    def read(self, body: dict[str, Any], headers: Headers, settings: Settings) -> ChatRequest:
        try:
            parsed = _Body.model_validate(body)
        except ValidationError as exc:
            raise RequestError(400, "invalid_request", describe_validation_error(exc)) from None
        if settings.models is not None and parsed.model not in settings.models:
            raise RequestError(404, "model_not_found", f"The model '{parsed.model}' does not exist")
        messages = [_to_message(index, message) for index, message in enumerate(parsed.messages)]
        ids = {"model": parsed.model}
        if parsed.stream:
            ids["stream"] = "usage" if parsed.stream_options and parsed.stream_options.include_usage else "yes"
        return from_messages(messages, body, headers, settings, ids)

    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        return OpenAIEncoder(stream_id, ids.get("model", ""), ids.get("stream"))

    def routes(self, name: str, settings: Settings) -> list[tuple[str, str, Callable[..., Any] | None]]:
        model_ids = list(settings.models or (name,))

        async def models() -> Response:
            listed = [{"id": model, "object": "model", "created": 0, "owned_by": name} for model in model_ids]
            return jsonify(object="list", data=listed)

        return [("/chat/completions", "POST", None), ("/models", "GET", models)]

    resumable = False  # its clients treat any id line as a chunk boundary, and never reconnect

    async def respond(
        self, reader: LogReader, encoder: Encoder, run: Run | Follower, settings: Settings, after: int | None = None
    ) -> Response:
        assert isinstance(encoder, OpenAIEncoder)
        if encoder.streaming:
            return await super().respond(reader, encoder, run, settings)
        try:  # the whole answer, then one JSON object; a client that leaves is a disconnect as in a stream
            while not reader.ended:
                for _, event in await reader.read():
                    encoder.encode(event)
        except asyncio.CancelledError:
            reader.close()
            await run.client_left()
            raise
        status, completion = encoder.completion()
        response = jsonify(completion)
        response.status_code = status
        return response

    def error_body(self, exc: RequestError) -> dict[str, Any]:
        error_type = _ERROR_TYPES.get(exc.status, "server_error")
        return {"error": {"message": exc.detail, "type": error_type, "param": None, "code": exc.error}}


def _to_message(index: int, message: _Message) -> BaseMessage:
    content = message.content
    if isinstance(content, list):
        others = sorted({str(part.get("type")) for part in content if part.get("type") != "text"})
        if others:
            detail = f"messages.{index}.content: only text parts are supported, not {', '.join(others)}"
            raise RequestError(400, "invalid_request", detail)
        content = "".join(str(part.get("text") or "") for part in content)
    text = content or ""
    if message.role == "user":
        return HumanMessage(text)
    if message.role in ("system", "developer"):
        return SystemMessage(text)
    if message.role == "tool":
        return ToolMessage(text, tool_call_id=message.tool_call_id or "")
    calls = [_tool_call(index, call) for call in message.tool_calls or ()]
    return AIMessage(text, tool_calls=calls)


def _tool_call(index: int, call: Mapping[str, Any]) -> dict[str, Any]:
    function = call.get("function") or {}
    try:
        args = json.loads(function.get("arguments") or "{}")
    except (TypeError, ValueError):
        raise RequestError(400, "invalid_request", f"messages.{index}.tool_calls: arguments must be JSON") from None
    return {
        "name": str(function.get("name") or ""),
        "args": args if isinstance(args, dict) else {},
        "id": call.get("id"),
    }


def _nothing(event: Event) -> bytes:
    return b""


class OpenAIEncoder(Encoder):
    """Streams ``chat.completion.chunk`` frames, or, when the client did not ask for a stream, keeps the
    answer for one ``chat.completion``. Every chunk shares its head, made once per response."""

    def __init__(self, stream_id: str, model: str, stream: str | None) -> None:
        self.streaming = stream is not None
        self._usage_chunk = stream == "usage"
        self._id, self._model, self._created = f"chatcmpl-{stream_id}", model, int(time.time())
        head = to_json({"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": model})
        self._head = "data: " + head[:-1] + ',"choices":[{"index":0,"delta":{'
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._ended: RunEnded | None = None
        self.encoders = dict.fromkeys(EVENT_TYPES, _nothing)
        if self.streaming:
            self.encoders |= {TextDelta: self._text_chunk, ReasoningDelta: self._reasoning_chunk}
        else:
            self.encoders |= {TextDelta: self._keep_text, ReasoningDelta: self._keep_reasoning}
        self.encoders[RunEnded] = self._run_ended

    def opening(self) -> bytes:
        return self._chunk('"role":"assistant","content":""') if self.streaming else b""

    def _chunk(self, delta: str, finish_reason: str = "null") -> bytes:
        return f'{self._head}{delta}}},"finish_reason":{finish_reason}}}]}}\n\n'.encode()

    def _text_chunk(self, event: TextDelta) -> bytes:
        return self._chunk('"content":' + to_json(event.text))

    def _reasoning_chunk(self, event: ReasoningDelta) -> bytes:
        return self._chunk('"reasoning_content":' + to_json(event.text))

    def _keep_text(self, event: TextDelta) -> bytes:
        self._text.append(event.text)
        return b""

    def _keep_reasoning(self, event: ReasoningDelta) -> bytes:
        self._reasoning.append(event.text)
        return b""

    def _run_ended(self, event: RunEnded) -> bytes:
        self._ended = event
        if not self.streaming:
            return b""
        if event.error:
            return encode_event(to_json(_error(event))) + _DONE
        frames = self._chunk("", to_json(_FINISH_REASONS.get(event.finish_reason, "stop")))
        if self._usage_chunk:
            usage = {"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model}
            frames += encode_event(to_json(usage | {"choices": [], "usage": _usage(event)}))
        return frames + _DONE

    def completion(self) -> tuple[int, dict[str, Any]]:
        """The status and body of the non-streaming answer, once the run ended."""
        event = self._ended
        assert event is not None
        if event.error:
            return (504 if event.error == "timeout" else 500), _error(event)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._text)}
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        choice = {"index": 0, "message": message, "finish_reason": _FINISH_REASONS.get(event.finish_reason, "stop")}
        return 200, {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created,
            "model": self._model,
            "choices": [choice | {"logprobs": None}],
            "usage": _usage(event),
        }


def _usage(event: RunEnded) -> dict[str, int]:
    usage = event.usage or {}
    prompt, completion = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": usage.get("total_tokens", 0)}


def _error(event: RunEnded) -> dict[str, Any]:
    return {"error": {"message": event.message, "type": "server_error", "param": None, "code": event.error}}
