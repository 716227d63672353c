"""A loopback OpenAI-compatible server: ``POST /v1/chat/completions`` with ``stream: true``.

It streams chat.completion.chunk objects at a pace, answers a weather question with one tool call,
and records when a client's stream is closed before its end.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from quart import Quart, Response, request


class FakeOpenAI:
    def __init__(self, tokens: list[str], delay: float = 0.01) -> None:
        self.tokens = tokens
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.closed_early_at: list[float] = []
        self.app = Quart("fake_openai")
        self.app.add_url_rule("/v1/chat/completions", view_func=self.completions, methods=["POST"])

    async def completions(self) -> Response:
        body = await request.get_json()
        self.requests.append(body)
        assert body["stream"] is True
        messages = body["messages"]
        wants_tool = body.get("tools") and "weather" in messages[-1]["content"] and messages[-1]["role"] == "user"
        deltas = self._tool_call() if wants_tool else self._answer()
        response = Response(
            self._stream(deltas, "tool_calls" if wants_tool else "stop"), content_type="text/event-stream"
        )
        response.timeout = None
        return response

    def _answer(self) -> list[dict[str, Any]]:
        return [{"role": "assistant", "content": ""}] + [{"content": token} for token in self.tokens]

    @staticmethod
    def _tool_call() -> list[dict[str, Any]]:
        start = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
        return [
            {"role": "assistant", "content": None, "tool_calls": [start]},
            {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]},
            {"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]},
        ]

    async def _stream(self, deltas: list[dict[str, Any]], finish_reason: str) -> AsyncIterator[bytes]:
        finished = False
        try:
            for delta in deltas:
                await asyncio.sleep(self.delay)
                yield _chunk(delta, None)
            yield _chunk({}, finish_reason)
            yield b"data: [DONE]\n\n"
            finished = True
        finally:
            if not finished:
                self.closed_early_at.append(time.monotonic())


def _chunk(delta: dict[str, Any], finish_reason: str | None) -> bytes:
    chunk = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }
    return f"data: {json.dumps(chunk)}\n\n".encode()
