"""The benchmark's library app as a module-level ASGI app, for servers started from their own command line
(``uvicorn bench.asgi:app``): ``BENCH_APP`` names it (default ``lean``); start-up objects are frozen out of the
garbage collector when it starts serving, as in :mod:`bench.server`."""

from __future__ import annotations

import gc
import os

from bench.apps import APPS

app = APPS[os.environ.get("BENCH_APP", "lean")]()


@app.before_serving
async def freeze() -> None:
    gc.collect()
    gc.freeze()
