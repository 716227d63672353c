"""The runnable factory an app gives a blueprint, and the LangGraph graph what it builds is (or hides)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import Runnable

from ..errors import RequestError
from ..lifecycle import maybe_await
from ..request import ChatRequest
from .threads import checkpointed, graph_of, hides_a_thread, innermost

__all__ = ["Factory", "RunnableFactory", "takes_messages"]

log = logging.getLogger("quart_llmstream")

RunnableFactory = Callable[[ChatRequest], "Runnable[Any, Any] | Awaitable[Runnable[Any, Any]]"]
"""Builds the runnable for one request; may be sync or async."""


def takes_messages(runnable: Runnable[Any, Any]) -> bool:
    """A chat model served alone (through ``bind_tools``, ``with_config``...): its input is the conversation's
    messages, not the ``{"question", "chat_history", "messages"}`` a prompt or a graph takes."""
    return isinstance(innermost(runnable), BaseChatModel)


class Factory:
    """The app's factory, called per request."""

    def __init__(self, factory: RunnableFactory, expose_errors: bool) -> None:
        self._factory, self._expose_errors = factory, expose_errors

    async def runnable(self, chat_request: ChatRequest) -> tuple[Runnable[Any, Any], Any]:
        """The factory's runnable for the request, and the LangGraph graph it is (or None)."""
        runnable = await maybe_await(self._factory(chat_request))
        graph = graph_of(runnable)
        if graph is None and hides_a_thread(runnable):
            raise TypeError(
                "the factory returned a runnable with a checkpointed LangGraph graph inside it (prompt | graph): "
                "its thread could be neither read nor checked; return the graph itself (with_config, with_retry "
                "and bind are fine), and put what comes before it in a node"
            )
        return runnable, graph

    async def graph(self, chat_request: ChatRequest) -> Any:
        """The LangGraph graph the factory builds for ``chat_request``, or None (a runnable that is not one); a
        failure of the factory is a ``500``."""
        try:
            return (await self.runnable(chat_request))[1]
        except RequestError:
            raise
        except Exception as exc:
            log.exception("the runnable factory failed")
            raise RequestError.internal(exc, self._expose_errors) from None

    async def thread_graph(self, chat_request: ChatRequest) -> Any:
        """The graph that keeps the threads of the factory's runnable (built for ``chat_request``), or None."""
        return checkpointed(await self.graph(chat_request))
