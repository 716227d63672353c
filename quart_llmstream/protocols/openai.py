"""The OpenAI Chat Completions API: any OpenAI client (the SDKs, Open WebUI, LiteLLM, ``ChatOpenAI``) can
talk to the runnable by pointing its base URL at the blueprint's ``url_prefix``.

Routes: ``POST /chat/completions`` (the request is read by :mod:`.openai_messages`) and ``GET /models``.
``stream: true`` gets ``chat.completion.chunk`` frames (the answer's text, and reasoning as
``delta.reasoning_content``), ``delta.tool_calls`` for calls of the tools the client declared that the run
left to it (the runnable's own tool calls are never sent: a client would try to run them), a chunk with the
``finish_reason``, the usage chunk when ``stream_options.include_usage`` is set, and ``data: [DONE]``; a
failure mid-stream sends ``data: {"error": {...}}``, and so does a run that stops at an interrupt (code
``interrupted``: the API cannot ask a person). Otherwise the run goes to its end and one
``chat.completion`` comes back. Fields the runnable cannot honour (``temperature``, ``max_tokens``, ...) are
ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from quart import Response, jsonify
from werkzeug.datastructures import Headers

from .. import events
from ..errors import RequestError
from ..logs import LogReader
from ..payloads import to_json
from ..request import ChatRequest
from ..settings import Settings
from .base import Encoder, Protocol
from .openai_messages import read_completion_request, to_openai
from .response import RunHandle, read_to_end
from .sse import encode_event

__all__ = ["OpenAIProtocol"]

_DONE = encode_event("[DONE]")
_FINISH_REASONS = {"length": "length", "content_filter": "content_filter"}  # anything else ends as "stop"
_ERROR_STATUSES = {"timeout": 504, "interrupted": 409}  # of a whole answer that failed; anything else: 500


class OpenAIProtocol(Protocol):
    name = "openai"

    def read(
        self, body: dict[str, Any], headers: Headers, settings: Settings, path: Mapping[str, str] | None = None
    ) -> ChatRequest:
        return read_completion_request(body, headers, settings)

    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        return OpenAIEncoder(stream_id, ids.get("model", ""), ids.get("stream"))

    def answer_ids(self, stream_id: str, ids: Mapping[str, str]) -> tuple[str, ...]:
        return (f"chatcmpl-{stream_id}",)  # the completion's ``id``

    def routes(self, name: str, settings: Settings) -> list[tuple[str, str, Callable[..., Any] | None]]:
        model_ids = list(settings.models or (name,))

        async def models() -> Response:
            listed = [{"id": model, "object": "model", "created": 0, "owned_by": name} for model in model_ids]
            return jsonify(object="list", data=listed)

        return [("/chat/completions", "POST", None), ("/models", "GET", models)]

    resumable = False  # its clients treat any id line as a chunk boundary, and never reconnect

    def threads_route(self, settings: Settings) -> str:
        return "/threads"  # beside /chat/completions and /models

    def thread_messages(self, messages: list[dict[str, Any]], interrupts: list[dict[str, Any]]) -> list[Any]:
        """Chat messages as ``messages`` takes them (each with the thread's ``id``, so a continuation adds none
        twice)."""
        return to_openai(messages)

    async def respond(
        self,
        reader: LogReader,
        encoder: Encoder,
        run: RunHandle,
        settings: Settings,
        after: int | None = None,
        closed: Callable[[], None] | None = None,
    ) -> Response:
        assert isinstance(encoder, OpenAIEncoder)
        if encoder.streaming:
            return await super().respond(reader, encoder, run, settings, closed=closed)
        await read_to_end(reader, encoder.encode, run)  # the whole answer, then one JSON object
        status, completion = encoder.completion()
        response = jsonify(completion)
        response.status_code = status
        if status == _ERROR_STATUSES["interrupted"]:  # the SDKs retry a 409: the same turn again decides nothing
            response.headers["x-should-retry"] = "false"
        return response

    def error_body(self, exc: RequestError) -> dict[str, Any]:
        error_type = "invalid_request_error" if exc.status < 500 else "server_error"  # the client's, or the server's
        return {"error": {"message": exc.detail, "type": error_type, "param": None, "code": exc.error}}


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
        self._calls: list[dict[str, Any]] = []  # calls of tools the client declared, for it to run
        self._ended: events.RunEnded | None = None
        if not self.streaming:  # the whole answer, kept for one chat.completion
            self.writers = self._keeping

    def opening(self) -> bytes:
        return self._chunk('"role":"assistant","content":""') if self.streaming else b""

    def _chunk(self, delta: str, finish_reason: str = "null") -> bytes:
        return f'{self._head}{delta}}},"finish_reason":{finish_reason}}}]}}\n\n'.encode()

    def on_text_delta(self, event: events.TextDelta) -> bytes:
        return self._chunk('"content":' + to_json(event.text))

    def on_reasoning_delta(self, event: events.ReasoningDelta) -> bytes:
        return self._chunk('"reasoning_content":' + to_json(event.text))

    def _keep_text(self, event: events.TextDelta) -> bytes:
        self._text.append(event.text)
        return b""

    def _keep_reasoning(self, event: events.ReasoningDelta) -> bytes:
        self._reasoning.append(event.text)
        return b""

    _keeping: ClassVar[dict[type[events.Event], Callable[[Any, Any], bytes]]]  # below: its writers, keeping text

    def on_tool_call_pending(self, event: events.ToolCallPending) -> bytes:
        """A call of a tool the client declared (the agent's own calls stay hidden: the client would run them)."""
        if not event.declared:
            return b""
        function = {"name": event.name, "arguments": to_json(event.args)}
        call = {"id": event.id, "type": "function", "function": function}
        self._calls.append(call)
        if not self.streaming:
            return b""
        return self._chunk('"tool_calls":' + to_json([{"index": len(self._calls) - 1, **call}]))

    def on_interrupted(self, event: events.Interrupted) -> bytes:
        """Chat Completions has no way to ask a person: an error the SDKs raise (``APIError``, ``interrupted``)."""
        self._ended = events.RunEnded.failed("interrupted")
        return encode_event(to_json(_error(self._ended))) if self.streaming else b""

    def _finish_reason(self, event: events.RunEnded) -> str:
        return "tool_calls" if self._calls else _FINISH_REASONS.get(event.finish_reason, "stop")

    def on_run_ended(self, event: events.RunEnded) -> bytes:
        if self._ended is not None:  # interrupted: its error went out
            return _DONE if self.streaming else b""
        self._ended = event
        if not self.streaming:
            return b""
        if event.error:
            return encode_event(to_json(_error(event))) + _DONE
        frames = self._chunk("", to_json(self._finish_reason(event)))
        if self._usage_chunk:
            usage = {"id": self._id, "object": "chat.completion.chunk", "created": self._created, "model": self._model}
            frames += encode_event(to_json(usage | {"choices": [], "usage": _usage(event)}))
        return frames + _DONE

    def completion(self) -> tuple[int, dict[str, Any]]:
        """The status and body of the non-streaming answer, once the run ended."""
        event = self._ended
        assert event is not None
        if event.error:
            return _ERROR_STATUSES.get(event.error, 500), _error(event)
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._text)}
        if self._reasoning:
            message["reasoning_content"] = "".join(self._reasoning)
        if self._calls:
            message |= {"content": message["content"] or None, "tool_calls": self._calls}
        choice = {"index": 0, "message": message, "finish_reason": self._finish_reason(event)}
        return 200, {
            "id": self._id,
            "object": "chat.completion",
            "created": self._created,
            "model": self._model,
            "choices": [choice | {"logprobs": None}],
            "usage": _usage(event),
        }


OpenAIEncoder._keeping = OpenAIEncoder.writers | {
    events.TextDelta: OpenAIEncoder._keep_text,
    events.ReasoningDelta: OpenAIEncoder._keep_reasoning,
}


def _usage(event: events.RunEnded) -> dict[str, int]:
    usage = event.usage or {}
    prompt, completion = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": usage.get("total_tokens", 0)}


def _error(event: events.RunEnded) -> dict[str, Any]:
    return {"error": {"message": event.message, "type": "server_error", "param": None, "code": event.error}}
