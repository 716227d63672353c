"""What a protocol is: how its request body becomes a :class:`ChatRequest`, and how events become its frames.

A protocol owns its request model, its response headers, and a per-stream encoder opened for each
response (a stateful one numbers messages and opens and closes blocks). The run, the log and the response
know nothing of any protocol, so adding one means adding a module here and a line in ``PROTOCOLS``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from quart import Response, jsonify
from werkzeug.datastructures import Headers

from ..errors import RequestError
from ..events import EVENT_TYPES, Event
from ..logs import LogReader
from ..request import ChatRequest
from ..request.counted import Budget
from ..settings import Settings
from .response import RunHandle, event_stream, sse_response
from .threads import ThreadAccess, ThreadView

__all__ = ["SSE_HEADERS", "Encoder", "Protocol"]

SSE_HEADERS: Mapping[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",  # stops nginx buffering the stream
}


def _method(kind: type[Event]) -> str:
    """``on_text_delta`` for :class:`~..events.TextDelta`."""
    return "on_" + re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()


_METHODS = {kind: _method(kind) for kind in EVENT_TYPES}


class Encoder:
    """The frames of one response. ``encode`` returns whole encoded frames, or ``b""`` for none.

    An encoder writes each event type with its method named after it (``on_text_delta`` writes a
    :class:`~..events.TextDelta`), or with :meth:`otherwise` when it has none; ``writers`` maps each event type
    to its writer, made once per encoder class, so the per-event path is one lookup and a response makes none.
    :class:`~..events.RunEnded` writes the protocol's error frame (when the run failed) and its final frame.
    """

    writers: dict[type[Event], Callable[[Any, Any], bytes]]  # each class's (below); an instance may have its own

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        otherwise = cls.otherwise
        cls.writers = {kind: getattr(cls, method, otherwise) for kind, method in _METHODS.items()}

    def otherwise(self, event: Event) -> bytes:
        """What writes an event this encoder has no method for: nothing."""
        return b""

    def opening(self) -> bytes:
        """Frames sent before the first event; none by default."""
        return b""

    def encode(self, event: Event) -> bytes:
        return self.writers[type(event)](self, event)


class Protocol(ABC):
    name: ClassVar[str]
    headers: ClassVar[Mapping[str, str]] = SSE_HEADERS

    @abstractmethod
    def read(
        self, body: dict[str, Any], headers: Headers, settings: Settings, path: Mapping[str, str] | None = None
    ) -> ChatRequest:
        """The chat request of a JSON body (and of ``path``: the route's parameters, for a protocol whose routes
        name things, LangGraph's thread, and ``blueprint``, the blueprint's name: LangGraph's one assistant), or
        :class:`~quart_llmstream.errors.RequestError`."""

    source: ClassVar[str | None] = None
    """The event source its runs need, when not the ``event_source`` option's (LangGraph's stream modes: what it
    takes of a request is in :attr:`~..request.RunOptions.source`)."""

    def answer_ids(self, stream_id: str, ids: Mapping[str, str]) -> tuple[str, ...]:
        """The ids its client knows a run's answer by, besides the run's id, to rate it with: none by default."""
        return ()

    def waits_apart(self, chat_request: ChatRequest) -> bool:
        """A run of ``chat_request`` that waits its turn on a thread (``enqueue``) waits apart from its request, as a
        run of its own (LangGraph's: listed as ``pending``, joined, cancelled by id or by a run that interrupts), its
        response following its stream; False by default: it waits in its request."""
        return False

    @abstractmethod
    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        """A fresh encoder for one response of stream ``stream_id``: ``events`` are the kinds selected,
        ``ids`` the protocol's own ids from the request (:attr:`ChatRequest.ids`)."""

    def routes(self, name: str, settings: Settings) -> list[tuple[str, str, Callable[..., Any] | None]]:
        """The routes of blueprint ``name``: (rule, method, view); a view of None is the chat view."""
        return [(settings.route, "POST", None)]

    batch_route: ClassVar[str | None] = None
    """Where its clients start several runs in one request (a JSON array of bodies, each run in the background:
    LangGraph's ``/runs/batch``), answered with each run's answer; none by default."""

    owns_prefix: ClassVar[bool] = False
    """Its blueprint's URL prefix is an API of its own (LangGraph's server): a path under it that no route serves
    is refused in the protocol's JSON (:mod:`.unserved`)."""

    conversation: ClassVar[tuple[str, int]] = ("messages", 1)
    """The body's list of messages, and how many it may hold beyond ``max_history`` (the last one)."""
    parts: ClassVar[tuple[str, ...]] = ("content", "tool_calls")
    """The keys of a message that hold its parts (content parts, tool calls), ``max_parts`` of them in all."""

    def budget(self, settings: Settings) -> Budget:
        """What a body's conversation may hold, counted while the body is parsed, before any message is read."""
        key, last = self.conversation
        return Budget(key, settings.max_history + last, self.parts, settings.max_parts)

    resumable: ClassVar[bool] = True
    """Its clients can reconnect with ``Last-Event-ID``: frames may carry SSE ids."""
    replays_finished: ClassVar[bool] = True
    """A resume that names no ``Last-Event-ID`` replays a finished stream (else: ``204``)."""
    serves_resume_routes: ClassVar[bool] = True
    """Its streams are resumed and cancelled at ``<route>/<stream id>/stream`` and ``/cancel``; False: by routes
    of its own (LangGraph's runs)."""

    async def respond(
        self,
        reader: LogReader,
        encoder: Encoder,
        run: RunHandle,
        settings: Settings,
        after: int | None = None,
        closed: Callable[[], None] | None = None,
    ) -> Response:
        """The response that follows ``run`` through ``reader``: an event stream (see :func:`event_stream`)."""
        frames = event_stream(
            reader,
            encoder.encode,
            encoder.opening(),
            settings,
            left=run.client_left,
            drop=run.drop,
            after=after,
            closed=closed,
        )
        return sse_response(frames, self.headers)

    serves_thread_routes: ClassVar[bool] = True
    """Its threads are served at :meth:`threads_route` in the shapes below; False: it has its own
    (:meth:`thread_api`)."""

    def thread_api(
        self, threads: ThreadAccess, name: str, settings: Settings
    ) -> list[tuple[str, str, Callable[..., Any]]]:
        """The routes of a thread API of the protocol's own (LangGraph's server's); none by default."""
        return []

    def threads_route(self, settings: Settings) -> str:
        """Where the blueprint's threads are: ``<route>/threads``."""
        return f"{settings.route}/threads"

    def feedback_route(self, settings: Settings) -> str:
        """Where ratings of its answers go: beside the threads (``<route>/feedback``)."""
        return self.threads_route(settings).removesuffix("/threads") + "/feedback"

    connects: ClassVar[bool] = False
    """Its clients connect to a thread (``POST <route>/connect``): the thread as it is, then its live run."""

    def connect_ids(self, body: dict[str, Any]) -> Mapping[str, str]:
        """The ids of a connect request's body (``thread_id`` among them), or a ``400``."""
        raise NotImplementedError

    def thread_body(self, thread: ThreadView) -> dict[str, Any]:
        """A thread read back (``GET <route>/threads/<id>``), its messages and interrupts in the shapes this
        protocol's client takes back (:meth:`thread_messages`, :meth:`thread_interrupts`)."""
        return {
            "thread_id": thread.thread_id,
            "title": thread.title,
            "messages": self.thread_messages(thread.messages, thread.interrupts),
            "state": thread.state,
            "interrupts": self.thread_interrupts(thread.interrupts),
            "stream_id": thread.stream_id,
        }

    def thread_messages(self, messages: list[dict[str, Any]], interrupts: list[dict[str, Any]]) -> list[Any]:
        """A thread's messages as this protocol's client sends them again; by default the plain ones
        (``{id, role, content, tool_calls?, tool_call_id?, attachments?}``)."""
        return messages

    def thread_interrupts(self, interrupts: list[dict[str, Any]]) -> list[Any]:
        """What waits for a decision, as this protocol's streams carry it; by default as described."""
        return interrupts

    def error_response(self, exc: RequestError) -> Response:
        """A refusal before streaming: the status, the protocol's JSON body, and ``Retry-After`` when set."""
        response = jsonify(self.error_body(exc))
        response.status_code = exc.status
        if exc.retry_after is not None:
            response.headers["Retry-After"] = str(exc.retry_after)
        if exc.allow:
            response.headers["Allow"] = ", ".join(exc.allow)
        return response

    def error_body(self, exc: RequestError) -> dict[str, Any]:
        """The JSON of a refusal before streaming."""
        return {"error": exc.error, "detail": exc.detail}
