"""The LangGraph protocol's event source: a graph's own ``astream``, in the stream modes the client asked for.

LangGraph's clients read a run in its stream modes (``values``, ``messages``, ``updates``, ``custom``, ...), not
in chat events; only the graph makes them. Each chunk is emitted as one ``on_graph_chunk`` event, which the
mapping keeps whole (:class:`~...events.GraphChunk`). As LangGraph's server runs a graph: its updates hold only
its output channels, and an interrupt comes in the ``values`` chunks (with langgraph before 1.0.4, which left it
out of them, as a ``values`` chunk ``{"__interrupt__": [...]}`` of its own). The ``events`` mode is the graph's
``astream_events`` (v2) in full: its root's own stream carries the other modes' chunks, every other event is a
chunk of ``events``. The older ``messages`` mode (``whole_messages``) sends each message whole as it grows, as
LangGraph's server makes it of the graph's chunks: ``messages/metadata`` when a message first comes, then
``messages/partial`` (so far) or ``messages/complete``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from langchain_core.messages import BaseMessage, BaseMessageChunk, message_chunk_to_message
from langchain_core.runnables import Runnable, RunnableConfig

from .base import Emit

__all__ = ["graph_stream"]


@functools.cache
def _updates_for_interrupts() -> bool:
    """Whether a graph's ``values`` chunks leave its interrupts out (langgraph before 1.0.4): LangGraph's server then
    read them from ``updates``, asked for besides the client's modes, as this source does then. Asked as a graph
    runs: langgraph is there then."""
    try:
        from langgraph.version import __version__
    except ImportError:  # a langgraph too old to say: older than 1.0.4 anyway
        return True
    parts = [int(re.match(r"\d*", part).group() or 0) for part in __version__.split(".")[:3]]  # type: ignore[union-attr]
    return tuple(parts) <= (1, 0, 3)


async def graph_stream(
    runnable: Runnable[Any, Any],
    inputs: Any,
    config: RunnableConfig | None,
    emit: Emit,
    *,
    stream_mode: tuple[str, ...] = ("values",),
    subgraphs: bool = False,
    graph_id: str = "",
    interrupt_before: str | list[str] | None = None,
    interrupt_after: str | list[str] | None = None,
    whole_messages: bool = False,
    **_filters: Any,
) -> None:
    """Emit each chunk of the graph's stream in ``stream_mode`` (with its subgraphs' when ``subgraphs``), stopping
    at the breakpoints ``interrupt_before`` and ``interrupt_after`` name; a graph with no name of its own runs named
    ``graph_id``, as LangGraph's server names it. With ``whole_messages``, ``messages`` chunks are sent whole."""
    if graph_id and getattr(runnable, "name", None) == "LangGraph":
        config = {**(config or {}), "run_name": graph_id}
    interrupts_only = "updates" not in stream_mode and _updates_for_interrupts()
    modes = [mode for mode in stream_mode if mode != "events"] + (["updates"] if interrupts_only else [])
    options: dict[str, Any] = {"subgraphs": subgraphs}
    options |= {"interrupt_before": interrupt_before} if interrupt_before is not None else {}
    options |= {"interrupt_after": interrupt_after} if interrupt_after is not None else {}
    if "events" in stream_mode:  # the graph's defaults, as LangGraph's server leaves them on this path
        events = runnable.astream_events(inputs, config, version="v2", stream_mode=modes, **options)
        chunks = _with_events(events, subgraphs)
    else:
        output_keys = getattr(runnable, "output_channels", None)
        options |= {"output_keys": output_keys} if output_keys is not None else {}
        chunks = runnable.astream(inputs, config, stream_mode=modes, **options)
    whole = _Whole() if whole_messages else None
    async with aclosing(chunks):  # type: ignore[type-var]  # closing it cancels the run
        async for chunk in chunks:
            namespace, mode, data = chunk if subgraphs else ((), *chunk)
            if mode == "updates" and interrupts_only:
                if not (isinstance(data, dict) and data.get("__interrupt__")):
                    continue
                mode = "values"
            elif mode == "messages" and whole is not None:
                for name, sent in whole.grown(*data):  # as LangGraph's server sends them: of no subgraph
                    await emit({"event": "on_graph_chunk", "mode": name, "namespace": (), "data": sent})
                continue
            await emit({"event": "on_graph_chunk", "mode": mode, "namespace": namespace, "data": data})


class _Whole:
    """A run's messages as they grow, by id: what the ``messages`` mode sends of each chunk."""

    def __init__(self) -> None:
        self.messages: dict[str | None, BaseMessage] = {}

    def grown(self, message: BaseMessage, metadata: dict[str, Any]) -> list[tuple[str, Any]]:
        sent: list[tuple[str, Any]] = []
        so_far = self.messages.get(message.id)
        if so_far is None:
            sent.append(("messages/metadata", {message.id: {"metadata": metadata}}))
        partial = isinstance(message, BaseMessageChunk)
        whole = so_far + message if partial and isinstance(so_far, BaseMessageChunk) else message
        self.messages[message.id] = whole
        sent.append(("messages/partial" if partial else "messages/complete", [message_chunk_to_message(whole)]))
        return sent


async def _with_events(stream: AsyncIterator[Any], subgraphs: bool) -> AsyncIterator[Any]:
    """The root's stream chunks as ``astream`` yields them; every other event (but those LangSmith hides) as a chunk
    of the ``events`` mode, in the same shape."""
    async with aclosing(stream):  # type: ignore[type-var]
        async for event in stream:
            if event["event"] == "on_chain_stream" and not event["parent_ids"]:
                yield event["data"]["chunk"]
            elif "langsmith:hidden" not in (event.get("tags") or ()):
                yield ((), "events", event) if subgraphs else ("events", event)
