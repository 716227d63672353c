"""Scenario (p): threads on PostgreSQL — what reading one back, listing them and holding one across processes cost.

A real PostgreSQL (Debian's, a cluster in a temporary folder, as the tests start it) holds 10,000 threads of
100 users (their records, in LangGraph's ``AsyncPostgresStore``) and one thread of 200 messages (its checkpoint,
``AsyncPostgresSaver``). A server process on one CPU answers, one request at a time: ``GET /chat/threads/<id>``
of the 200-message thread and ``GET /chat/threads?limit=50`` of one user (targets: p99 ≤ 20 ms each), and the
time to a stream's first token on a new thread with the hold kept in PostgreSQL (``PostgresHolds``) and in the
process (``LocalHolds``), in turns: the cross-process hold's cost is the difference (target ≤ 3 ms).
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from quart import Quart

from bench.library import BenchChatModel
from bench.processes import percentile, server
from quart_llmstream import LLMStream, PostgresHolds, create_blueprint

USERS, THREADS_EACH, MESSAGES = 100, 100, 200
SUPPORT = Path(__file__).parents[1] / "tests" / "support"  # the tests' PostgreSQL, started the same way


def thread_app(holds: str) -> Quart:
    """A checkpointed graph on PostgreSQL (``BENCH_DATABASE``), owners from ``X-User``, the hold in PostgreSQL
    (``holds="postgres"``) or in the process."""
    from langchain_core.messages import BaseMessage
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.store.postgres.aio import AsyncPostgresStore
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    url = os.environ["BENCH_DATABASE"]
    app = Quart(__name__)
    extension = LLMStream(app, holds=PostgresHolds(url) if holds == "postgres" else None)
    model = BenchChatModel(tokens=5, delay=0.0)

    async def answer(state: dict[str, list[BaseMessage]]) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState).add_node("answer", answer).add_edge(START, "answer").compile()
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(url, open=False, kwargs=kwargs)

    @app.before_serving
    async def connect() -> None:
        await pool.open()
        graph.checkpointer = AsyncPostgresSaver(pool)
        extension.thread_store = AsyncPostgresStore(pool)

    owner = lambda chat_request: chat_request.headers.get("X-User")  # noqa: E731
    app.register_blueprint(create_blueprint(lambda _: graph, stream_owner=owner, events="token"))
    return app


async def _seed(url: str) -> None:
    """10,000 records of 100 users, and user0's thread ``long`` of 200 messages."""
    from langchain_core.messages import AIMessage, HumanMessage
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.graph import START, MessagesState, StateGraph
    from langgraph.store.base import PutOp
    from langgraph.store.postgres.aio import AsyncPostgresStore

    from quart_llmstream.run.threads import ThreadRecords

    async with AsyncPostgresStore.from_conn_string(url) as store:
        ops = [
            PutOp(ThreadRecords.namespace(f"user{u}"), f"t{t}", {"title": f"chat {t}", "status": "idle"}, index=False)
            for t in range(THREADS_EACH)
            for u in range(USERS)
        ]
        ops.append(PutOp(ThreadRecords.namespace("user0"), "long", {"title": "long", "status": "idle"}, index=False))
        for start in range(0, len(ops), 1000):
            await store.abatch(ops[start : start + 1000])
    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        graph = StateGraph(MessagesState).add_node("n", lambda s: {}).add_edge(START, "n").compile(checkpointer=saver)
        messages = [
            HumanMessage(f"question {i} " * 8, id=f"h{i}") if i % 2 == 0 else AIMessage(f"answer {i} " * 30, id=f"a{i}")
            for i in range(MESSAGES)
        ]
        await graph.aupdate_state({"configurable": {"thread_id": "user0:long"}}, {"messages": messages})


async def _latencies(http: httpx.AsyncClient, url: str, times: int) -> list[float]:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        answer = await http.get(url, headers={"X-User": "user0"})
        spent.append(time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return spent


async def _first_tokens(port: int, times: int, prefix: str) -> list[float]:
    spent = []
    async with httpx.AsyncClient(timeout=30) as http:
        for index in range(times):
            body = {"question": "q", "thread_id": f"{prefix}{index}"}
            started = time.perf_counter()
            first = None
            async with http.stream("POST", f"http://127.0.0.1:{port}/chat", json=body, headers={"X-User": "u"}) as r:
                async for line in r.aiter_lines():  # to the end: the next stream starts on a free thread
                    if first is None and line.startswith("data: {"):
                        first = time.perf_counter() - started
            assert first is not None, "no token came"
            spent.append(first)
    return spent


async def thread_costs(requests: int) -> dict[str, Any]:
    sys.path.insert(0, str(SUPPORT))
    from postgres import postgres_server, prepare

    async with postgres_server() as url:
        await prepare(url)
        await _seed(url)
        os.environ["BENCH_DATABASE"] = url
        results: dict[str, Any] = {}
        with server("threads-postgres") as (_, port):
            async with httpx.AsyncClient(timeout=30) as http:
                base = f"http://127.0.0.1:{port}/chat/threads"
                await _latencies(http, f"{base}/long", 20)  # warm up
                read = await _latencies(http, f"{base}/long", requests)
                listed = await _latencies(http, f"{base}?limit=50", requests)
                page = (await http.get(f"{base}?limit=50", headers={"X-User": "user0"})).json()
        assert len(page["threads"]) == 50 and page["next_cursor"]
        results["read_200"] = {"p50_ms": percentile(read, 50) * 1e3, "p99_ms": percentile(read, 99) * 1e3}
        results["list_50"] = {"p50_ms": percentile(listed, 50) * 1e3, "p99_ms": percentile(listed, 99) * 1e3}
        starts: dict[str, list[float]] = {"threads-postgres": [], "threads-local": []}
        for round in range(3):  # in turns, so that a change of load hits both alike
            for app in starts:
                with server(app) as (_, port):
                    await _first_tokens(port, 10, f"warm{round}-")
                    starts[app] += await _first_tokens(port, requests // 3, f"{app}-{round}-")
        for app, spent in starts.items():
            results[app] = {"p50_ms": percentile(spent, 50) * 1e3, "p99_ms": percentile(spent, 99) * 1e3}
        results["hold_ms"] = results["threads-postgres"]["p50_ms"] - results["threads-local"]["p50_ms"]
        return results


def thread_rows(p: dict[str, Any]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """The table's rows of scenario (p)."""
    read, listed, pg, local = p["read_200"], p["list_50"], p["threads-postgres"], p["threads-local"]
    lines = [
        ("read a 200-message thread", f"p50 {read['p50_ms']:.1f} / p99 {read['p99_ms']:.1f} ms", "p99 <= 20 ms"),
        ("list 50 of 10,000 threads", f"p50 {listed['p50_ms']:.1f} / p99 {listed['p99_ms']:.1f} ms", "p99 <= 20 ms"),
        (
            "first token, hold in PostgreSQL",
            f"p50 {pg['p50_ms']:.1f} vs {local['p50_ms']:.1f} ms in-process: +{p['hold_ms']:.1f} ms",
            "<= +3 ms",
        ),
    ]
    return [("(p) threads on PostgreSQL, 100 users x 100 threads, one request at a time", lines)]


def main() -> None:  # python -m bench.threads: this scenario alone
    print(asyncio.run(thread_costs(300)))


if __name__ == "__main__":
    main()
