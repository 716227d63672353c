"""The LangGraph protocol's event source: a graph's own ``astream``, in the stream modes the client asked for.

LangGraph's clients read a run in its stream modes (``values``, ``messages``, ``updates``, ``custom``, ...), not
in chat events; only the graph makes them. Each chunk is emitted as one ``on_graph_chunk`` event, which the
mapping keeps whole (:class:`~...events.GraphChunk`). As LangGraph's server runs a graph: its updates hold only
its output channels, and a client that did not ask for ``updates`` still learns of an interrupt, as a ``values``
chunk ``{"__interrupt__": [...]}``.
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
    interrupts_only = "updates" not in stream_mode
    modes = [*stream_mode, "updates"] if interrupts_only else list(stream_mode)
    output_keys = getattr(runnable, "output_channels", None)
    options = {"subgraphs": subgraphs} | ({"output_keys": output_keys} if output_keys is not None else {})
    chunks = runnable.astream(inputs, config, stream_mode=modes, **options)
    async with aclosing(chunks):  # type: ignore[type-var]  # closing it cancels the run
        async for chunk in chunks:
            namespace, mode, data = chunk if subgraphs else ((), *chunk)
            if mode == "updates" and interrupts_only:
                if not (isinstance(data, dict) and data.get("__interrupt__")):
                    continue
                mode = "values"
            await emit({"event": "on_graph_chunk", "mode": mode, "namespace": namespace, "data": data})
