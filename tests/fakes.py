"""Fake chat models that stream like real ones: natively async, chunk by chunk, cancellable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable
from pydantic import Field

Chunk = str | list[Any] | AIMessageChunk


@dataclass
class Probe:
    """What the test can observe of the model's runs."""

    calls: list[list[BaseMessage]] = field(default_factory=list)
    chunks_sent: int = 0
    finished: int = 0
    cancelled_at: float | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)


class ScriptedChatModel(BaseChatModel):
    """Streams each response of ``responses`` (one per call, cycling) chunk by chunk.

    A chunk is a string, a list of content blocks, or a whole ``AIMessageChunk`` (tool calls,
    reasoning). ``fail_at`` raises after that many chunks of a response.
    """

    responses: Sequence[Sequence[Chunk]]
    delay: float = 0.0
    fail_at: int | None = None
    error: str = "secret internal detail: db password is hunter2"
    probe: Probe = Field(default_factory=Probe)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def _script(self, messages: list[BaseMessage]) -> Sequence[Chunk]:
        self.probe.calls.append(messages)
        self.probe.started.set()
        return self.responses[(len(self.probe.calls) - 1) % len(self.responses)]

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        script = self._script(messages)
        try:
            for index, chunk in enumerate(script):
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self.fail_at is not None and index == self.fail_at:
                    raise RuntimeError(self.error)
                message = chunk if isinstance(chunk, AIMessageChunk) else AIMessageChunk(content=chunk)
                self.probe.chunks_sent += 1
                yield ChatGenerationChunk(message=message)
            self.probe.finished += 1
        except (asyncio.CancelledError, GeneratorExit):  # cancelled while waiting, or closed at a yield
            self.probe.cancelled_at = time.monotonic()
            raise

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        script = self._script(messages)
        text = "".join(c for c in script if isinstance(c, str))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


def words(text: str) -> list[str]:
    """Split text into word tokens that join back to it, as a model streams them."""
    pieces = text.split(" ")
    return [piece if i == 0 else " " + piece for i, piece in enumerate(pieces)]


QUESTION_PROMPT = ChatPromptTemplate.from_messages([MessagesPlaceholder("chat_history"), ("human", "{question}")])


def answering(*tokens: str, **model_fields: Any) -> Runnable[Any, Any]:
    """A ``prompt | model`` pipeline that streams ``tokens`` for any question."""
    return QUESTION_PROMPT | ScriptedChatModel(responses=[list(tokens)], **model_fields)
