"""A benchmark server process: ``python -m bench.server <app> <port> <cpu>``, pinned to one CPU."""

from __future__ import annotations

import asyncio
import os
import sys

from hypercorn.asyncio import serve
from hypercorn.config import Config

from bench.apps import APPS


def main() -> None:
    name, port, cpu = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.sched_setaffinity(0, {cpu})
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = None
    config.errorlog = None
    config.backlog = 2048
    asyncio.run(serve(APPS[name](), config))


if __name__ == "__main__":
    main()
