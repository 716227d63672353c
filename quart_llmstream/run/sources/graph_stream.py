"""The LangGraph protocol's event source: a graph's own ``astream``, in the stream modes the client asked for.

LangGraph's clients read a run in its stream modes (``values``, ``messages``, ``updates``, ``custom``, ...), not
in chat events; only the graph makes them. Each chunk is emitted as one ``on_graph_chunk`` event, which the
mapping keeps whole (:class:`~...events.GraphChunk`).
"""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

from .base import Emit

__all__ = ["graph_stream"]


async def graph_stream(
    runnable: Runnable[Any, Any],
    inputs: Any,
    config: RunnableConfig | None,
    emit: Emit,
    *,
    stream_mode: tuple[str, ...] = ("values",),
    subgraphs: bool = False,
    **_filters: Any,
) -> None:
    """Emit each chunk of ``runnable.astream`` in ``stream_mode`` (with its subgraphs' when ``subgraphs``)."""
    chunks = runnable.astream(inputs, config, stream_mode=list(stream_mode), subgraphs=subgraphs)
    async with aclosing(chunks):  # type: ignore[type-var]  # closing it cancels the run
        async for chunk in chunks:
            namespace, mode, data = chunk if subgraphs else ((), *chunk)
            await emit({"event": "on_graph_chunk", "mode": mode, "namespace": namespace, "data": data})
