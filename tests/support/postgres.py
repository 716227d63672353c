"""A PostgreSQL server of the tests' own: Debian's ``postgresql`` (``initdb``, ``postgres``), a cluster in a
temporary folder, on a free loopback port, gone after the test. As root, it runs as the ``postgres`` user, who owns
the folder (PostgreSQL refuses to run as root)."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from helpers import free_port, listening


def _bin(program: str) -> str:
    """A PostgreSQL program: on the PATH, or in Debian's ``/usr/lib/postgresql/<version>/bin`` (the newest)."""
    found = shutil.which(program)
    folders = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda f: int(f.split("/")[-2]), reverse=True)
    found = found or next((f"{f}/{program}" for f in folders if os.path.exists(f"{f}/{program}")), None)
    if found is None:
        raise RuntimeError("the tests need PostgreSQL's server (Debian: apt-get install postgresql)")
    return found


@asynccontextmanager
async def postgres_server() -> AsyncIterator[str]:
    """A running server; yields its URL (user ``postgres``, database ``postgres``, no password on loopback)."""
    root = os.geteuid() == 0
    as_user: dict[str, Any] = {"user": "postgres"} if root else {}
    folder = tempfile.mkdtemp(prefix="llmstream-pg-")
    if root:
        shutil.chown(folder, "postgres")
    data, port = os.path.join(folder, "data"), free_port()
    try:
        initdb = [_bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
        await asyncio.to_thread(subprocess.run, initdb, check=True, capture_output=True, cwd=folder, **as_user)
        settings = ["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=300"]
        command = [_bin("postgres"), "-D", data, "-p", str(port), "-k", folder, *settings]
        process = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **as_user)
        try:
            await listening(port, seconds=30)
            url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            await _ready(url)
            yield url
        finally:
            process.terminate()  # a smart shutdown waits for clients: the pools close first
            try:
                await asyncio.to_thread(process.wait, 10)
            except subprocess.TimeoutExpired:
                process.kill()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


async def _ready(url: str) -> None:
    """Until the server answers a query: it listens before it has started up ("the database system is starting
    up")."""
    import psycopg

    for _ in range(100):
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
                await connection.execute("SELECT 1")
            return
        except psycopg.OperationalError:
            await asyncio.sleep(0.1)
    raise RuntimeError("PostgreSQL listens but does not answer")


async def rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """What ``query`` finds in the database, read straight from it (not through the app)."""
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        cursor = await connection.execute(query, params)
        return await cursor.fetchall()


async def prepare(url: str) -> None:
    """Make the tables of the checkpointer, the store and the holds once, before the app's processes start (each
    would race the other to it)."""
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
    from langgraph.store.postgres.aio import AsyncPostgresStore

    from quart_llmstream.run.threads.leases import PostgresHolds

    async with AsyncPostgresSaver.from_conn_string(url) as saver:
        await saver.setup()
    async with AsyncPostgresStore.from_conn_string(url) as store:
        await store.setup()
    holds = PostgresHolds(url)
    await holds.busy("none")  # makes its table
    await holds.close()
