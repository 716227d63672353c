"""An app for the server tests, served by each ASGI server in a process of its own: a slow model, and
``GET /ended``, the statuses ``on_end`` saw, so a test can tell from outside that a run was cancelled; its streams
resumable from the Redis ``SERVER_APP_REDIS`` names, when set, and traced to the Langfuse host
``SERVER_APP_LANGFUSE`` names, when set."""

from __future__ import annotations

import os
from typing import Any

from quart import Quart

from quart_llmstream import StreamResult, create_blueprint

from fakes import answering

ended: list[str] = []


def on_end(_: Any, result: StreamResult) -> None:
    ended.append(result.status)


app = Quart(__name__)
if langfuse := os.environ.get("SERVER_APP_LANGFUSE"):
    app.config.update(
        LANGFUSE_PUBLIC_KEY="pk-lf-server", LANGFUSE_SECRET_KEY="sk-lf-server", LANGFUSE_BASE_URL=langfuse
    )
slow = lambda _: answering(*["tick "] * 1000, delay=0.02)  # noqa: E731
app.register_blueprint(create_blueprint(slow, on_end=on_end, heartbeat=0, resume=os.environ.get("SERVER_APP_REDIS")))


@app.get("/ended")
async def statuses() -> Any:
    return {"ended": ended}
