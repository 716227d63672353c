"""Mapping: from LangChain's v2 events to the stream's typed events (:mod:`.events`). Only some matter to a
chat client; which kinds are kept is the ``events`` option: ``token`` (default), ``reasoning``, ``tool``,
``custom``, ``start`` and ``end``.

Tokens come only from ``on_chat_model_stream``: the enclosing chain's ``on_chain_stream`` carries the
same chunks again when a pipeline ends at a model, which is how hand-written loops send every token
twice. The text is ``AIMessageChunk.text``, which joins the text blocks of content-block chunks and is
empty for reasoning and tool-call chunks; empty text is never sent.

The mapping also marks where blocks of text and of reasoning begin and end (protocols such as the AI
SDK's and AG-UI open and close them), and feeds the stream's :class:`~.tally.Tally`; a LangGraph graph's
interrupts and state are read by the handlers of :mod:`.graphs`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessageChunk

from ...errors import public_message
from ...events import (
    Custom,
    Event,
    GraphChunk,
    MessagesSnapshot,
    ReasoningDelta,
    ReasoningEnd,
    ReasoningStart,
    RunStarted,
    StateChanged,
    StatePredicted,
    TextDelta,
    TextEnd,
    TextStart,
    ToolCallArgs,
    ToolCallDecided,
    ToolCallStarted,
    ToolEnded,
    ToolFailed,
    ToolStarted,
)
from ...lifecycle import Status
from ...payloads import jsonable, tool_result
from ..threads.state import ThreadState, is_interrupt
from .base import NOTHING, Events, Handler, V2Event
from .endings import Ending, final_events
from .graphs import INTERRUPT_HANDLERS, STATE_HANDLERS, custom_event, graph_chunk, predicting
from .hook import EventHook, hooked
from .reasoning import reasoning_texts
from .state import StateStream
from .tally import Tally
from .timing import TimedTally
from .timing import timed as timed_handlers

__all__ = ["EventHook", "Mapper", "StreamMapper"]
_OPENS = {TextDelta: TextStart, ReasoningDelta: ReasoningStart}
_CLOSES = {TextDelta: TextEnd, ReasoningDelta: ReasoningEnd}
_BESIDE_BLOCKS = frozenset({Custom, StateChanged, StatePredicted, GraphChunk})  # neither open nor close a block


class Mapper:
    """What one blueprint maps: built once at registration, it makes a :class:`StreamMapper` per stream."""

    def __init__(
        self,
        events: Collection[str] = ("token",),
        *,
        event_hook: EventHook | None = None,
        max_payload_chars: int = 8192,
        expose_errors: bool = False,
        predict_state: Sequence[Mapping[str, str]] = (),
        timed: bool = False,
    ) -> None:
        self.events = frozenset(events)
        self.tally: type[Tally] = TimedTally if timed else Tally
        """What each stream's end reports: with ``timed`` (metrics on), its timings too."""
        self.event_hook = event_hook
        self.max_payload_chars = max_payload_chars
        self.expose_errors = expose_errors
        self.predict_state = tuple(predict_state)
        chunk_kinds = self.events & {"token", "reasoning", "tool"}
        handlers: dict[str, Handler] = {"on_chat_model_end": StreamMapper._model_end, "on_graph_chunk": graph_chunk}
        if chunk_kinds == {"token"}:
            handlers["on_chat_model_stream"] = StreamMapper._token
        elif chunk_kinds:
            handlers["on_chat_model_stream"] = StreamMapper._chunk
        if "tool" in self.events:
            handlers |= {
                "on_tool_start": StreamMapper._tool_start,
                "on_tool_end": StreamMapper._tool_end,
                "on_tool_error": StreamMapper._tool_error,
            }
        else:  # which calls a tool answered, for the calls left to the client
            handlers |= dict.fromkeys(("on_tool_end", "on_tool_error"), StreamMapper._tool_answered)
        if "custom" in self.events:
            handlers["on_custom_event"] = custom_event
        self.handlers = handlers
        self.graph_handlers = handlers | INTERRUPT_HANDLERS
        """For a LangGraph graph: its root stream says what its steps wrote and when it pauses at an interrupt."""
        self.state_handlers = self.graph_handlers | STATE_HANDLERS
        """For a graph whose state streams (:mod:`.graphs`)."""
        if self.predict_state:
            self.state_handlers |= predicting(self.state_handlers)
        if timed:
            self.handlers, self.graph_handlers = timed_handlers(self.handlers), timed_handlers(self.graph_handlers)
            self.state_handlers = timed_handlers(self.state_handlers)

    def narrowed(self, events: Collection[str]) -> Mapper:
        """The same mapper with fewer kinds of event (a client's choice, when allowed)."""
        return Mapper(
            self.events & set(events),
            event_hook=self.event_hook,
            max_payload_chars=self.max_payload_chars,
            expose_errors=self.expose_errors,
            predict_state=self.predict_state,
            timed=self.tally is TimedTally,
        )

    def __call__(
        self,
        run_id: str,
        *,
        client_tools: Collection[str] = (),
        thread_id: str | None = None,
        opening: Events = (),
        graph: bool = False,
        state_keys: Collection[str] = (),
    ) -> StreamMapper:
        """The mapping of one stream: ``client_tools`` names the tools the request declared, ``thread_id`` the
        thread the run is on, ``opening`` are events the stream starts with (a resumed run's), ``graph`` says
        the runnable is a LangGraph graph, and ``state_keys`` the keys of its state that stream (none: no
        state)."""
        state = StateStream(state_keys, self.predict_state) if graph and state_keys else None
        handlers = self.state_handlers if state else self.graph_handlers if graph else self.handlers
        return StreamMapper(self, run_id, frozenset(client_tools), thread_id, opening, state, handlers)


class StreamMapper:
    """The mapping state of one stream, fed every v2 event of its run.

    It correlates the chunks of tool calls, which name the call only in their first chunk, and knows
    which block (text or reasoning) is open.
    """

    __slots__ = (
        *("_client_tools", "_handlers", "_hook", "_mapper", "_messages_end", "_open", "_opening", "_state_end"),
        *("_approved", "_thread_id", "_tool_ids", "expose_errors", "run_id", "state", "tally"),
    )

    def __init__(
        self,
        mapper: Mapper,
        run_id: str,
        client_tools: frozenset[str] = frozenset(),
        thread_id: str | None = None,
        opening: Events = (),
        state: StateStream | None = None,
        handlers: Mapping[str, Handler] | None = None,
    ) -> None:
        self._mapper = mapper
        self._client_tools, self._thread_id, self._opening = client_tools, thread_id, opening
        self._approved = {e.id for e in opening if isinstance(e, ToolCallDecided) and e.approved}
        self.state = state
        self._handlers = mapper.handlers if handlers is None else handlers
        self._state_end: Events = ()  # what the thread's state says at the end: its state, its messages
        self._messages_end: Events = ()
        self._hook = mapper.event_hook
        self.run_id = run_id
        self.tally = mapper.tally()
        self.expose_errors = mapper.expose_errors
        self._tool_ids: dict[tuple[str, int], str | None] = {}
        self._open: type[Event] | None = None  # TextDelta or ReasoningDelta while such a block is open

    def map(self, event: V2Event) -> Events:
        """The stream events one v2 event stands for: none, one or several."""
        handler = self._handlers.get(event["event"])
        if handler is None:
            return NOTHING
        mapped = handler(self, event)
        if self._hook is not None and mapped:
            mapped = hooked(self._hook, mapped, event)
        if len(mapped) == 1 and type(mapped[0]) is self._open:  # the open block goes on: the per-token case
            if self._open is TextDelta:
                self.tally.add_text(mapped[0].text)  # type: ignore[attr-defined]  # a TextDelta: `is` does not narrow
            return mapped
        return self._in_blocks(mapped) if mapped else NOTHING

    def start(self) -> Events:
        """The events that open a stream, before the run's first event."""
        return (RunStarted(self.run_id), *self._opening)

    def interrupted(self, thread: ThreadState | None) -> bool:
        """Whether the run ended at interrupts, as its thread's state after the run says (None: no thread to
        ask, so what the stream showed stands); the thread's state and messages go out with the end."""
        if thread is not None:
            self.tally.interrupts = thread.interrupts
            if self.state is not None:
                self._state_end = self.state.settle(thread.values)
                self._messages_end = (MessagesSnapshot(thread.messages),)
        return bool(self.tally.interrupts)

    def end(self, status: Status, error: str | None = None, message: str | None = None) -> Events:
        """The events that close a stream ended with ``status``: a closing boundary, what the run leaves
        waiting (:mod:`.endings`), then :class:`RunEnded`."""
        closing: Events = ((_CLOSES[self._open](),) if self._open is not None else ()) + self._state_end
        self._open = None
        ended = Ending(status, error, message)
        ending = final_events(self.tally, ended, self._client_tools, self._thread_id, self.payload, self.run_id)
        return (*closing, *ending[:-1], *self._messages_end, ending[-1])  # the thread's messages come last

    def _in_blocks(self, mapped: Events) -> Events:
        """``mapped`` with the boundaries of the blocks it opens and closes; text goes to the tally."""
        out: list[Event] = []
        for event in mapped:
            kind = type(event)
            if kind is TextDelta:
                self.tally.add_text(event.text)  # type: ignore[attr-defined]  # a TextDelta, as above
            if kind is not self._open and kind not in _BESIDE_BLOCKS:
                if self._open is not None:
                    out.append(_CLOSES[self._open]())
                    self._open = None
                if kind in _OPENS:
                    out.append(_OPENS[kind]())
                    self._open = kind
            out.append(event)
        return tuple(out)

    @property
    def events(self) -> frozenset[str]:
        return self._mapper.events

    # Handlers, one per kind of v2 event; the Mapper picks those its options need.

    def _token(self, event: V2Event) -> Events:
        text = event["data"]["chunk"].text
        return (TextDelta(str(text)),) if text else NOTHING

    def _chunk(self, event: V2Event) -> Events:
        chunk: AIMessageChunk = event["data"]["chunk"]
        events = self._mapper.events
        out: list[Event] = []
        if "reasoning" in events:
            out.extend(ReasoningDelta(text) for text in reasoning_texts(chunk) if text)
        if "tool" in events:
            for call in chunk.tool_call_chunks:
                out.extend(self._tool_call_chunk(event["run_id"], call))
        if "token" in events and (text := chunk.text):
            out.append(TextDelta(str(text)))
        return tuple(out)

    def _tool_call_chunk(self, run_id: str, call: Mapping[str, Any]) -> list[Event]:
        index = call.get("index") or 0
        key = (run_id, index)
        out: list[Event] = []
        if key not in self._tool_ids:
            self._tool_ids[key] = call.get("id")
            out.append(ToolCallStarted(index, call.get("id"), call.get("name") or ""))
        if args := call.get("args"):
            out.append(ToolCallArgs(index, self._tool_ids[key], args))
        return out

    def _model_end(self, event: V2Event) -> Events:
        self.tally.model_ended(event["data"].get("output"))
        return NOTHING

    def _tool_start(self, event: V2Event) -> Events:
        return (ToolStarted(event["run_id"], event["name"], self.payload(event["data"].get("input"))),)

    def _tool_end(self, event: V2Event) -> Events:
        output = tool_result(event["data"].get("output"))
        call_id = getattr(output, "tool_call_id", None) or None
        self.tally.tool_answered(call_id)
        return (ToolEnded(event["run_id"], event["name"], self.payload(output), call_id),)

    def _tool_error(self, event: V2Event) -> Events:
        error = event["data"].get("error")
        if is_interrupt(error):  # the graph pauses in the tool: no failure (it runs again when resumed)
            return NOTHING
        message = public_message("tool_error", error, self.expose_errors) if error else ""
        call_id = event["data"].get("tool_call_id") or None
        self.tally.tool_answered(call_id)
        return (ToolFailed(event["run_id"], event["name"], message, call_id),)

    def _tool_answered(self, event: V2Event) -> Events:
        data = event["data"]
        if not is_interrupt(data.get("error")):
            call_id = getattr(tool_result(data.get("output")), "tool_call_id", None) or data.get("tool_call_id")
            if call_id in self._approved:  # a person approved it: the client waits for its result, as for a call
                return self._tool_end(event) if "output" in data else self._tool_error(event)
            self.tally.tool_answered(call_id)
        return NOTHING

    def payload(self, value: Any) -> Any:
        return jsonable(value, self._mapper.max_payload_chars)
