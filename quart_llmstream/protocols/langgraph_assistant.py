"""The one assistant a LangGraph blueprint is (its id and graph id: the blueprint's name), as LangGraph's clients
ask for it: the server's ``/ok`` and ``/info``, the assistant (searched, counted, its one version), and — from
the graph the factory builds — what LangGraph Studio draws: the graph (``xray`` for its subgraphs' nodes), its
schemas and its subgraphs'.

The drawings and schemas are LangGraph's server's, made by the same calls (``aget_graph``, the graph's JSON schemas),
so a client finds the same JSON; a graph with no name of its own (``"LangGraph"``) is named by the blueprint.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr, TypeAdapter, create_model
from quart import Response, request

from ..errors import RequestError
from .langgraph_body import checked_body, json_response
from .threads import ThreadAccess

__all__ = ["assistant_routes", "graph_routes"]

_STARTED = datetime.now(UTC).isoformat()
_NOT_CONFIG = ("__pregel_checkpointer", "__pregel_store", "checkpoint_id", "checkpoint_ns", "thread_id")


def assistant_routes(name: str) -> list[tuple[str, str, Callable[..., Any]]]:
    """``/ok``, ``/info`` and the assistant: what a client asks before its first run."""
    assistant: dict[str, Any] = {
        "assistant_id": name,
        "graph_id": name,
        "name": name,
        "description": None,
        "config": {},
        "context": {},
        "metadata": {},
        "version": 1,
        "created_at": _STARTED,
        "updated_at": _STARTED,
    }

    async def ok() -> Response:
        return json_response({"ok": True})

    async def info() -> Response:
        return json_response({"version": "quart-llmstream", "flags": {"assistants": True, "crons": False}})

    async def search_assistants() -> Response:
        body = await checked_body(_Search)
        return json_response([assistant] if _found(body, name) and body.offset == 0 else [])

    async def count_assistants() -> Response:
        return json_response(int(_found(await checked_body(_Search), name)))

    async def versions(assistant_id: str) -> Response:
        """Its versions: the one it has (an assistant is its blueprint, changed only by a deploy)."""
        _check(assistant_id, name)
        body = await checked_body(_Search)
        version = {key: value for key, value in assistant.items() if key != "updated_at"}
        return json_response([version] if not body.metadata and body.offset == 0 else [])

    async def get_assistant(assistant_id: str) -> Response:
        _check(assistant_id, name)
        return json_response(assistant)

    return [
        ("/ok", "GET", ok),
        ("/info", "GET", info),
        ("/assistants/search", "POST", search_assistants),
        ("/assistants/count", "POST", count_assistants),
        ("/assistants/<assistant_id>/versions", "POST", versions),
        ("/assistants/<assistant_id>", "GET", get_assistant),
    ]


class _Search(BaseModel):
    model_config = ConfigDict(extra="allow")

    graph_id: StrictStr | None = None
    name: StrictStr | None = None
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


def _found(search: _Search, name: str) -> bool:
    """The assistant is what ``search`` looks for: its graph (another is a ``404``, as no such graph is served), a
    part of its name, no metadata (it has none)."""
    if search.graph_id not in (None, name):
        raise RequestError(404, "not_found", f"Graph {search.graph_id!r} not found. Expected one of: [{name!r}]")
    return (search.name is None or search.name.lower() in name.lower()) and not search.metadata


def graph_routes(threads: ThreadAccess, name: str) -> list[tuple[str, str, Callable[..., Any]]]:
    """The assistant's graph drawn, its schemas, its subgraphs' schemas (each ``422`` for a runnable that is not a
    LangGraph graph)."""

    async def graph_of(assistant_id: str) -> Any:
        _check(assistant_id, name)
        graph = await threads.assistant_graph()
        return graph.copy(update={"name": name}) if graph.name == "LangGraph" else graph

    async def get_graph(assistant_id: str) -> Response:
        xray = _xray(request.args.get("xray"))
        graph = await graph_of(assistant_id)
        try:
            drawing = (await graph.aget_graph(xray=xray)).to_json()
        except NotImplementedError:
            raise RequestError(422, "invalid_request", "The graph does not support visualization") from None
        for node in drawing.get("nodes", []):
            if isinstance(node.get("data"), dict):
                node["data"].pop("id", None)  # a Python object's id: this process's, not the graph's
        return json_response(drawing)

    async def get_schemas(assistant_id: str) -> Response:
        return json_response({"graph_id": name, **_schemas(await graph_of(assistant_id))})

    async def get_subgraphs(assistant_id: str, namespace: str | None = None) -> Response:
        recurse = request.args.get("recurse", "False") in ("true", "True")
        graph = await graph_of(assistant_id)
        found = graph.aget_subgraphs(namespace=namespace, recurse=recurse)
        return json_response({ns: _schemas(subgraph) async for ns, subgraph in found})

    return [
        ("/assistants/<assistant_id>/graph", "GET", get_graph),
        ("/assistants/<assistant_id>/schemas", "GET", get_schemas),
        ("/assistants/<assistant_id>/subgraphs", "GET", get_subgraphs),
        ("/assistants/<assistant_id>/subgraphs/<namespace>", "GET", get_subgraphs),
    ]


def _check(assistant_id: str, name: str) -> None:
    if assistant_id != name:
        raise RequestError(404, "not_found", f"Assistant {assistant_id} not found")


def _xray(value: str | None) -> bool | int:
    """``xray``: ``true``/``false``, or how many levels of subgraphs to draw (``422`` for anything else)."""
    if not value or value in ("false", "False"):
        return False
    if value in ("true", "True"):
        return True
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise RequestError(422, "invalid_request", "Invalid xray value")


def _schemas(graph: Any) -> dict[str, Any]:
    """The graph's input, output, state, config and context schemas, as LangGraph's server makes them (each None
    when the graph cannot say)."""
    makers = {
        "input_schema": graph.get_input_jsonschema,
        "output_schema": graph.get_output_jsonschema,
        "state_schema": lambda: _state_schema(graph),
        "config_schema": lambda: _config_schema(graph),
        "context_schema": graph.get_context_jsonschema,
    }
    schemas: dict[str, Any] = {}
    for key, make in makers.items():
        try:
            schemas[key] = make()
        except Exception:  # a channel or type with no JSON schema: the server's answer too
            schemas[key] = None
    return schemas


def _state_schema(graph: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key in graph.stream_channels_list:
        update_type = graph.channels[key].UpdateType
        try:
            TypeAdapter(update_type).json_schema()
            fields[key] = (update_type, None)
        except Exception:
            fields[key] = (Any, None)
    schema: dict[str, Any] = create_model(graph.get_name("State"), **fields).model_json_schema()
    return schema


def _config_schema(graph: Any) -> dict[str, Any]:
    """The ``configurable`` part of the graph's config schema (not the config's other keys, nor LangGraph's own)."""
    with warnings.catch_warnings():  # deprecated in LangGraph 1.0; its server still answers with it
        warnings.simplefilter("ignore", DeprecationWarning)
        fields = getattr(graph.config_schema(), "model_fields", {})
    if "configurable" not in fields:
        return {}
    configurable: Any = fields["configurable"].annotation
    schema: dict[str, Any] = TypeAdapter(configurable).json_schema()
    for key in _NOT_CONFIG:
        schema.get("properties", {}).pop(key, None)
    config_type = getattr(graph, "config_type", None)
    if config_type is not None and hasattr(config_type, "__name__"):
        schema["title"] = config_type.__name__
    return schema
