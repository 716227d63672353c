"""Callbacks and RunnableConfig per request: each run can carry its user and session."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from langchain_core.callbacks import AsyncCallbackHandler
from quart import Quart

from quart_llmstream import ChatRequest, create_blueprint

from fakes import answering
from helpers import post_stream


class Recorder(AsyncCallbackHandler):
    """Records what each chat model run was started with."""

    def __init__(self) -> None:
        self.starts: list[dict[str, Any]] = []
        self.roots: list[UUID] = []

    async def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
        self.starts.append({"tags": kwargs.get("tags"), "metadata": kwargs.get("metadata")})

    async def on_chain_start(
        self, serialized: Any, inputs: Any, *, run_id: UUID, parent_run_id: Any = None, **kwargs: Any
    ) -> None:
        if parent_run_id is None:
            self.roots.append(run_id)


async def test_static_callbacks_and_a_per_request_config_hook(server: Any) -> None:
    shared = Recorder()
    per_request: list[Recorder] = []

    async def run_config(chat_request: ChatRequest) -> dict[str, Any]:
        handler = Recorder()
        per_request.append(handler)
        user = chat_request.headers["X-User"]
        return {
            "callbacks": [handler],
            "metadata": {"langfuse_user_id": user, "langfuse_session_id": chat_request.body["session"]},
            "tags": [f"user:{user}"],
            "run_name": "chat",
        }

    app = Quart(__name__)
    app.register_blueprint(
        create_blueprint(lambda _: answering("hi"), callbacks=[shared], run_config=run_config, events="token,start")
    )
    async with server(app) as url:
        for user in ("ann", "bob"):
            _, stream = await post_stream(
                f"{url}/chat", {"question": "q", "session": f"s-{user}"}, headers={"X-User": user}
            )
            assert stream.messages == ['{"token":"hi"}', "[DONE]"]
            assert stream.events[0].event == "start"
    assert [s["metadata"]["langfuse_user_id"] for s in shared.starts] == ["ann", "bob"]
    assert [s["metadata"]["langfuse_session_id"] for s in shared.starts] == ["s-ann", "s-bob"]
    assert ["user:ann" in s["tags"] for s in shared.starts] == [True, False]
    assert ["user:bob" in s["tags"] for s in shared.starts] == [False, True]
    assert [len(h.starts) for h in per_request] == [1, 1]
    assert len(set(shared.roots)) == 2  # each request is its own run


async def test_the_start_frame_names_the_run_id_the_callbacks_see(server: Any) -> None:
    recorder = Recorder()
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering("x"), callbacks=[recorder], events="token,start"))
    async with server(app) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "q"})
    assert stream.events[0].event == "start"
    assert stream.events[0].data == f'{{"run_id":"{recorder.roots[0]}"}}'


async def test_a_failing_config_hook_is_a_500_before_streaming() -> None:
    def run_config(_: ChatRequest) -> dict[str, Any]:
        raise KeyError("tenant")

    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering("x"), run_config=run_config))
    response = await app.test_client().post("/chat", json={"question": "q"})
    assert response.status_code == 500
    assert (await response.get_json())["error"] == "internal_error"
