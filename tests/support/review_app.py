"""The app an adversarial review drove: a ``create_agent`` graph whose ``send_note`` waits for a person's approval
(every decision allowed) and ``wire_money`` too (approve or reject only), with an ungated server tool
``admin_reset``, a client tool (``get_local_time``, ``ClientTools``), ``InMemorySaver``, owners from the ``X-User``
header, resume on, and every protocol: ``/native/chat``, ``/ai/chat``, ``/agui/chat``, ``/v1/chat/completions``.

The model asks for what the user's last message names (``note``, ``wire``, ``clock``, ``both``: the clock and
``admin_reset`` at once), each call under a fresh id;
an :class:`Audit` records every tool run, so a test can tell what ran and what a client only claimed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.store.memory import InMemoryStore
from quart import Quart

from quart_llmstream import LLMStream, create_blueprint
from quart_llmstream.agents import ClientTools

from fakes import ProbedChatModel, agent, calling, words

CLOCK = {"name": "get_local_time", "description": "The time where the user is", "parameters": {"type": "object"}}
ROUTES = {"native": "/native/chat", "ai-sdk": "/ai/chat", "ag-ui": "/agui/chat", "openai": "/v1/chat/completions"}
SERVER_TOOLS = ("send_note", "wire_money", "admin_reset")


@dataclass
class Audit:
    """Every run of a server tool: (tool, args, the id of the call it answered)."""

    runs: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    def ran(self, name: str) -> list[dict[str, Any]]:
        return [args for tool_name, args, _ in self.runs if tool_name == name]

    @property
    def call_ids(self) -> set[str]:
        return {call_id for _, _, call_id in self.runs}


@dataclass
class Review:
    app: Quart
    graph: Any
    audit: Audit


def review_app(resume: Any = "memory", delay: float = 0.0, wrap: Any = None, **options: Any) -> Review:
    """The app; ``wrap`` makes of the graph what the factory returns (``graph.with_retry()``, ``prompt | graph``)."""
    audit = Audit()
    ids = itertools.count(1)

    @tool
    def send_note(to: str, text: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Send a note to someone."""
        audit.runs.append(("send_note", {"to": to, "text": text}, tool_call_id))
        return f"note sent to {to}"

    @tool
    def wire_money(account: str, amount: int, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Wire money to an account."""
        audit.runs.append(("wire_money", {"account": account, "amount": amount}, tool_call_id))
        return f"wired {amount} to {account}"

    @tool
    def admin_reset(user: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
        """Reset a user's account (never offered to a client's say)."""
        audit.runs.append(("admin_reset", {"user": user}, tool_call_id))
        return f"reset {user}"

    def reply(messages: list[BaseMessage], tools: Any) -> Any:
        last = messages[-1]
        if isinstance(last, ToolMessage):
            return words(f"Done: {last.text}")
        text = last.text if isinstance(last, HumanMessage) else ""
        if "both" in text:  # the client's clock and the server's reset, in one turn
            n = next(ids)
            return calling(
                ("get_local_time", {}, f"call_clock_{n}"), ("admin_reset", {"user": "me"}, f"call_reset_{n}")
            )
        if "note" in text:
            return calling(("send_note", {"to": "ann", "text": "hi"}, f"call_note_{next(ids)}"))
        if "wire" in text:
            return calling(("wire_money", {"account": "BOB-1", "amount": 10}, f"call_wire_{next(ids)}"))
        if "clock" in text:
            return calling(("get_local_time", {}, f"call_clock_{next(ids)}"))
        return words(f"Answer to {text}")

    gate = HumanInTheLoopMiddleware(
        interrupt_on={
            "send_note": True,
            "wire_money": {"allowed_decisions": ["approve", "reject"]},  # type: ignore[typeddict-item]
        }
    )
    graph = agent(
        ProbedChatModel(responses=[reply], delay=delay),
        gate,
        ClientTools(CLOCK),
        tools=[send_note, wire_money, admin_reset],
        store=InMemoryStore(),  # its memories, and the threads' records (below): one store, as an app keeps them
    )
    app = Quart(__name__)
    LLMStream(app, thread_store=graph.store)
    settings = {
        "resume": resume,
        "stream_owner": lambda chat_request: chat_request.headers.get("X-User"),
        "events": "token,tool,end",
        **options,
    }
    served = graph if wrap is None else wrap(graph)
    for protocol, name in (("native", "native"), ("ai-sdk", "ai"), ("ag-ui", "agui")):
        app.register_blueprint(
            create_blueprint(lambda _: served, name=name, protocol=protocol, **settings), url_prefix=f"/{name}"
        )
    openai = {key: value for key, value in settings.items() if key != "resume"}  # its clients cannot resume
    app.register_blueprint(
        create_blueprint(lambda _: graph, name="agent", protocol="openai", **openai), url_prefix="/v1"
    )
    return Review(app, graph, audit)


async def thread_messages(graph: Any, thread: str, owner: str) -> list[BaseMessage]:
    """What a thread holds, as the checkpointer keeps it (the owner's scope)."""
    state = await graph.aget_state({"configurable": {"thread_id": f"{owner}:{thread}"}})
    return list(state.values.get("messages") or [])
