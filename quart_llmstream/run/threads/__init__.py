"""Threads: every rule of a LangGraph thread, in one place.

A thread is the conversation a checkpointer keeps. Here are its names (:mod:`.ids`: the client's, checked, or a
new one; the checkpointer's, within its owner's), the hold that lets one run at a time on it (:mod:`.hold`),
what it holds (:mod:`.state`), what of a request it may store (:mod:`.messages`), the decisions checked against
what it waits on (:mod:`.decisions`), and the tools of its graph that a client may and may not answer for
(:mod:`.tools`). A run on a thread is a :class:`RunThread`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig

from ...events import Event, MessagesSnapshot
from ...request import ChatRequest, Resume
from .decisions import resume_value
from .hold import Held, LocalHolds, ThreadHolds
from .ids import checked_name, new_name, stored_name
from .messages import unseen
from .state import (
    ThreadState,
    checkpointed,
    graph_of,
    hides_a_thread,
    is_interrupt,
    plain_messages,
    settled,
    shared_keys,
)
from .tools import graph_tools

__all__ = [
    "Held",
    "LocalHolds",
    "RunThread",
    "ThreadHolds",
    "ThreadState",
    "checked_name",
    "checkpointed",
    "graph_of",
    "hides_a_thread",
    "is_interrupt",
    "new_name",
    "open_thread",
    "shared_keys",
    "stored_name",
]


@dataclass(slots=True)
class RunThread:
    """The checkpointed thread a run is on, held: the graph that keeps it and the run's config, whose
    ``configurable.thread_id`` is the checkpointer's name for it."""

    graph: Any
    config: RunnableConfig
    held: Held

    async def state(self) -> Any:
        return await self.graph.aget_state(self.config)

    async def lacking(self, chat_request: ChatRequest, system_messages: str) -> list[BaseMessage]:
        """What of the request's conversation the thread lacks, checked (:func:`.messages.unseen`)."""
        return unseen(chat_request, await self.state(), self.graph, system_messages)

    async def resumed(self, resume: Resume) -> tuple[dict[str, Any], tuple[Event, ...]]:
        """The value per pending interrupt that resumes the thread, checked (:mod:`.decisions`), and the events
        a resumed stream starts with: the thread's messages, then what each decision does to its call."""
        state = await self.state()
        values, decided = resume_value(state, resume, graph_tools(self.graph))
        return values, (MessagesSnapshot(plain_messages(state)), *decided)

    async def settled(self) -> ThreadState:
        """What the thread's state says once the run has ended."""
        return settled(await self.state())

    async def release(self) -> None:
        await self.held.release()


async def open_thread(graph: Any, config: RunnableConfig, holds: ThreadHolds) -> RunThread | None:
    """The thread the run's config names, held (``409`` while another run is on it); None when the runnable keeps
    no thread (no checkpointer of its own, or no thread id)."""
    saved = checkpointed(graph)
    thread_id = config.get("configurable", {}).get("thread_id")
    if saved is None or thread_id is None:
        return None
    return RunThread(saved, config, await holds.take(saved.checkpointer, str(thread_id)))
