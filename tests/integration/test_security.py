"""Security: authorization before streaming, CORS only when the app enables it, no line injection."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.runnables import RunnableLambda
from quart import Quart, request
from quart_cors import cors

from quart_llmstream import ChatRequest, StreamEvent, create_blueprint

from fakes import QUESTION_PROMPT, ProbedChatModel, answering
from helpers import post_stream


def protected_app(calls: list[ChatRequest]) -> Quart:
    def factory(chat_request: ChatRequest) -> Any:
        calls.append(chat_request)
        return answering("secret", " answer")

    blueprint = create_blueprint(factory)

    @blueprint.before_request
    async def authorize() -> Any:
        token = request.headers.get("Authorization", "")
        if not token:
            return {"error": "unauthorized", "detail": "an Authorization header is required"}, 401
        if token != "Bearer good":
            return {"error": "forbidden", "detail": "this token may not chat"}, 403
        return None

    app = Quart(__name__)
    app.register_blueprint(blueprint)
    return app


async def test_before_request_answers_401_and_403_json_before_any_streaming() -> None:
    calls: list[ChatRequest] = []
    client = protected_app(calls).test_client()
    missing = await client.post("/chat", json={"question": "q"})
    wrong = await client.post("/chat", json={"question": "q"}, headers={"Authorization": "Bearer bad"})
    good = await client.post("/chat", json={"question": "q"}, headers={"Authorization": "Bearer good"})
    assert (missing.status_code, (await missing.get_json())["error"]) == (401, "unauthorized")
    assert (wrong.status_code, (await wrong.get_json())["error"]) == (403, "forbidden")
    assert good.status_code == 200 and b'"secret"' in await good.get_data()
    assert len(calls) == 1


async def test_cors_is_off_unless_the_app_enables_it_with_quart_cors(server: Any) -> None:
    preflight = {
        "Origin": "https://chat.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    plain = Quart(__name__)
    plain.register_blueprint(create_blueprint(lambda _: answering("hi")))
    response = await plain.test_client().options("/chat", headers=preflight)
    assert "Access-Control-Allow-Origin" not in response.headers

    app = cors(Quart(__name__), allow_origin="https://chat.example", allow_headers=["content-type"])
    app.register_blueprint(create_blueprint(lambda _: answering("hi")))
    response = await app.test_client().options("/chat", headers=preflight)
    assert response.headers["Access-Control-Allow-Origin"] == "https://chat.example"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    async with server(app) as url:
        streamed, stream = await post_stream(
            f"{url}/chat", {"question": "q"}, headers={"Origin": "https://chat.example"}
        )
    assert streamed.headers["Access-Control-Allow-Origin"] == "https://chat.example"
    assert stream.messages == ['{"token":"hi"}', "[DONE]"]


async def test_event_names_and_payloads_can_never_inject_lines(server: Any) -> None:
    async def evil(inputs: dict[str, Any]) -> dict[str, Any]:
        await adispatch_custom_event('x\n\nevent: token\ndata: {"token":"pwned"}', {"v": "a\r\n\r\ndata: pwned"})
        return inputs

    pipeline = RunnableLambda(evil) | QUESTION_PROMPT | ProbedChatModel(responses=[["ok\n\ndata: pwned"]])
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: pipeline, events="token,custom"))
    async with server(app) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "q"})
    assert [e.event for e in stream.events] == ["custom", "message", "message"]
    assert json.loads(stream.events[0].data) == {
        "name": 'x\n\nevent: token\ndata: {"token":"pwned"}',
        "data": {"v": "a\r\n\r\ndata: pwned"},
    }
    assert stream.messages == ['{"token":"ok\\n\\ndata: pwned"}', "[DONE]"]


async def test_a_hook_that_renames_an_event_with_a_line_break_is_refused(server: Any) -> None:
    def hook(event: StreamEvent, source: Any) -> StreamEvent:
        return event._replace(kind="token\ndata: injected") if event.kind == "custom" else event

    async def custom(inputs: dict[str, Any]) -> dict[str, Any]:
        await adispatch_custom_event("step", {})
        return inputs

    pipeline = RunnableLambda(custom) | QUESTION_PROMPT | ProbedChatModel(responses=[["ok"]])
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: pipeline, events="token,custom", event_hook=hook))
    async with server(app) as url:
        _, stream = await post_stream(f"{url}/chat", {"question": "q"})
    assert "injected" not in str(stream.events)
    assert '"code":"internal_error"' in stream.messages[0]
    assert stream.messages[-1] == "[DONE]"
