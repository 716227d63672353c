"""An app with resumable streams, served by Hypercorn subprocesses in the resume tests.

``RESUME`` is the store (a Redis URL; with ``RESUME_CLUSTER`` set, a ``RedisCluster`` client of that node);
the model streams ``t1 `` to ``t60 ``, one every ``TOKEN_DELAY`` seconds; a stream belongs to the ``X-User``
header's user.
"""

from __future__ import annotations

import os
from typing import Any

from quart import Quart

from quart_llmstream import create_blueprint

from fakes import answering

TOKENS = [f"t{i} " for i in range(1, 61)]


def store() -> Any:
    if not os.environ.get("RESUME_CLUSTER"):
        return os.environ["RESUME"]
    from redis.asyncio import RedisCluster

    return RedisCluster.from_url(os.environ["RESUME"])


app = Quart(__name__)
app.register_blueprint(
    create_blueprint(
        lambda _: answering(*TOKENS, delay=float(os.environ.get("TOKEN_DELAY", "0.05"))),
        resume=store(),
        stream_owner=lambda chat_request: chat_request.headers.get("X-User"),
        heartbeat=0.5,
    )
)
