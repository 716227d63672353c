"""An app with a slow model, served by a Hypercorn subprocess in the shutdown test."""

from __future__ import annotations

from quart import Quart

from quart_llmstream import create_blueprint

from fakes import answering

app = Quart(__name__)
app.register_blueprint(create_blueprint(lambda _: answering(*["tick"] * 1000, delay=0.05), heartbeat=0))
