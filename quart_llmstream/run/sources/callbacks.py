"""The lean event source: ``ainvoke`` with a callback handler, instead of ``astream_events``.

``astream_events`` builds an event for every step of every run and taps every intermediate stream
(a ``StrOutputParser`` even hops to a thread for each chunk). Most chat apps need only the model's
tokens, tool calls and custom events. This source runs the runnable with ``ainvoke`` and a callback
handler that turns exactly those callbacks into v2-shaped events (``event``, ``name``, ``run_id``,
``parent_ids``, ``tags``, ``metadata``, ``data``), so selection, filters, hooks and wire formats work
on it unchanged.

What it sees: chat model start, stream and end; tool start, end and error; custom events; chain start
and end. What it cannot see: ``on_chain_stream`` / ``on_parser_stream`` / ``on_prompt_*`` output of
non-model steps (a parser's or a graph node's intermediate chunks), and the ``on_llm_*`` events of
completion (non-chat) models. Models stream under it without ``streaming=True``: the handler is a
streaming handler to LangChain, as ``astream_events``' own tracer is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.outputs import LLMResult
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config
from langchain_core.runnables.utils import _RootEventFilter

from .base import Emit

__all__ = ["callback_events"]

T = TypeVar("T")


async def callback_events(
    runnable: Runnable[Any, Any],
    inputs: Any,
    config: RunnableConfig | None,
    emit: Emit,
    **filters: Any,
) -> None:
    """Run with ``ainvoke`` in this task, emitting the events ``astream_events`` would give of these kinds.

    The callbacks run inline in the run, so each event reaches ``emit`` with no queue and no task in
    between, and a slow reader slows the run.
    """
    collector = _Collector(emit, _RootEventFilter(**filters) if filters else None)
    config = ensure_config(config)
    config["callbacks"] = _with_handler(config.get("callbacks"), collector)
    await runnable.ainvoke(inputs, config)


def _with_handler(callbacks: Any, handler: AsyncCallbackHandler) -> Any:
    if callbacks is None:
        return [handler]
    if isinstance(callbacks, list):
        return [*callbacks, handler]
    manager = callbacks.copy()  # a callback manager
    manager.add_handler(handler, inherit=True)
    return manager


class _Collector(AsyncCallbackHandler):
    """Turns callbacks into v2-shaped events and emits them."""

    run_inline = True  # keep callbacks in order, and spare a gather per token
    raise_error = True  # a bug here must fail the run visibly, not vanish into LangChain's log

    def __init__(self, emit: Emit, event_filter: _RootEventFilter | None) -> None:
        self._emit = emit
        self._filter = event_filter
        self._runs: dict[UUID, tuple[str, dict[str, Any]]] = {}  # run type, and the fields its events share
        self._tool_calls: dict[UUID, str] = {}  # a tool run's call id, for its error

    # The two methods that make LangChain stream chat models inside ``ainvoke``.
    def tap_output_aiter(self, run_id: UUID, output: AsyncIterator[T]) -> AsyncIterator[T]:
        return output

    def tap_output_iter(self, run_id: UUID, output: Iterator[T]) -> Iterator[T]:
        return output

    async def _start(
        self,
        event: str,
        run_type: str,
        serialized: dict[str, Any] | None,
        data: dict[str, Any],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        name: str | None = None,
        **_: Any,
    ) -> None:
        parent = self._runs.get(parent_run_id) if parent_run_id else None
        parent_ids = [*parent[1]["parent_ids"], parent[1]["run_id"]] if parent else []
        # What every event of this run shares, made once per run rather than once per token.
        shared = {"name": name or _name(serialized), "run_id": str(run_id), "parent_ids": parent_ids}
        self._runs[run_id] = (run_type, shared | {"tags": tags or [], "metadata": metadata or {}})
        await self._send(event, run_id, data)

    async def _send(self, event: str, run_id: UUID, data: Any, name: str | None = None) -> None:
        run_type, shared = self._runs.get(run_id) or ("chain", _unknown_run(run_id))
        v2 = {"event": event, **shared, "data": data}
        if name is not None:
            v2["name"] = name
        if self._filter is None or self._filter.include_event(v2, run_type):  # type: ignore[arg-type]
            await self._emit(v2)

    async def on_chat_model_start(self, serialized: dict[str, Any], messages: Any, **kwargs: Any) -> None:
        await self._start("on_chat_model_start", "chat_model", serialized, {"input": {"messages": messages}}, **kwargs)

    async def on_llm_new_token(
        self, token: str | list[str | dict[str, Any]], *, chunk: Any = None, run_id: UUID, **kwargs: Any
    ) -> None:
        message = getattr(chunk, "message", None)
        if message is not None:  # chat models only
            await self._send("on_chat_model_stream", run_id, {"chunk": message})

    async def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kwargs: Any) -> None:
        generation = response.generations[0][0] if response.generations and response.generations[0] else None
        await self._send("on_chat_model_end", run_id, {"output": getattr(generation, "message", None)})

    async def on_chain_start(self, serialized: dict[str, Any] | None, inputs: Any, **kwargs: Any) -> None:
        run_type = kwargs.pop("run_type", None) or "chain"
        await self._start("on_chain_start", run_type, serialized, {"input": inputs}, **kwargs)

    async def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        await self._send("on_chain_end", run_id, {"output": outputs})

    async def on_tool_start(self, serialized: dict[str, Any] | None, input_str: str, **kwargs: Any) -> None:
        inputs = kwargs.pop("inputs", None)
        if call_id := kwargs.pop("tool_call_id", None):
            self._tool_calls[kwargs["run_id"]] = call_id
        await self._start("on_tool_start", "tool", serialized, {"input": inputs or {}}, **kwargs)

    async def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._tool_calls.pop(run_id, None)
        await self._send("on_tool_end", run_id, {"output": output})

    async def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        call_id = kwargs.get("tool_call_id") or self._tool_calls.pop(run_id, None)
        await self._send("on_tool_error", run_id, {"error": error, "tool_call_id": call_id})

    async def on_custom_event(
        self, name: str, data: Any, *, run_id: UUID, tags: list[str] | None = None, metadata: Any = None, **kwargs: Any
    ) -> None:
        await self._send("on_custom_event", run_id, data, name=name)


def _unknown_run(run_id: UUID) -> dict[str, Any]:
    return {"name": "", "run_id": str(run_id), "parent_ids": [], "tags": [], "metadata": {}}


def _name(serialized: dict[str, Any] | None) -> str:
    if not serialized:
        return "Unnamed"
    return str(serialized.get("name") or (serialized.get("id") or ["Unnamed"])[-1])
