"""The example's runnable: a small tool-calling loop over a chat model, and its one demo tool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable, chain
from langchain_core.tools import tool

from .demo_model import DemoChatModel

PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "You are a helpful assistant. Use the weather tool when asked about the weather."),
        MessagesPlaceholder("chat_history"),
        ("human", "{question}"),
    ]
)
MAX_STEPS = 4


@tool
def get_weather(city: str) -> str:
    """Get the current weather of a city (demo data, always the same)."""
    return f"sunny and 21 degrees in {city} (demo data)"


TOOLS = [get_weather]


def chat_model(config: Mapping[str, Any]) -> BaseChatModel:
    """``ChatOpenAI`` when ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` is set (any OpenAI-compatible
    server: OpenAI, Ollama, vLLM, llama.cpp), else the offline demo model."""
    key, base_url = config.get("OPENAI_API_KEY"), config.get("OPENAI_BASE_URL")
    if not (key or base_url):
        return DemoChatModel(delay=float(config.get("DEMO_SECONDS_PER_TOKEN", 0.05)))
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        model=config.get("OPENAI_MODEL") or "gpt-4o-mini",
        base_url=base_url or None,
        api_key=SecretStr(key or "not-needed"),  # local servers take any key
    )


def tool_agent(model: BaseChatModel) -> Runnable[Any, Any]:
    """Ask the model; run the tools it calls; ask again with the results, until it answers."""
    bound = model.bind_tools(TOOLS)
    by_name = {t.name: t for t in TOOLS}

    @chain
    async def agent(inputs: dict[str, Any]) -> BaseMessage:
        messages = (await PROMPT.ainvoke(inputs)).to_messages()
        for _ in range(MAX_STEPS):
            reply = await bound.ainvoke(messages)
            messages.append(reply)
            if not reply.tool_calls:
                break
            for call in reply.tool_calls:
                messages.append(await by_name[call["name"]].ainvoke(call))
        return messages[-1]

    return agent.with_config(run_name="agent")
