"""A chat model that streams a script at a model's pace: the one streaming loop behind the example's
demo model, the tests' fakes and the benchmark's model, so all of them stream the way real models do
(natively async, chunk by chunk, cancellable at any chunk).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool

Chunk = str | list[Any] | AIMessageChunk  # text, content blocks, or a whole chunk (tool calls, reasoning)


class PacedChatModel(BaseChatModel):
    """Streams ``script(messages, tools)`` chunk by chunk; chunk *i* is due ``(i + 1) * delay`` seconds
    after the start, so a late tick does not slow the chunks after it. Subclasses write the script, and
    may watch each chunk (``on_chunk``, which may raise) and the end of each run (``on_end``)."""

    delay: float = 0.0

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

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        script, delay = self.script(messages, kwargs.get("tools")), self.delay
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            for index, chunk in enumerate(script):
                if delay:
                    await asyncio.sleep(max(0.0, start + (index + 1) * delay - loop.time()))
                self.on_chunk(index)
                message = chunk if isinstance(chunk, AIMessageChunk) else AIMessageChunk(content=chunk)
                yield ChatGenerationChunk(message=message)
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
        for chunk in self.script(messages, kwargs.get("tools")):
            message += chunk if isinstance(chunk, AIMessageChunk) else AIMessageChunk(content=chunk)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(**message.model_dump(exclude={"type"})))])
