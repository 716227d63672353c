"""The apps a benchmark server serves, by name (``python -m bench.server <name> <port> <cpu>``), built from
:mod:`bench.library`; those that need more (PostgreSQL, LangGraph's reference graph) are imported when made."""

from __future__ import annotations

import os
from collections.abc import Callable

from quart import Quart

from bench.library import answer_graph_app, graph_app, hand_written_app, library_app, metrics_app
from quart_llmstream import create_blueprint


def _reference_app() -> Quart:
    """The graph scenario (l) serves from LangGraph's own server too, in the LangGraph protocol."""
    from bench.langgraph_reference.graph import graph

    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: graph, name="agent", protocol="langgraph"))
    return app


def _thread_app(holds: str) -> Quart:
    from bench.threads import thread_app  # PostgreSQL's drivers: only for scenario (p)

    return thread_app(holds)


APPS: dict[str, Callable[[], Quart]] = {
    "default": lambda: library_app("astream_events"),
    "lean": lambda: library_app("callbacks"),
    "hand": hand_written_app,
    **{
        protocol: (lambda protocol=protocol: library_app("astream_events", protocol))
        for protocol in ("ai-sdk", "ag-ui", "openai")
    },
    "resume-redis": lambda: library_app("astream_events", resume=os.environ["BENCH_REDIS"]),
    "graph-state": lambda: graph_app(True),
    "graph-no-state": lambda: graph_app(False),
    "graph-native": lambda: answer_graph_app("native"),
    **{f"{source}-metrics": (lambda source=source: metrics_app(source)) for source in ("default", "lean")},
    "langgraph": lambda: answer_graph_app("langgraph"),
    "langgraph-bench": _reference_app,
    **{f"threads-{holds}": (lambda holds=holds: _thread_app(holds)) for holds in ("postgres", "local")},
}
