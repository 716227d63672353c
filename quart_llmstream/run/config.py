"""The RunnableConfig of one request's run: its id, callbacks, its thread, and what the user's hook adds.

Per-request metadata is how tracing learns who asked: Langfuse reads ``langfuse_user_id``,
``langfuse_session_id`` and ``langfuse_tags`` from it. A LangGraph checkpointer finds the conversation under
``configurable.thread_id``; a middleware finds the tools the client runs under ``configurable.client_tools``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs

from ..lifecycle import maybe_await
from ..request import ChatRequest

__all__ = ["build_run_config"]


async def build_run_config(
    chat_request: ChatRequest,
    run_id: UUID,
    callbacks: Sequence[BaseCallbackHandler],
    hook: Callable[[ChatRequest], Any] | None,
    thread_id: str | None = None,
) -> RunnableConfig:
    """The run's config: ``run_id``, ``callbacks``, the thread and the client's tools, then whatever
    ``hook(chat_request)`` returns (a ``thread_id`` of its own wins)."""
    config: RunnableConfig = {"run_id": run_id}
    if callbacks:
        config["callbacks"] = list(callbacks)
    configurable: dict[str, Any] = {} if thread_id is None else {"thread_id": thread_id}
    if thread_id is not None:  # each checkpoint names the run that wrote it (a rollback drops a run's)
        config["metadata"] = {"run_id": str(run_id)}
    if chat_request.tools:
        configurable["client_tools"] = chat_request.tools
    if configurable:
        config["configurable"] = configurable
    if hook is None:
        return config
    extra = await maybe_await(hook(chat_request))
    return merge_configs(config, extra) if extra else config
