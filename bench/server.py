"""A benchmark server process: ``python -m bench.server <app> <port> <cpu>``, pinned to one CPU.

Every server, the hand-written one included, is set up as a production Python server is: after
start-up, ``gc.freeze()`` moves the long-lived objects (LangChain's and pydantic's schemas, modules)
out of the collector's way, so a full collection does not walk them while streams wait.
"""

from __future__ import annotations

import asyncio
import gc
import os
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config

import quart_llmstream
from bench.apps import APPS


def check_package() -> None:
    """A server of ``<app>@<rev>`` must run that revision's package, not this tree's."""
    expected = os.environ.get("BENCH_PACKAGE")
    if expected and not quart_llmstream.__file__.startswith(expected):  # type: ignore[union-attr]
        raise RuntimeError(f"meant to import the package from {expected}, imported {quart_llmstream.__file__}")


def main() -> None:
    check_package()
    name, port, cpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.sched_setaffinity(0, {cpu})
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.backlog = 2048
    app = APPS[name]()
    gc.collect()
    gc.freeze()
    asyncio.run(serve(app, config))


if __name__ == "__main__":
    main()
