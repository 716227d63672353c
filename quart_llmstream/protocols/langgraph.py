"""LangGraph's server protocol: what ``useStream``, Agent Chat UI and LangGraph's SDKs speak.

The blueprint is one assistant (its id and graph id: the blueprint's name). A run
(``POST /threads/{thread_id}/runs/stream``, or stateless ``/runs/stream``) streams the graph's own stream modes
as LangGraph's server frames them: ``event: metadata`` ``{run_id, attempt}`` first, then an event per chunk named
by its mode (``mode|namespace`` for a subgraph's), and ``event: error`` ``{error, message}`` when the run fails;
``/runs/wait`` answers the run's last values instead. Refusals are LangGraph's ``{"detail": ...}``. Its other routes
(the server's and the assistant's, with its graph and schemas: :mod:`.langgraph_assistant`; threads with their state
and history: :mod:`.langgraph_api`; the graph's store: :mod:`.langgraph_store`) are beside.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from quart import Response, jsonify, request
from werkzeug.datastructures import Headers

from ..errors import RequestError
from ..logs import LogReader
from ..payloads import to_json
from ..request import ChatRequest
from ..settings import Settings
from .base import Encoder, Protocol
from .langgraph_api import thread_routes
from .langgraph_assistant import assistant_routes, graph_routes
from .langgraph_body import read_run
from .langgraph_encoder import LangGraphEncoder
from .langgraph_runs import run_routes
from .langgraph_store import store_routes
from .langgraph_thread_stream import thread_stream_route
from .response import RunHandle, read_to_end
from .threads import ThreadAccess

__all__ = ["LangGraphEncoder", "LangGraphProtocol"]


class LangGraphProtocol(Protocol):
    name = "langgraph"
    source = "graph"
    conversation = ("input.messages", 1)

    def read(
        self, body: dict[str, Any], headers: Headers, settings: Settings, path: Mapping[str, str] | None = None
    ) -> ChatRequest:
        return read_run(body, headers, settings, dict(path or {}))

    def waits_apart(self, chat_request: ChatRequest) -> bool:
        return True  # a pending run, whether its response is the run itself (runs.create) or follows it

    def encoder(self, stream_id: str, events: frozenset[str], ids: Mapping[str, str]) -> Encoder:
        kind, thread_id, assistant_id = ids.get("kind", "stream"), ids.get("thread_id"), ids.get("assistant_id")
        return LangGraphEncoder(stream_id, kind, thread_id, assistant_id, ids)

    def routes(self, name: str, settings: Settings) -> list[tuple[str, str, Callable[..., Any] | None]]:
        runs: list[tuple[str, str, Callable[..., Any] | None]] = [
            ("/threads/<thread_id>/runs/<any(stream, wait):kind>", "POST", None),
            ("/threads/<thread_id>/runs", "POST", None),
            ("/runs/<any(stream, wait):kind>", "POST", None),
            ("/runs", "POST", None),  # stateless, in the background: nobody follows it
        ]
        return runs + list(assistant_routes(name))

    serves_thread_routes = False  # LangGraph's own, in its shapes
    serves_resume_routes = False  # a run is joined and cancelled as one of its thread's

    def feedback_route(self, settings: Settings) -> str:
        return "/feedback"  # beside /threads and /runs

    def thread_api(
        self, threads: ThreadAccess, name: str, settings: Settings
    ) -> list[tuple[str, str, Callable[..., Any]]]:
        return (
            thread_routes(threads, name)
            + graph_routes(threads, name)
            + run_routes(threads, name, self.respond, settings)
            + [thread_stream_route(threads, settings)]
            + store_routes(threads, name)
        )

    async def respond(
        self,
        reader: LogReader,
        encoder: Encoder,
        run: RunHandle,
        settings: Settings,
        after: int | None = None,
        closed: Callable[[], None] | None = None,
    ) -> Response:
        """The run's frames (``/runs/stream``), its last values once it ends (``/runs/wait``), or the run itself
        at once (``/runs``: it goes on in the background, to be joined); ``Content-Location`` names the run, where
        the SDKs read its id."""
        assert isinstance(encoder, LangGraphEncoder)
        if encoder.kind == "wait":
            response = await self._wait(reader, encoder, run)
        elif encoder.kind == "create":
            reader.close()  # nobody reads it now: the run does not wait for this response
            response = Response(to_json(encoder.run_json("pending")), content_type="application/json")
        else:
            response = await super().respond(reader, encoder, run, settings, after, closed)
        response.headers["Content-Location"] = f"{request.path.rpartition('/runs')[0]}/runs/{encoder.run_id}"
        return response

    @staticmethod
    async def _wait(reader: LogReader, encoder: LangGraphEncoder, run: RunHandle) -> Response:
        await read_to_end(reader, encoder.encode, run)
        if encoder.failure is not None:
            return jsonify({"__error__": encoder.failure})
        return Response(to_json(encoder.last_values or {}), content_type="application/json")

    owns_prefix = True  # LangGraph's server: every path under it answers in its JSON
    batch_route = "/runs/batch"  # stateless runs in the background

    def error_response(self, exc: RequestError) -> Response:
        if exc.error == "invalid_json":  # a body that is not a JSON object: LangGraph's 422, as its schemas' failures
            exc = RequestError(422, exc.error, exc.detail)
        return super().error_response(exc)

    def error_body(self, exc: RequestError) -> dict[str, Any]:
        return {"detail": exc.detail}
