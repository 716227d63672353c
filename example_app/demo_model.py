"""The offline demo model: deterministic, no network, no key, streaming word by word at a model's pace.

It answers from the question and the history, and calls the demo weather tool when asked about the
weather, so every kind of event the blueprint streams shows up in the example.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, ToolMessage

from .paced_model import PacedChatModel

_CITY = re.compile(r"weather\s+(?:in|at|for)\s+([A-Za-z][A-Za-z .'-]*)", re.IGNORECASE)


class DemoChatModel(PacedChatModel):
    """A stand-in for a real model so the example runs anywhere. Its answers say it is a demo."""

    delay: float = 0.05  # seconds per token

    @property
    def _llm_type(self) -> str:
        return "demo"

    def script(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> list[AIMessageChunk]:
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            return _words(f"(demo model) The demo weather tool says: {last.text}.")
        question = last.text.strip() if last is not None else ""
        match = _CITY.search(question)
        if match and tools and any(t["function"]["name"] == "get_weather" for t in tools):
            arguments = json.dumps({"city": match.group(1).strip(" .")})
            half = len(arguments) // 2
            return [
                AIMessageChunk(
                    content="",
                    tool_call_chunks=[{"name": "get_weather", "args": arguments[:half], "id": "call_demo", "index": 0}],
                ),
                AIMessageChunk(
                    content="", tool_call_chunks=[{"name": None, "args": arguments[half:], "id": None, "index": 0}]
                ),
            ]
        asked = [m.text for m in messages[:-1] if m.type == "human"]
        earlier = f" Earlier you asked: {asked[-1]}" if asked else ""
        return _words(
            f"(demo model) You asked: {question} This is message {len(asked) + 1} of our conversation.{earlier} "
            "Ask about the weather in a city to see a tool call. Set OPENAI_API_KEY or OPENAI_BASE_URL "
            "to talk to a real model."
        )


def _words(text: str) -> list[AIMessageChunk]:
    return [AIMessageChunk(content=word if i == 0 else " " + word) for i, word in enumerate(text.split(" "))]
