"""Event sources: where the v2 events of a run come from.

The default source is LangChain's own ``Runnable.astream_events(version="v2")``, which sees every
step of any runnable (chains, agents, LangGraph graphs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from .chat_request import ChatRequest

__all__ = ["astream_events"]


def astream_events(
    runnable: Runnable[Any, Any],
    chat_request: ChatRequest,
    config: RunnableConfig | None = None,
    **filters: Any,
) -> AsyncIterator[dict[str, Any]]:
    """The run's v2 events. Close the iterator (``aclosing``) to cancel the run.

    ``filters`` are ``astream_events``' own ``include_names``/``include_types``/``include_tags`` and
    ``exclude_*`` arguments.
    """
    return runnable.astream_events(chat_request.runnable_input(), config, version="v2", **filters)
