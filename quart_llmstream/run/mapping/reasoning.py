"""Reasoning in a streamed chunk, in the shapes providers send it: content blocks of type ``reasoning``
(LangChain's standard, and the OpenAI Responses API's summaries), Anthropic's ``thinking`` blocks, and
``reasoning_content`` (DeepSeek, Qwen, vLLM)."""

from __future__ import annotations

from langchain_core.messages import AIMessageChunk

__all__ = ["reasoning_texts"]


def reasoning_texts(chunk: AIMessageChunk) -> list[str]:
    """The pieces of reasoning text a chunk holds."""
    texts = []
    if isinstance(chunk.content, list):
        for block in chunk.content:
            if isinstance(block, dict):
                if block.get("type") == "reasoning":
                    texts.append(block.get("reasoning") or "")
                    texts.extend(part.get("text") or "" for part in block.get("summary") or ())  # OpenAI Responses
                elif block.get("type") == "thinking":  # Anthropic
                    texts.append(block.get("thinking") or "")
    if reasoning := chunk.additional_kwargs.get("reasoning_content"):  # DeepSeek, Qwen, vLLM
        texts.append(str(reasoning))
    return texts
