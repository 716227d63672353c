"""An offline demo chat model: deterministic, no network, streaming word by word at a model's pace."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult


class DemoChatModel(BaseChatModel):
    """A stand-in for a real model so the example runs with no key: it echoes the question back."""

    seconds_per_token: float = 0.05

    @property
    def _llm_type(self) -> str:
        return "demo"

    @staticmethod
    def _answer(messages: list[BaseMessage]) -> str:
        question = messages[-1].text if messages else ""
        earlier = sum(1 for m in messages[:-1] if m.type == "human")
        return (
            f"(demo model) You asked: {question.strip()} "
            f"This is message {earlier + 1} of our conversation. "
            "Set OPENAI_API_KEY or OPENAI_BASE_URL to talk to a real model."
        )

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for index, word in enumerate(self._answer(messages).split(" ")):
            await asyncio.sleep(self.seconds_per_token)
            yield ChatGenerationChunk(message=AIMessageChunk(content=word if index == 0 else " " + word))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._answer(messages)))])
