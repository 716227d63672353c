"""A client for tests of an app: it posts to a chat blueprint in the blueprint's protocol and returns a
:class:`~.wire.Reply`, through Quart's test client (``ChatClient(app)``), a server that runs elsewhere
(``ChatClient("http://...")``, with ``httpx``) or a real Hypercorn server on loopback it starts itself
(``async with ChatClient.serving(app) as chat``), which is how streaming, disconnects and timeouts are tested.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from quart import Quart

from .langgraph_wire import LangGraphWire
from .wire import AgUiWire, AiSdkWire, NativeWire, OpenAIWire, Reply, Wire

__all__ = ["WIRES", "ChatClient", "JSONReply", "parse_sse"]

WIRES: dict[str, Wire] = {
    "native": NativeWire(),
    "ai-sdk": AiSdkWire(),
    "ag-ui": AgUiWire(),
    "openai": OpenAIWire(),
    "langgraph": LangGraphWire(),
}
"""Each protocol as the client speaks it."""


@dataclass(frozen=True, slots=True)
class JSONReply:
    """The answer of one of the blueprint's JSON routes (its threads, feedback): its status, and its JSON (None
    when it has none: a ``204``)."""

    status_code: int
    json: Any


class ChatClient:
    """Posts to the chat route ``route`` of ``target`` (an app, or a base URL) in ``protocol``; ``headers`` go with
    every request (who the user is, for the app's ``stream_owner``). ``route`` is the blueprint's ``route``
    option (``/chat`` by default) under its prefix; for OpenAI's and LangGraph's protocols, whose routes are
    their own, the blueprint's prefix (none by default)."""

    def __init__(
        self,
        target: Quart | str,
        route: str | None = None,
        *,
        protocol: str = "native",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if protocol not in WIRES:
            raise ValueError(f"protocol: one of {', '.join(WIRES)}")
        route = (route if route is not None else WIRES[protocol].route).rstrip("/")  # "/lg/" is "/lg"
        self.target, self.route, self.protocol = target, route, protocol
        self.headers = dict(headers or {})
        self._wire = WIRES[protocol]

    @classmethod
    @asynccontextmanager
    async def serving(
        cls,
        app: Quart,
        route: str | None = None,
        *,
        protocol: str = "native",
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[ChatClient]:
        """A client of ``app`` served by Hypercorn on a free loopback port for the block."""
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        config = Config()
        config.bind, config.accesslog, config.graceful_timeout = [f"fd://{sock.detach()}"], None, 1.0
        stop = asyncio.Event()
        server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
        try:
            yield cls(f"http://127.0.0.1:{port}", route, protocol=protocol, headers=headers)
        finally:
            stop.set()
            await asyncio.wait_for(server, 10)

    async def send(self, question: str, *, thread_id: str | None = None, **body: Any) -> Reply:
        """Ask ``question`` (on ``thread_id``, when given); ``body`` adds fields of the protocol's body."""
        return await self.post(self._wire.ask(question, thread_id, body), thread_id)

    async def decide(self, reply: Reply, *, approve: bool = True, message: str | None = None) -> Reply:
        """Approve (or reject, with ``message`` for the model) every tool call ``reply`` waits on."""
        if not self._wire.decides:
            raise NotImplementedError(f"the {self.protocol} protocol cannot carry a decision")
        if not reply.approvals:
            raise ValueError("the reply waits on no approval")
        return await self.post(self._wire.decide(reply, approve, message), reply.thread_id)

    async def post(self, body: Mapping[str, Any], thread_id: str | None = None) -> Reply:
        """Post a body of the protocol's own and read the answer (a stream, or a refusal's JSON)."""
        headers = {**self.headers, **self._wire.headers(thread_id)}
        status, received, raw = await self._post(self._wire.path(self.route, thread_id), dict(body), headers)
        reply = Reply(status, thread_id=received.get("X-Thread-Id") or thread_id)
        if status != 200:  # a refusal's JSON (a route that is not there: the app's own page, as text)
            reply.error = _data(raw.decode(errors="replace")) if raw else None
            return reply
        reply.frames = [(event, _data(data)) for event, data in parse_sse(raw.decode())]
        self._wire.read(reply.frames, reply)
        return reply

    async def threads(self, *, limit: int | None = None, cursor: str | None = None) -> JSONReply:
        """The caller's threads, most recent first, a page at a time (``next_cursor`` is the next's ``cursor``)."""
        query = {key: str(value) for key, value in (("limit", limit), ("cursor", cursor)) if value is not None}
        return await self._json("GET", "", query=query)

    async def thread(self, thread_id: str) -> JSONReply:
        """A thread read back in the protocol's own shapes: its title, messages, state, interrupts, stream id."""
        return await self._json("GET", f"/{thread_id}")

    async def rename(self, thread_id: str, title: str) -> JSONReply:
        return await self._json("PATCH", f"/{thread_id}", {"title": title})

    async def delete(self, thread_id: str) -> JSONReply:
        """Delete a thread (a ``204``): a run on it is stopped first."""
        return await self._json("DELETE", f"/{thread_id}")

    async def rate(self, reply: Reply, score: float, comment: str | None = None) -> JSONReply:
        """Rate the answer ``reply`` holds (by its ``run_id``): 1 or 0 for thumbs, or a number in the app's range."""
        body = {"run_id": reply.run_id, "score": score} | ({"comment": comment} if comment is not None else {})
        return await self._json_reply("POST", f"{self.route}/feedback", body)

    async def _json(
        self, method: str, path: str, body: Any = None, query: Mapping[str, str] | None = None
    ) -> JSONReply:
        if not self._wire.has_thread_routes:
            raise NotImplementedError("LangGraph's threads are its server's API: use langgraph_sdk's get_client(url)")
        return await self._json_reply(
            method, f"{self.route}/threads{path}" + (f"?{urlencode(query)}" if query else ""), body
        )

    async def _json_reply(self, method: str, path: str, body: Any = None) -> JSONReply:
        status, _, raw = await self._request(method, path, body, self.headers)
        return JSONReply(status, _data(raw.decode()) if raw else None)

    async def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any, bytes]:
        return await self._request("POST", path, body, headers)

    async def _request(self, method: str, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any, bytes]:
        json_body = {} if body is None else {"json": body}
        if isinstance(self.target, str):
            import httpx

            async with httpx.AsyncClient(base_url=self.target, timeout=60) as client:
                response = await client.request(method, path, headers=headers, **json_body)
                return response.status_code, response.headers, response.content
        test_response = await self.target.test_client().open(path, method=method, headers=headers, **json_body)
        return test_response.status_code, test_response.headers, await test_response.get_data(as_text=False)


def parse_sse(text: str) -> list[tuple[str, str]]:
    """Server-Sent Events as ``(event, data)``: comments skipped, ``data`` lines joined, ``message`` when unnamed."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            events.append((name, "\n".join(data)))
    return events


def _data(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data  # [DONE]
