"""Python function calls per token, counted: the figure of scenario (g) that machine noise cannot move.

CPU time on a shared machine wanders by 20 % between runs of the same code; the number of Python calls a
stream makes does not. ``python -m bench.calls <app>`` drives the app in this process through Quart's test
client (streams of 200 tokens after a warm-up) under ``cProfile`` and prints the calls per token;
:func:`calls_per_token` runs it for ``<app>@<rev>`` on that revision's package.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import subprocess
import sys

from bench.processes import package_at

TOKENS, STREAMS = 200, 10


async def _count(app_name: str) -> float:
    from bench.apps import APPS
    from bench.server import check_package

    check_package()
    client = APPS[app_name]().test_client()

    async def stream() -> None:
        response = await client.post("/chat", json={"question": "q", "tokens": TOKENS})
        await response.get_data()

    for _ in range(3):
        await stream()
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(STREAMS):
        await stream()
    profile.disable()
    return pstats.Stats(profile).total_calls / (STREAMS * TOKENS)  # type: ignore[attr-defined, no-any-return]


def calls_per_token(app: str) -> float:
    """Calls per token of ``app`` (``<app>@<rev>``: at that revision), counted in a process of its own."""
    name, env, folder = package_at(app)
    done = subprocess.run(
        [sys.executable, "-m", "bench.calls", name], cwd=folder, env=env, check=True, capture_output=True, text=True
    )
    return float(json.loads(done.stdout.splitlines()[-1])["calls_per_token"])


if __name__ == "__main__":
    print(json.dumps({"calls_per_token": asyncio.run(_count(sys.argv[1]))}))
