"""Example app: a streaming chat endpoint at ``POST /api/chat`` on an offline demo model.

Serve it with ``hypercorn example_app:app``.
"""

from __future__ import annotations

import os
from typing import Any

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import Runnable
from quart import Quart

from quart_llmstream import ChatRequest, create_blueprint

from .demo_model import DemoChatModel

PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "You are a helpful assistant."),
        MessagesPlaceholder("chat_history"),
        ("human", "{question}"),
    ]
)


def build_chain(chat_request: ChatRequest) -> Runnable[Any, Any]:
    """The runnable factory: one chain per request (a real app may pick a model per user here)."""
    return PROMPT | DemoChatModel() | StrOutputParser()


def create_app(config: dict[str, Any] | None = None) -> Quart:
    app = Quart(__name__)
    # LLMSTREAM_* environment variables become config keys of the same name (validated at registration).
    app.config.update({key: value for key, value in os.environ.items() if key.startswith("LLMSTREAM_")})
    app.config.update(config or {})
    app.register_blueprint(create_blueprint(build_chain), url_prefix="/api")
    return app


app = create_app()
