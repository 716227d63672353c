"""An app with resumable streams, served by Hypercorn subprocesses in the resume tests.

``RESUME`` is the store (a Redis URL); the model streams ``t1 `` to ``t60 ``, one every ``TOKEN_DELAY``
seconds; a stream belongs to the ``X-User`` header's user.
"""

from __future__ import annotations

import os

from quart import Quart

from quart_llmstream import create_blueprint

from fakes import answering

TOKENS = [f"t{i} " for i in range(1, 61)]

app = Quart(__name__)
app.register_blueprint(
    create_blueprint(
        lambda _: answering(*TOKENS, delay=float(os.environ.get("TOKEN_DELAY", "0.05"))),
        resume=os.environ["RESUME"],
        stream_owner=lambda chat_request: chat_request.headers.get("X-User"),
        heartbeat=0.5,
    )
)
