"""The example's agent: LangChain's ``create_agent`` with a checkpointer (each chat is a thread), a tool the
server runs (the weather), one the page runs itself (the browser's local time), one a person approves
before it runs (sending a note, under ``HumanInTheLoopMiddleware``), and a to-do list it shares with the
page (its state: the agent edits it with a tool, the page edits it too), over a chat model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentState, HumanInTheLoopMiddleware, ModelRequest, dynamic_prompt
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import ToolMessage
from langchain_core.runnables import Runnable
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from quart_llmstream.agents import ClientTools

from .demo_model import DemoChatModel

SYSTEM = (
    "You are a helpful assistant. Use the weather tool when asked about the weather, the local time tool "
    "when asked what time it is, the note tool when asked to send a note, and the to-do tool to change the "
    "user's to-do list."
)
PREDICT_STATE = [{"state_key": "todos", "tool": "update_todos", "tool_argument": "todos"}]
"""The page's list follows the to-do tool's argument as the model writes it, before the tool runs."""


class TodoState(AgentState):
    """The agent's state, with the to-do list it shares with the page."""

    todos: list[str]


LOCAL_TIME = {
    "name": "get_local_time",
    "description": "The current date and time where the user is (the page runs it, in the user's browser).",
    "parameters": {"type": "object", "properties": {}},
}
"""A tool the page runs: the model may call it, the page answers with the browser's clock."""


@tool
def get_weather(city: str) -> str:
    """Get the current weather of a city (demo data, always the same)."""
    return f"sunny and 21 degrees in {city} (demo data)"


@tool
def send_note(to: str, text: str) -> str:
    """Send a short note to someone (demo: nothing leaves the server). A person approves each note first."""
    return f"the note to {to} was sent (demo: nothing left the server)"


@tool
def update_todos(todos: list[str], tool_call_id: Annotated[str, InjectedToolCallId]) -> Command:  # type: ignore[type-arg]
    """Replace the user's to-do list with ``todos`` (the whole list, as it should be)."""
    done = ToolMessage(f"the to-do list now has {len(todos)} items", tool_call_id=tool_call_id)
    return Command(update={"todos": todos, "messages": [done]})


@dynamic_prompt
def with_the_list(request: ModelRequest) -> str:
    """The system prompt, with the to-do list as it is now (the page may have changed it)."""
    todos = [str(item) for item in request.state.get("todos") or ()]  # type: ignore[attr-defined]
    return f"{SYSTEM}\nThe user's to-do list: {'; '.join(todos) if todos else '(empty)'}."


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


def build_agent(model: BaseChatModel, *client_tools: dict[str, Any]) -> Runnable[Any, Any]:
    """The agent, built once: the server's tools, the client's (``client_tools`` are declared here, the AI
    SDK's way; AG-UI and OpenAI clients declare theirs in the request), and a thread per chat."""
    return create_agent(
        model,
        tools=[get_weather, send_note, update_todos],
        middleware=[
            with_the_list,
            ClientTools(*client_tools),
            HumanInTheLoopMiddleware(interrupt_on={"send_note": True}),
        ],
        state_schema=TodoState,
        checkpointer=InMemorySaver(),
        name="agent",
    )
