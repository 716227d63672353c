"""The RunnableConfig of one request's run: its id, callbacks, and what the user's hook adds.

Per-request metadata is how tracing learns who asked: Langfuse reads ``langfuse_user_id``,
``langfuse_session_id`` and ``langfuse_tags`` from it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import merge_configs

from .chat_request import ChatRequest

__all__ = ["build_run_config"]


async def build_run_config(
    chat_request: ChatRequest,
    run_id: UUID,
    callbacks: Sequence[BaseCallbackHandler],
    hook: Callable[[ChatRequest], Any] | None,
) -> RunnableConfig:
    """The run's config: ``run_id``, ``callbacks``, then whatever ``hook(chat_request)`` returns."""
    config: RunnableConfig = {"run_id": run_id}
    if callbacks:
        config["callbacks"] = list(callbacks)
    if hook is None:
        return config
    extra = hook(chat_request)
    if inspect.isawaitable(extra):
        extra = await extra
    return merge_configs(config, extra) if extra else config
