"""The offline demo model: deterministic, no network, no key, streaming word by word at a model's pace.

It answers from the question and the history, calls the demo weather tool when asked about the weather, the
page's clock when asked what time it is, and the note tool (which a person approves first) when asked to
send a note, so every kind of event the blueprint streams shows up in the example.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, ToolMessage

from quart_llmstream.testing import Chunk, PacedChatModel, words

_CITY = re.compile(r"weather\s+(?:in|at|for)\s+([A-Za-z][A-Za-z .'-]*)", re.IGNORECASE)
_TIME = re.compile(r"\b(what time|the time|time is it)\b", re.IGNORECASE)
_NOTE = re.compile(r"send (?:a )?note to (\w+)(?: saying)?:? (.+)", re.IGNORECASE)
_TODO = re.compile(r"add (.+?) to my (?:to-?do )?list", re.IGNORECASE)
_LIST = re.compile(r"The user's to-do list: (.*)\.$", re.MULTILINE)


class DemoChatModel(PacedChatModel):
    """A stand-in for a real model so the example runs anywhere. Its answers say it is a demo."""

    delay: float = 0.05  # seconds per token

    @property
    def _llm_type(self) -> str:
        return "demo"

    def script(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> Sequence[Chunk]:
        offered = {tool["function"]["name"] for tool in tools or ()}
        last = messages[-1] if messages else None
        if isinstance(last, ToolMessage):
            called = _called(messages, last.tool_call_id)
            if called == "get_local_time":
                return words(f"(demo model) Your browser says it is {last.text} where you are.")
            if called == "send_note":
                done = "Nothing was sent" if last.status == "error" else "Done"
                return words(f"(demo model) {done}: {last.text}.")
            if called == "update_todos":
                return words(f"(demo model) Done: {last.text}.")
            return words(f"(demo model) The demo weather tool says: {last.text}.")
        question = last.text.strip() if last is not None else ""
        match = _CITY.search(question)
        if match and "get_weather" in offered:
            return _call("get_weather", {"city": match.group(1).strip(" .")}, "call_demo")
        if _TIME.search(question) and "get_local_time" in offered:
            return _call("get_local_time", {}, "call_clock")
        note = _NOTE.search(question)
        if note and "send_note" in offered:
            return _call("send_note", {"to": note.group(1), "text": note.group(2).strip(" .")}, "call_note")
        todo = _TODO.search(question)
        if todo and "update_todos" in offered:
            todos = [*_todos(messages), todo.group(1).strip(" .")]
            return _call("update_todos", {"todos": todos}, "call_todos")
        asked = [m.text for m in messages[:-1] if m.type == "human"]
        earlier = f" Earlier you asked: {asked[-1]}" if asked else ""
        received = _attachments(last) if last is not None else ""
        return words(
            f"(demo model) {received}You asked: {question} This is message {len(asked) + 1} of our conversation."
            f"{earlier} "
            "Ask about the weather in a city to see a tool call, what time it is to see the page run one, or "
            "to send a note to Ann saying hello to approve one first, or to add milk to my list. "
            "Set OPENAI_API_KEY or OPENAI_BASE_URL to talk to a real model."
        )


def _attachments(message: BaseMessage) -> str:
    """What a message carries besides its text, as the demo model says it: count, types and sizes."""
    content = message.content if isinstance(message.content, list) else []
    blocks = [b for b in content if isinstance(b, dict) and b.get("type") in ("image", "audio", "file")]
    if not blocks:
        return ""
    described = []
    for block in blocks:
        data = block.get("base64") or ""
        size = len(data) * 3 // 4 - data[-2:].count("=") if data else None
        described.append(f"{block.get('mime_type') or block['type']}, {size} bytes" if size else block.get("url", ""))
    plural = "s" if len(blocks) > 1 else ""
    return f"You sent {len(blocks)} attachment{plural}: {'; '.join(described)}. "


def _todos(messages: list[BaseMessage]) -> list[str]:
    """The to-do list, as the system prompt says it is."""
    system = next((m.text for m in messages if m.type == "system"), "")
    found = _LIST.search(system)
    return [item for item in found.group(1).split("; ") if item and item != "(empty)"] if found else []


def _called(messages: list[BaseMessage], call_id: str) -> str | None:
    """The name of the tool whose call ``call_id`` is, from the assistant message that made it."""
    for message in reversed(messages):
        for call in getattr(message, "tool_calls", None) or ():
            if call["id"] == call_id:
                return str(call["name"])
    return None


def _call(name: str, args: dict[str, Any], call_id: str) -> list[AIMessageChunk]:
    """A tool call as a model streams it: its head, then its arguments in two pieces."""
    arguments = json.dumps(args)
    half = len(arguments) // 2
    return [
        AIMessageChunk(
            content="", tool_call_chunks=[{"name": name, "args": arguments[:half], "id": call_id, "index": 0}]
        ),
        AIMessageChunk(content="", tool_call_chunks=[{"name": None, "args": arguments[half:], "id": None, "index": 0}]),
    ]
