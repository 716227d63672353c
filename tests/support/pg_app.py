"""An app whose threads live in PostgreSQL, as a deployment of several processes runs it: ``AsyncPostgresSaver``
keeps the checkpoints, ``AsyncPostgresStore`` the threads' records, ``PostgresHolds`` the leases, and (with
``REDIS_URL``) Redis the resumable streams. Owners come from ``X-User``. One blueprint per multitask strategy, on
the same graph: ``/<strategy>/chat``; and LangGraph's protocol at ``/lg``. The model answers word by word, ``DELAY``
seconds apart."""

from __future__ import annotations

import os
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.store.postgres.aio import AsyncPostgresStore
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from quart import Quart

from quart_llmstream import LLMStream, create_blueprint
from quart_llmstream.run.threads.leases import PostgresHolds

from fakes import ProbedChatModel, agent, words

URL = os.environ["DATABASE_URL"]
DELAY = float(os.environ.get("DELAY", "0.01"))
STRATEGIES = ("reject", "enqueue", "interrupt", "rollback")

app = Quart(__name__)
extension = LLMStream(app, holds=PostgresHolds(URL, lease=float(os.environ.get("LEASE", "2"))))
graph: Any = None


def reply(messages: list[BaseMessage], tools: Any) -> list[str]:
    return words(f"Answer to {messages[-1].text} from {os.getpid()} done")


async def open_pool(url: str) -> AsyncConnectionPool[Any]:
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(url, open=False, max_size=20, kwargs=kwargs)
    await pool.open()
    return pool


@app.before_serving
async def connect() -> None:
    global graph
    pool = app.config["POOL"] = await open_pool(URL)
    graph = agent(ProbedChatModel(responses=[reply], delay=DELAY), checkpointer=False)
    graph.checkpointer = AsyncPostgresSaver(pool)
    extension.thread_store = AsyncPostgresStore(pool)


@app.after_serving
async def disconnect() -> None:
    await app.config["POOL"].close()


for strategy in STRATEGIES:
    app.register_blueprint(
        create_blueprint(
            lambda _: graph,
            name=strategy,
            stream_owner=lambda chat_request: chat_request.headers.get("X-User"),
            multitask_strategy=strategy,
            resume=os.environ.get("REDIS_URL") or None,
        ),
        url_prefix=f"/{strategy}",
    )
app.register_blueprint(
    create_blueprint(
        lambda _: graph,
        name="agent",
        protocol="langgraph",
        stream_owner=lambda chat_request: chat_request.headers.get("X-User"),
        resume=os.environ.get("REDIS_URL") or "memory",
    ),
    url_prefix="/lg",
)
