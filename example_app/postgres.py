"""The example's threads in PostgreSQL: LangGraph's ``AsyncPostgresSaver`` keeps the checkpoints, its
``AsyncPostgresStore`` the threads' records (the sidebar's list), and :class:`~quart_llmstream.PostgresHolds` the
leases that let one run at a time on a thread across every process serving the app."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Quart

from quart_llmstream import LLMStream, PostgresHolds

_SETUP = 7_245_319  # the advisory lock the processes setting up the tables take in turn


def on_postgres(app: Quart, url: str, metrics: Any, *graphs: Any) -> None:
    """Keep ``graphs``' threads, their records and the holds on them in the database at ``url``; ``metrics``: the
    app's (or None)."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.store.postgres.aio import AsyncPostgresStore
    from psycopg.rows import dict_row
    from psycopg_pool import AsyncConnectionPool

    extension = LLMStream(app, holds=PostgresHolds(url), metrics=metrics)
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}  # as the saver needs them
    check = AsyncConnectionPool.check_connection  # a connection the server closed (a restart): not handed out
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(url, open=False, kwargs=kwargs, check=check)

    @app.before_serving
    async def connect() -> None:
        await pool.open()
        saver, store = AsyncPostgresSaver(pool), AsyncPostgresStore(pool)
        async with pool.connection() as lock:  # one process at a time: several start at once (--workers 4)
            while not await _taken(lock):  # asked again, not waited in: the setup's CREATE INDEX CONCURRENTLY
                await asyncio.sleep(0.1)  # waits for every statement going on, a lock's waiting one included
            try:
                await saver.setup()  # the tables, made once (a no-op after)
                await store.setup()
            finally:
                await lock.execute("SELECT pg_advisory_unlock(%s)", (_SETUP,))
        for graph in graphs:
            graph.checkpointer = saver
        extension.thread_store = store

    @app.after_serving
    async def disconnect() -> None:
        await pool.close()


async def _taken(connection: Any) -> bool:
    """The setup's lock, if no other process holds it (the pool's rows are dicts)."""
    cursor = await connection.execute("SELECT pg_try_advisory_lock(%s) AS taken", (_SETUP,))
    return bool((await cursor.fetchone())["taken"])
