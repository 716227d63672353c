"""Chat models for tests: they stream a script at a model's pace, the way real models do (natively async, chunk by
chunk, cancellable at any chunk), with no network and no key.

:class:`ScriptedChatModel` is the one a test of an app uses: a reply is text (streamed word by word), a tool call
(its arguments in pieces, as real models stream them) or chunks of your own, and it reports usage, so a
``create_agent`` graph runs on it as on a real model. :class:`PacedChatModel` is the loop under it (and under the
example's demo model and the benchmark's), for a script of your own. This module imports only LangChain.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

__all__ = ["Chunk", "PacedChatModel", "Script", "ScriptedChatModel", "ToolCall", "words"]

Chunk = str | list[Any] | AIMessageChunk  # text, content blocks, or a whole chunk (tool calls, reasoning)


class PacedChatModel(BaseChatModel):
    """Streams ``script(messages, tools)`` chunk by chunk; chunk *i* is due ``first_delay + i * delay`` seconds
    after the start, so a late tick does not slow the chunks after it. Subclasses write the script, and
    may watch each chunk (``on_chunk``, which may raise) and the end of each run (``on_end``)."""

    delay: float = 0.0
    first_delay: float | None = None
    """When the first chunk is due (the model's time to first token, thinking); None: after ``delay``, as the
    others."""

    @property
    def _llm_type(self) -> str:
        return "paced"

    def script(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> Sequence[Chunk]:
        raise NotImplementedError

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        """The tools reach ``script`` as OpenAI function tools, as a real model's API gets them."""
        return self.bind(tools=[convert_to_openai_tool(tool) for tool in tools], **kwargs)

    def on_chunk(self, index: int) -> None:
        """Called as chunk ``index`` is due, before it goes out."""

    def on_end(self, cancelled: bool) -> None:
        """Called once per run: after the last chunk, or when the run is cancelled."""

    def closing(self, messages: list[BaseMessage], script: Sequence[Chunk]) -> AIMessageChunk | None:
        """A last chunk sent with no wait after the script (what a provider's stream ends with: usage), or None."""
        return None

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        script, delay = self.script(messages, kwargs.get("tools")), self.delay
        first = delay if self.first_delay is None else self.first_delay
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            for index, chunk in enumerate(script):
                if delay or first:
                    await asyncio.sleep(max(0.0, start + first + index * delay - loop.time()))
                self.on_chunk(index)
                message = chunk if isinstance(chunk, AIMessageChunk) else AIMessageChunk(content=chunk)
                yield ChatGenerationChunk(message=message)
            if (last := self.closing(messages, script)) is not None:
                yield ChatGenerationChunk(message=last)
        except (asyncio.CancelledError, GeneratorExit):  # cancelled while waiting, or closed at a yield
            self.on_end(cancelled=True)
            raise
        self.on_end(cancelled=False)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessageChunk(content="")
        script = self.script(messages, kwargs.get("tools"))
        for chunk in script:
            message += chunk if isinstance(chunk, AIMessageChunk) else AIMessageChunk(content=chunk)
        if (last := self.closing(messages, script)) is not None:
            message += last
        return ChatResult(generations=[ChatGeneration(message=AIMessage(**message.model_dump(exclude={"type"})))])


@dataclass(frozen=True)
class ToolCall:
    """A tool call a :class:`ScriptedChatModel` makes: streamed as a model streams it, its name and id first, then
    its arguments' JSON in pieces."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    """The call's id; None: ``call_<n>``, numbered across the model's calls."""


Script = str | ToolCall | Sequence[ToolCall] | Sequence[Chunk]
"""What a :class:`ScriptedChatModel` answers one call with: text, one or several tool calls, or chunks."""


class ScriptedChatModel(PacedChatModel):
    """A chat model that answers its calls from a script: reply *n* to call *n* (cycling through ``replies``),
    streamed ``delay`` seconds apart, then usage (``input_tokens``: the words it was sent; ``output_tokens``: the
    chunks it streamed) and its ``model_name``. A reply may also be a function of the messages and the tools
    (OpenAI function dicts) the model got. ``bind_tools`` takes any tools, so ``create_agent`` runs on it; the
    messages of each call are kept in ``seen``.

    >>> model = ScriptedChatModel(replies=[ToolCall("get_weather", {"city": "Paris"}), "It is sunny in Paris."])
    """

    replies: Sequence[Script | Callable[[list[BaseMessage], list[dict[str, Any]] | None], Script]] = Field(min_length=1)
    model_name: str = "scripted"
    usage: bool = True
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def script(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> Sequence[Chunk]:
        self.seen.append(messages)
        reply = self.replies[(len(self.seen) - 1) % len(self.replies)]
        if callable(reply):
            reply = reply(messages, tools)
        if isinstance(reply, str):
            return words(reply)
        if isinstance(reply, ToolCall):
            reply = [reply]
        if reply and all(isinstance(part, ToolCall) for part in reply):
            return self._calls(reply)  # type: ignore[arg-type]
        return reply  # type: ignore[return-value]

    def closing(self, messages: list[BaseMessage], script: Sequence[Chunk]) -> AIMessageChunk | None:
        calls = any(isinstance(chunk, AIMessageChunk) and chunk.tool_call_chunks for chunk in script)
        metadata = {"model_name": self.model_name, "finish_reason": "tool_calls" if calls else "stop"}
        if not self.usage:
            return AIMessageChunk(content="", response_metadata=metadata)
        sent = sum(len(message.text.split()) for message in messages)
        usage = {"input_tokens": sent, "output_tokens": len(script), "total_tokens": sent + len(script)}
        return AIMessageChunk(content="", usage_metadata=usage, response_metadata=metadata)  # type: ignore[arg-type]

    def _calls(self, calls: Sequence[ToolCall]) -> list[Chunk]:
        chunks: list[Chunk] = []
        for index, call in enumerate(calls):
            call_id = call.id or f"call_{len(self.seen)}_{index}"
            arguments = json.dumps(call.args)
            half = len(arguments) // 2
            head = {"name": call.name, "args": arguments[:half], "id": call_id, "index": index}
            chunks.append(AIMessageChunk(content="", tool_call_chunks=[head]))  # type: ignore[list-item]
            rest = {"name": None, "args": arguments[half:], "id": None, "index": index}
            chunks.append(AIMessageChunk(content="", tool_call_chunks=[rest]))  # type: ignore[list-item]
        return chunks


def words(text: str) -> list[str]:
    """``text`` as a model streams it: word by word, each but the first with its leading space."""
    pieces = text.split(" ")
    return [piece if i == 0 else " " + piece for i, piece in enumerate(pieces)]
