"""Python function calls per token, counted: the figure of scenario (g) that machine noise cannot move.

CPU time on a shared machine wanders by 20 % between runs of the same code; the number of Python calls a
stream makes does not. ``python -m bench.calls <app>`` drives the app in this process through Quart's test
client under ``cProfile``, streams of 200 tokens and of 1 token after a warm-up, and prints the calls per token
(what 199 more tokens cost, per token: the per-token path alone) and per start (a 1-token stream's calls: the
path of a request); :func:`calls_per_token` runs it for ``<app>@<rev>`` on that revision's package.
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


async def _count(app_name: str) -> dict[str, float]:
    from bench.apps import APPS
    from bench.server import check_package

    check_package()
    client = APPS[app_name]().test_client()

    async def stream(tokens: int) -> None:
        response = await client.post("/chat", json={"question": "q", "tokens": tokens})
        await response.get_data()

    async def calls(tokens: int) -> int:
        for _ in range(3):
            await stream(tokens)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(STREAMS):
            await stream(tokens)
        profile.disable()
        return pstats.Stats(profile).total_calls  # type: ignore[attr-defined, no-any-return]

    many = min([await calls(TOKENS) for _ in range(3)])  # a read may take one event or several: the fewest
    one = min([await calls(1) for _ in range(3)])
    return {"calls_per_token": (many - one) / (STREAMS * (TOKENS - 1)), "calls_per_start": one / STREAMS}


def calls_per_token(app: str) -> dict[str, float]:
    """Calls per token and per start of ``app`` (``<app>@<rev>``: at that revision), counted in a process of its
    own."""
    name, env, folder = package_at(app)
    done = subprocess.run(
        [sys.executable, "-m", "bench.calls", name], cwd=folder, env=env, check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_count(sys.argv[1]))))
