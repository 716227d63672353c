"""The servers under test, all on the same paced fake model and the seed-like pipeline
``prompt | model | StrOutputParser``: the library (default and lean source, with metrics on or off) and the
hand-written Quart endpoint users write today. :mod:`bench.apps` names them for the server processes."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable
from quart import Quart, Response, request

from quart_llmstream import create_blueprint

PROMPT = ChatPromptTemplate.from_messages([MessagesPlaceholder("chat_history"), ("human", "{question}")])
WORDS = [" the", " stream", " of", " tokens", " goes", " on", " and"]
CANCELLED: list[float] = []  # monotonic times at which runs were cancelled (scenario e)


def _paced_model() -> Any:
    """The test kit's paced model (shared with the tests and the example), loaded from its file: the package at a
    ``--baseline`` revision may not have it."""
    path = Path(__file__).parent.parent / "quart_llmstream" / "testing" / "model.py"
    spec = importlib.util.spec_from_file_location("paced_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pydantic look their module up
    spec.loader.exec_module(module)
    return module.PacedChatModel


PacedChatModel = _paced_model()


class BenchChatModel(PacedChatModel):
    """``tokens`` words, one every ``delay`` seconds (at once with no delay); notes cancellations."""

    tokens: int = 200

    def script(self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None) -> list[str]:
        return [WORDS[i % len(WORDS)] for i in range(self.tokens)]

    def on_end(self, cancelled: bool) -> None:
        if cancelled:
            CANCELLED.append(time.monotonic())


def pipeline(tokens: int, delay: float, first_delay: float | None = None) -> Runnable[Any, Any]:
    paced = {"first_delay": first_delay} if first_delay is not None else {}  # an older test kit has none
    return PROMPT | BenchChatModel(tokens=tokens, delay=delay, **paced) | StrOutputParser()


def _plan(body: dict[str, Any]) -> tuple[int, float, float | None]:
    first = body.get("first_delay")
    return int(body.get("tokens", 200)), float(body.get("delay", 0.0)), None if first is None else float(first)


def library_app(source: str, protocol: str = "native", resume: str | None = None, app: Quart | None = None) -> Quart:
    app = app or Quart(__name__)
    app.register_blueprint(
        create_blueprint(
            lambda chat_request: pipeline(*_plan(chat_request.body)),
            event_source=source,
            protocol=protocol,
            resume=resume,
        )
    )
    _add_probe(app)
    return app


def hand_written_app() -> Quart:
    """The seed pattern, done right enough to compare: tokens from on_chat_model_stream only."""
    app = Quart(__name__)

    @app.post("/chat")
    async def chat() -> Response:
        body = await request.get_json()
        chain = pipeline(*_plan(body))
        inputs = {"question": body["question"], "chat_history": []}

        async def generate() -> AsyncIterator[str]:
            try:
                async for event in chain.astream_events(inputs, version="v2"):
                    if event["event"] == "on_chat_model_stream":
                        content = event["data"]["chunk"].content
                        if content:
                            yield f"data: {json.dumps({'token': content})}\n\n"
            except Exception:
                yield f"data: {json.dumps({'error': 'failed'})}\n\n"
            yield "data: [DONE]\n\n"

        response = Response(generate(), content_type="text/event-stream")
        response.timeout = None
        return response

    _add_probe(app)
    return app


STEPS = 10


def steps_graph(tokens: int, delay: float) -> Runnable[Any, Any]:
    """A LangGraph graph of ``STEPS`` steps: each but the last moves the state on (a counter, a growing
    list); the last streams the model's answer."""
    from typing import Annotated, TypedDict

    from langgraph.graph import END, START, StateGraph
    from langgraph.graph.message import add_messages

    # the functional form: annotations a function's own imports name must not be strings to resolve later
    Steps = TypedDict(  # noqa: UP013
        "Steps", {"messages": Annotated[list[BaseMessage], add_messages], "step": int, "done": list[int]}, total=False
    )

    model = BenchChatModel(tokens=tokens, delay=delay)
    graph = StateGraph(Steps)
    previous = START
    for index in range(STEPS - 1):

        def step(state: Any, index: int = index) -> Any:
            return {"step": index + 1, "done": [*state.get("done", []), index]}

        graph.add_node(f"step{index}", step)
        graph.add_edge(previous, f"step{index}")
        previous = f"step{index}"

    async def answer(state: Any) -> Any:
        return {"messages": [await model.ainvoke(state["messages"])]}

    graph.add_node("answer", answer)
    graph.add_edge(previous, "answer")
    graph.add_edge("answer", END)
    return graph.compile()


def graph_app(state: bool) -> Quart:
    """The ``STEPS``-step graph on the default source, its state streaming (every key but messages) or not."""
    app = Quart(__name__)
    factory = lambda chat_request: steps_graph(*_plan(chat_request.body)[:2])  # noqa: E731
    app.register_blueprint(create_blueprint(factory, state_keys=None if state else []))
    _add_probe(app)
    return app


def answer_graph(tokens: int, delay: float) -> Runnable[Any, Any]:
    """A one-node LangGraph graph whose model streams the answer (no checkpointer: nothing kept)."""
    from langgraph.graph import START, MessagesState, StateGraph

    model = BenchChatModel(tokens=tokens, delay=delay)

    async def answer(state: Any) -> Any:
        return {"messages": [await model.ainvoke(state["messages"])]}

    return StateGraph(MessagesState).add_node("answer", answer).add_edge(START, "answer").compile()


def answer_graph_app(protocol: str) -> Quart:
    """The one-node graph in ``protocol``: the LangGraph protocol's cost against the native one's, same graph."""
    app = Quart(__name__)
    factory = lambda chat_request: answer_graph(*_plan(chat_request.body)[:2])  # noqa: E731
    app.register_blueprint(create_blueprint(factory, protocol=protocol))  # type: ignore[arg-type]
    return app


def _add_probe(app: Quart) -> None:
    @app.get("/cancelled")
    async def cancelled() -> Any:
        return {"times": CANCELLED}


_EVENT_SOURCES = {"default": "astream_events", "lean": "callbacks"}


def metrics_app(source: str) -> Quart:
    """The library app with every metrics backend on (imported here: a ``--baseline`` package may not have them)."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from quart_llmstream import LLMStream
    from quart_llmstream.metrics import OTelMetrics, PrometheusMetrics

    app = Quart(__name__)
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    LLMStream(app, metrics=[OTelMetrics(provider), PrometheusMetrics()])
    return library_app(_EVENT_SOURCES[source], app=app)
