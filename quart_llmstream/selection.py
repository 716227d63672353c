"""Selection and normalisation: from LangChain's v2 events to the stream's own small vocabulary.

A v2 event is a dict with ``event``, ``name``, ``run_id``, ``parent_ids``, ``tags``, ``metadata`` and
``data``. Only some matter to a chat client; each becomes a :class:`StreamEvent` whose payload is plain
JSON data, ready for a wire format. Which kinds are sent is the ``events`` option: ``token`` (default),
``reasoning``, ``tool``, ``custom``, ``start`` and ``end``.

Tokens come only from ``on_chat_model_stream``: the enclosing chain's ``on_chain_stream`` carries the
same chunks again when a pipeline ends at a model, which is how hand-written loops send every token
twice. The text is ``AIMessageChunk.text``, which joins the text blocks of content-block chunks and is
empty for reasoning and tool-call chunks; empty text is never sent.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, NamedTuple

from langchain_core.messages import AIMessageChunk

from .errors import public_message
from .payloads import jsonable

__all__ = ["EVENT_KINDS", "TOKEN", "EventHook", "Selected", "Selection", "Selector", "StreamEvent"]

TOKEN = "token"
EVENT_KINDS = ("token", "reasoning", "tool", "custom", "start", "end")


class StreamEvent(NamedTuple):
    """One normalised event: its kind (``token``, ``tool_call``, ...) and a JSON-ready payload."""

    kind: str
    data: Any


Selected = tuple[StreamEvent, ...]
V2Event = Mapping[str, Any]
EventHook = Callable[[StreamEvent, V2Event], "StreamEvent | None"]
"""Sees each selected event with the v2 event it came from; returns it, a rewritten one, or None to drop it."""

_NOTHING: Selected = ()
_Handler = Callable[["Selection", V2Event], Selected]


class Selector:
    """What one blueprint selects: built once at registration, it makes a :class:`Selection` per request."""

    def __init__(
        self,
        events: Collection[str] = (TOKEN,),
        *,
        event_hook: EventHook | None = None,
        max_payload_chars: int = 8192,
        expose_errors: bool = False,
    ) -> None:
        self.events = frozenset(events)
        self.event_hook = event_hook
        self.max_payload_chars = max_payload_chars
        self.expose_errors = expose_errors
        chunk_kinds = self.events & {TOKEN, "reasoning", "tool"}
        handlers: dict[str, _Handler] = {}
        if chunk_kinds == {TOKEN}:
            handlers["on_chat_model_stream"] = Selection._token
        elif chunk_kinds:
            handlers["on_chat_model_stream"] = Selection._chunk
        if "end" in self.events:
            handlers["on_chat_model_end"] = Selection._model_end
        if "tool" in self.events:
            handlers |= {
                "on_tool_start": Selection._tool_start,
                "on_tool_end": Selection._tool_end,
                "on_tool_error": Selection._tool_error,
            }
        if "custom" in self.events:
            handlers["on_custom_event"] = Selection._custom
        self.handlers = handlers

    def narrowed(self, events: Collection[str]) -> Selector:
        """The same selector with fewer kinds of event (a client's choice, when allowed)."""
        return Selector(
            self.events & set(events),
            event_hook=self.event_hook,
            max_payload_chars=self.max_payload_chars,
            expose_errors=self.expose_errors,
        )

    def __call__(self, run_id: str) -> Selection:
        return Selection(self, run_id)


class Selection:
    """The selection state of one stream, fed every v2 event of its run.

    It keeps what the end of the stream reports: the whole text, the number of tokens sent, the
    token usage the models reported and the last model's finish reason, and it correlates the
    chunks of tool calls, which name the call only in their first chunk.
    """

    __slots__ = ("_hook", "_selector", "_text", "_tool_ids", "finish_reason", "run_id", "tokens", "usage")

    def __init__(self, selector: Selector, run_id: str) -> None:
        self._selector = selector
        self._hook = selector.event_hook
        self.run_id = run_id
        self._text: list[str] = []
        self._tool_ids: dict[tuple[str, int], str | None] = {}
        self.tokens = 0
        self.usage: dict[str, int] | None = None
        self.finish_reason: str | None = None

    def select(self, event: V2Event) -> Selected:
        """The stream events one v2 event stands for: none, one or several."""
        handler = self._selector.handlers.get(event["event"])
        if handler is None:
            return _NOTHING
        selected = handler(self, event)
        if self._hook is not None and selected:
            selected = tuple(out for item in selected if (out := self._hook(item, event)) is not None)
        for item in selected:
            if item.kind == TOKEN:
                self._text.append(item.data)
                self.tokens += 1
        return selected

    def start(self) -> Selected:
        """The stream events that open a stream, before the run's first event."""
        return (StreamEvent("start", {"run_id": self.run_id}),) if "start" in self._selector.events else _NOTHING

    def finish(self, status: str) -> Selected:
        """The stream events that close a stream ended by the server with ``status``
        (``completed``, ``error`` or ``timeout``), before the wire format's final frame."""
        if "end" not in self._selector.events:
            return _NOTHING
        reason = (self.finish_reason or "stop") if status == "completed" else status
        return (StreamEvent("end", {"finish_reason": reason, "usage": self.usage}),)

    @property
    def text(self) -> str:
        """The text of all tokens sent so far."""
        return "".join(self._text)

    # Handlers, one per kind of v2 event; the Selector picks those its options need.

    def _token(self, event: V2Event) -> Selected:
        text = event["data"]["chunk"].text
        return (StreamEvent(TOKEN, str(text)),) if text else _NOTHING

    def _chunk(self, event: V2Event) -> Selected:
        chunk: AIMessageChunk = event["data"]["chunk"]
        events = self._selector.events
        out: list[StreamEvent] = []
        if "reasoning" in events:
            out.extend(StreamEvent("reasoning", {"text": text}) for text in _reasoning(chunk) if text)
        if "tool" in events:
            for call in chunk.tool_call_chunks:
                out.extend(self._tool_call_chunk(event["run_id"], call))
        if TOKEN in events and (text := chunk.text):
            out.append(StreamEvent(TOKEN, str(text)))
        return tuple(out)

    def _tool_call_chunk(self, run_id: str, call: Mapping[str, Any]) -> list[StreamEvent]:
        index = call.get("index") or 0
        key = (run_id, index)
        out = []
        if key not in self._tool_ids:
            self._tool_ids[key] = call.get("id")
            out.append(StreamEvent("tool_call", {"index": index, "id": call.get("id"), "name": call.get("name") or ""}))
        if args := call.get("args"):
            out.append(StreamEvent("tool_args", {"index": index, "id": self._tool_ids[key], "delta": args}))
        return out

    def _model_end(self, event: V2Event) -> Selected:
        output = event["data"].get("output")
        usage = getattr(output, "usage_metadata", None)
        if usage:
            total = self.usage or {}
            for key in ("input_tokens", "output_tokens", "total_tokens"):
                total[key] = total.get(key, 0) + int(usage.get(key) or 0)
            self.usage = total
        if getattr(output, "tool_calls", None):
            self.finish_reason = "tool_calls"
        elif output is not None:
            metadata = getattr(output, "response_metadata", {}) or {}
            self.finish_reason = metadata.get("finish_reason") or metadata.get("stop_reason") or "stop"
        return _NOTHING

    def _tool_start(self, event: V2Event) -> Selected:
        data = {"run_id": event["run_id"], "name": event["name"], "input": self._payload(event["data"].get("input"))}
        return (StreamEvent("tool_start", data),)

    def _tool_end(self, event: V2Event) -> Selected:
        output = event["data"].get("output")
        data = {"run_id": event["run_id"], "name": event["name"], "output": self._payload(output)}
        if call_id := getattr(output, "tool_call_id", None):
            data["call_id"] = call_id
        return (StreamEvent("tool_end", data),)

    def _tool_error(self, event: V2Event) -> Selected:
        error = event["data"].get("error")
        message = public_message("tool_error", error, self._selector.expose_errors) if error else ""
        data = {"run_id": event["run_id"], "name": event["name"], "error": message}
        if call_id := event["data"].get("tool_call_id"):
            data["call_id"] = call_id
        return (StreamEvent("tool_error", data),)

    def _custom(self, event: V2Event) -> Selected:
        return (StreamEvent("custom", {"name": event["name"], "data": self._payload(event["data"])}),)

    def _payload(self, value: Any) -> Any:
        return jsonable(value, self._selector.max_payload_chars)


def _reasoning(chunk: AIMessageChunk) -> list[str]:
    """Reasoning text of a chunk, in the shapes providers send it."""
    texts = []
    if isinstance(chunk.content, list):
        for block in chunk.content:
            if isinstance(block, dict):
                if block.get("type") == "reasoning":
                    texts.append(block.get("reasoning") or "")
                    texts.extend(part.get("text") or "" for part in block.get("summary") or ())  # OpenAI Responses
                elif block.get("type") == "thinking":  # Anthropic
                    texts.append(block.get("thinking") or "")
    if reasoning := chunk.additional_kwargs.get("reasoning_content"):  # DeepSeek, Qwen, vLLM
        texts.append(str(reasoning))
    return texts
