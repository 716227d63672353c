"""Example app: a chat page at ``/`` and the same agent streamed in every protocol: the native format at
``POST /api/chat`` (the page's), the Vercel AI SDK's at ``POST /api/ai-sdk/chat`` and AG-UI's at
``POST /api/ag-ui/chat``, LangGraph's server API below ``/api/langgraph`` (``useStream``, Agent Chat UI and
LangGraph's SDKs, assistant ``agent``), and OpenAI's Chat Completions below ``/v1`` (any OpenAI client's base
URL). The agent is a LangChain ``create_agent`` graph with a checkpointer: each chat is a thread.

``hypercorn example_app:app`` serves it. With no configuration it runs on an offline demo model;
``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` (and ``OPENAI_MODEL``) switch to ``ChatOpenAI``; Langfuse turns
on from its keys. ``LLMSTREAM_*`` environment variables set the blueprint's options. ``DATABASE_URL`` (a
``postgresql://`` URL; extra ``[postgres]``) keeps the threads in PostgreSQL, shared by every process serving the
app (one run at a time on a thread, across them); without it they live in this process's memory.

Each answer on the page has thumbs: a rating goes to ``POST /api/chat/feedback`` (a Langfuse score when Langfuse is
on; the log here). With ``prometheus-client`` installed, ``GET /metrics`` serves the streams' metrics to a scraper
on this host.

Each browser is a user of its own (a ``demo_user`` cookie the page sets: an app with a login takes the user from
its session instead), so the page's sidebar lists that browser's conversations only.
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import Any, Literal

from quart import Quart, Response, abort, request
from werkzeug.http import parse_cookie

from quart_llmstream import ChatRequest, Feedback, LLMStream, create_blueprint

from .agent import LOCAL_TIME, PREDICT_STATE, build_agent, chat_model

log = logging.getLogger("example_app")
_ENVIRONMENT = ("LLMSTREAM_", "OPENAI_", "LANGFUSE_", "DEMO_", "DATABASE_URL")
PROTOCOLS: tuple[Literal["ai-sdk", "ag-ui"], ...] = ("ai-sdk", "ag-ui")
_DEFAULTS = {
    "LLMSTREAM_EVENTS": "token,tool,start,end",
    "LLMSTREAM_MAX_STREAMS": 100,
    "LLMSTREAM_RESUME": "memory",
    "LLMSTREAM_PREDICT_STATE": PREDICT_STATE,
}


def browser_user(chat_request: ChatRequest) -> str:
    """Who a request speaks for: the browser's ``demo_user`` cookie (a client without one is ``anonymous``)."""
    return parse_cookie(chat_request.headers.get("Cookie", "")).get("demo_user") or "anonymous"


def log_feedback(chat_request: ChatRequest, feedback: Feedback) -> None:
    """Where an app keeps ratings of its answers (a table, an analytics event); the log here."""
    log.info("rated %s: %s (thread %s) %s", feedback.run_id, feedback.score, feedback.thread_id, feedback.comment or "")


def create_app(config: dict[str, Any] | None = None) -> Quart:
    """The app factory: defaults, then the environment, then ``config``."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s")
    app = Quart(__name__, static_folder=str(Path(__file__).parent / "static"), static_url_path="/static")
    app.config.update(_DEFAULTS)
    app.config.update({k: v for k, v in os.environ.items() if k.startswith(_ENVIRONMENT)})
    app.config.update(config or {})
    app.config.setdefault("LLMSTREAM_STREAM_OWNER", browser_user)
    app.config.setdefault("LLMSTREAM_ON_FEEDBACK", log_feedback)
    model = chat_model(app.config)
    agent = build_agent(model, LOCAL_TIME)  # the page, and the AI SDK's clients, run the clock
    openai_agent = build_agent(model)  # OpenAI clients declare the tools they run in the request
    metrics = _metrics(app)
    if database := app.config.get("DATABASE_URL"):
        from .postgres import on_postgres

        on_postgres(app, database, metrics, agent, openai_agent)
    else:
        LLMStream(app, metrics=metrics)

    def build_runnable(chat_request: ChatRequest) -> Any:
        return agent  # a real app may pick a model or tools per user here

    app.register_blueprint(create_blueprint(build_runnable), url_prefix="/api")
    for protocol in PROTOCOLS:  # one factory, one blueprint per protocol
        blueprint = create_blueprint(build_runnable, name=protocol, protocol=protocol)
        app.register_blueprint(blueprint, url_prefix=f"/api/{protocol}")
    langgraph = create_blueprint(build_runnable, name="agent", protocol="langgraph")  # useStream, LangGraph's SDKs
    app.register_blueprint(langgraph, url_prefix="/api/langgraph")
    openai = create_blueprint(lambda _: openai_agent, name="demo-agent", protocol="openai", events="token")
    app.register_blueprint(openai, url_prefix="/v1")

    @app.get("/")
    async def chat_page() -> Response:
        return await app.send_static_file("index.html")

    @app.before_serving
    async def freeze_startup_objects() -> None:
        """Keep LangChain's and pydantic's long-lived objects out of full collections (see docs/performance.md)."""
        gc.collect()
        gc.freeze()

    return app


def _metrics(app: Quart) -> Any:
    """Prometheus metrics at ``GET /metrics``, for a scraper on this host only (an app protects the route as any
    other), when ``prometheus-client`` is installed. A request through a proxy on this host comes from this host
    too: one that says it was forwarded is refused."""
    try:
        from quart_llmstream.metrics import PrometheusMetrics

        metrics = PrometheusMetrics()
    except ImportError:
        return None
    route = metrics.blueprint()

    async def local_only() -> None:
        forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
        if request.remote_addr not in ("127.0.0.1", "::1", "<local>") or forwarded:
            abort(403)

    route.before_request(local_only)
    app.register_blueprint(route)
    return metrics


app = create_app()
