"""Scenario (x): a 15 MB body of some 300,000 messages, far past ``max_history``, refused: what a refusal costs.

Each protocol's app through a real server, its process pinned to one CPU: the server's CPU per refused request
(reading the body, parsing it, counting its messages), against a target of 0.5 s — the conversation is counted
as soon as the body is parsed, before any message is read, so the cost is the parse's, not 300,000 messages
built and thrown away.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bench.load import WIRES
from bench.processes import cpu_seconds, server

SIZE = 15_000_000
APPS = {"native": "default", "ai-sdk": "ai-sdk", "ag-ui": "ag-ui", "openai": "openai"}
ONE = {
    "native": {"role": "user", "content": "x" * 21},
    "ai-sdk": {"id": "u", "role": "user", "parts": [{"type": "text", "text": ""}]},
    "ag-ui": {"id": "u", "role": "user", "content": "x" * 10},
    "openai": {"role": "user", "content": "x" * 21},
}


def big_body(protocol: str) -> tuple[bytes, int]:
    """About 15 MB of short messages in the protocol's own shape (300,000 of about 50 bytes; fewer of the AI
    SDK's, whose smallest message is 59), and how many."""
    one = ONE[protocol]
    count = SIZE // (len(json.dumps(one, separators=(",", ":"))) + 1)
    if protocol == "native":
        body: dict[str, Any] = {"question": "q", "chat_history": [one] * count}
    elif protocol == "ai-sdk":
        body = {"id": "c", "messages": [one] * count}
    elif protocol == "ag-ui":
        body = {"threadId": "t", "runId": "r", "messages": [one] * count}
    else:
        body = {"model": "m", "messages": [one] * count}
    return json.dumps(body, separators=(",", ":")).encode(), count


async def _post(port: int, path: str, body: bytes) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    await reader.read()
    writer.close()
    return status


async def refusal_costs(requests: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for protocol, app in APPS.items():
        (body, count), path = big_body(protocol), WIRES[protocol].path
        with server(app) as (pid, port):
            await _post(port, path, body)  # warm up
            before = cpu_seconds(pid)
            statuses = [await _post(port, path, body) for _ in range(requests)]
            results[protocol] = {
                "mb": len(body) / 1e6,
                "messages": count,
                "cpu_s": (cpu_seconds(pid) - before) / requests,
                "statuses": sorted(set(statuses)),
            }
    return results
