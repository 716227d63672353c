"""A load generator light enough not to be the bottleneck: raw asyncio streams, no HTTP library."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Wire:
    """How a protocol asks (its body, to which the plan is added) and how its token and last frames look."""

    body: dict[str, object]
    token: bytes
    done: bytes
    path: str = "/chat"


WIRES = {
    "native": Wire({"question": "q"}, b'data: {"token"', b"data: [DONE]"),
    "ai-sdk": Wire(
        {"id": "b", "messages": [{"id": "u", "role": "user", "parts": [{"type": "text", "text": "q"}]}]},
        b'{"type":"text-delta"',
        b"data: [DONE]",
    ),
    "ag-ui": Wire(
        {"threadId": "t", "runId": "r", "messages": [{"id": "u", "role": "user", "content": "q"}]},
        b'{"type":"TEXT_MESSAGE_CONTENT"',
        b'{"type":"RUN_FINISHED"',
    ),
    "openai": Wire(
        {"model": "m", "messages": [{"role": "user", "content": "q"}], "stream": True},
        b'"delta":{"content":',
        b"data: [DONE]",
        "/chat/completions",
    ),
    "langgraph": Wire(  # a stateless run; its stream ends with the response (the chunked body's last chunk)
        {"input": {"messages": [{"role": "user", "content": "q"}]}, "stream_mode": ["messages-tuple"]},
        b'"type":"AIMessageChunk"',
        b"\r\n0\r\n\r\n",
        "/runs/stream",
    ),
}


@dataclass
class StreamRun:
    arrivals: list[float] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0
    body_bytes: int = 0

    @property
    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.arrivals, self.arrivals[1:], strict=False)]


async def stream(
    port: int,
    tokens: int,
    delay: float,
    *,
    leave_after: int | None = None,
    run: StreamRun | None = None,
    wire: Wire = WIRES["native"],
    **extra: object,
) -> StreamRun:
    """POST one chat request and read its stream, noting when each token frame arrives (in ``run``,
    which the caller may watch while the stream goes on)."""
    body = json.dumps({**wire.body, "tokens": tokens, "delay": delay, **extra}).encode()
    head = (
        f"POST {wire.path} HTTP/1.1\r\nHost: bench\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return await _read(port, head.encode() + body, run or StreamRun(), wire, leave_after)


async def follow(port: int, path: str, wire: Wire = WIRES["native"]) -> StreamRun:
    """``GET path`` (a resume from the start) and read the stream to its end."""
    return await _read(port, f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode(), StreamRun(), wire, None)


async def _read(port: int, request: bytes, run: StreamRun, wire: Wire, leave_after: int | None) -> StreamRun:
    run.started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    token, done = wire.token, wire.done
    headers_done, tail = False, b""
    try:
        while chunk := await reader.read(65536):
            now = time.monotonic()
            if not headers_done:
                split = chunk.find(b"\r\n\r\n")
                if split < 0:
                    continue
                chunk, headers_done = chunk[split + 4 :], True
            run.body_bytes += len(chunk)
            window = tail + chunk
            run.arrivals.extend([now] * (window.count(token) - tail.count(token)))
            if done in window:
                break
            tail = window[-48:]
            if leave_after is not None and len(run.arrivals) >= leave_after:
                break
    finally:
        run.ended = time.monotonic()
        writer.transport.abort()  # leave at once, as a closed browser tab does
    return run


async def streams(
    port: int, count: int, tokens: int, delay: float, spread: float = 0.0, wire: Wire = WIRES["native"]
) -> list[StreamRun]:
    """``count`` concurrent streams, their starts spread evenly over ``spread`` seconds (as real
    clients arrive) rather than all in the same millisecond."""

    async def later(index: int) -> StreamRun:
        await asyncio.sleep(spread * index / count)
        return await stream(port, tokens, delay, wire=wire)

    return await asyncio.gather(*(later(i) for i in range(count)))


async def post_empty(port: int, path: str) -> int:
    """``POST path`` with no body; the response's status."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
    status = int((await reader.readline()).split()[1])
    writer.close()
    return status


async def get_json(port: int, path: str) -> object:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        size, _, rest = body.partition(b"\r\n")
        body = rest[: int(size, 16)]
    return json.loads(body)


async def first_resumed_frame(port: int, path: str, last_event_id: str, token: bytes = WIRES["native"].token) -> float:
    """``GET path`` with ``Last-Event-ID``: seconds from sending the request to the first token frame."""
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: bench\r\nLast-Event-ID: {last_event_id}\r\n\r\n".encode())
    seen = b""
    try:
        while chunk := await reader.read(65536):
            seen += chunk
            if token in seen:
                return time.monotonic() - started
        raise RuntimeError(f"no token frame in {seen[:300]!r}")
    finally:
        writer.transport.abort()
