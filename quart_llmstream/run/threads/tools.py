"""A LangGraph graph's tools, as the request side must know them: which the server runs (its tool nodes'), and
which the client runs (those ``ClientTools`` declares; a request's own are the request's to say).

A client is trusted with no tool call: it may answer only calls of tools it runs, and may edit a call only into a
call of the same tool with arguments that tool takes. Looked up only when a request carries a tool result or a
decision, so a plain question pays nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["GraphTools", "graph_tools"]


@dataclass(frozen=True, slots=True)
class GraphTools:
    server: Mapping[str, Any]
    """The graph's own tools by name (``BaseTool``s of its tool nodes)."""
    client: frozenset[str]
    """The names of tools declared on the server for the client to run (``ClientTools(...)``)."""

    def bad_args(self, name: str, args: dict[str, Any]) -> str | None:
        """Why ``args`` do not fit the server tool ``name`` (``path: message; ...``), or None: they fit, or
        its schema cannot tell (a JSON schema rather than a model)."""
        schema = getattr(self.server.get(name), "tool_call_schema", None)  # the model's view: no injected args
        if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
            return None
        try:
            schema.model_validate(args)
        except ValidationError as exc:
            return "; ".join(
                f"{'.'.join(map(str, error['loc'])) or '(args)'}: {error['msg']}" for error in exc.errors()
            )
        except Exception:  # a validator of the user's that fails otherwise: the tool will say
            return None
        return None


def graph_tools(graph: Any, depth: int = 8) -> GraphTools:
    """The tools of ``graph``'s nodes, and of the graphs inside them (subgraphs, an agent as a node): a
    ``ToolNode``'s (``tools_by_name``), and the declared client tools of any middleware node whose owner says which
    (``client_tool_names``, as :class:`~quart_llmstream.agents.ClientTools` does)."""
    server: dict[str, Any] = {}
    client: set[str] = set()
    for node in getattr(graph, "nodes", {}).values() if depth else ():
        bound = getattr(node, "bound", None)
        tools = getattr(bound, "tools_by_name", None)
        if isinstance(tools, Mapping):
            server.update(tools)
        if hasattr(bound, "nodes") and bound is not graph:  # a subgraph
            inner = graph_tools(bound, depth - 1)
            server.update(inner.server)
            client |= inner.client
        function = getattr(bound, "afunc", None) or getattr(bound, "func", None)
        names = getattr(getattr(function, "__self__", None), "client_tool_names", None)
        if isinstance(names, frozenset):
            client |= names
    return GraphTools(server, frozenset(client - set(server)))
