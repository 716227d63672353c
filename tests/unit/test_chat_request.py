"""Every bad request gets a 4xx JSON answer that says what is wrong, before any streaming."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import Runnable
from quart import Quart

from quart_llmstream import ChatRequest, create_blueprint

from fakes import answering


def make_app(**options: Any) -> tuple[Quart, list[ChatRequest]]:
    seen: list[ChatRequest] = []

    def factory(chat_request: ChatRequest) -> Runnable[Any, Any]:
        seen.append(chat_request)
        return answering("ok")

    app = Quart(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 4096 if options.pop("small", True) else 1 << 20
    options = {"max_question_chars": 50, "max_history": 2, "max_tools": 3, **options}
    app.register_blueprint(create_blueprint(factory, **options))
    return app, seen


BAD_BODIES = [
    ("not json", b"{nope", 400, "invalid_json", "not valid JSON"),
    ("not utf-8", b'{"question": "\xff"}', 400, "invalid_json", "not valid JSON"),
    ("not an object", b'["question"]', 400, "invalid_json", "JSON object"),
    ("null", b"null", 400, "invalid_json", "JSON object"),
    ("missing question", b'{"chat_history": []}', 400, "invalid_request", "question: required unless the history"),
    ("empty question", b'{"question": ""}', 400, "invalid_request", "question: must not be empty"),
    ("blank question", b'{"question": "  \\n"}', 400, "invalid_request", "must not be empty"),
    ("number question", b'{"question": 42}', 400, "invalid_request", "question: Input should be a valid string"),
    ("history not a list", b'{"question": "q", "chat_history": "hi"}', 400, "invalid_request", "chat_history"),
    (
        "unknown role",
        b'{"question": "q", "chat_history": [{"role": "robot", "content": "x"}]}',
        400,
        "invalid_request",
        "chat_history.0.role",
    ),
    (
        "non-string content",
        b'{"question": "q", "chat_history": [{"role": "user", "content": 5}]}',
        400,
        "invalid_request",
        "chat_history.0.content",
    ),
    ("bad pair", b'{"question": "q", "chat_history": [["user"]]}', 400, "invalid_request", "[role, content]"),
    ("question too long", json.dumps({"question": "x" * 51}).encode(), 400, "invalid_request", "at most 50 characters"),
    (
        "history too long",
        json.dumps({"question": "q", "chat_history": [["user", "a"]] * 3}).encode(),
        400,
        "invalid_request",
        "at most 2 messages",
    ),
    ("body too large", json.dumps({"question": "q" * 5000}).encode(), 413, "payload_too_large", "4096 bytes"),
    (
        "a tool result with no call id",
        b'{"question": "q", "chat_history": [{"role": "tool", "content": "x"}]}',
        400,
        "invalid_request",
        "chat_history.0: a tool result needs the tool_call_id",
    ),
    (
        "a result answering no call",
        json.dumps(
            {
                "chat_history": [
                    {"role": "assistant", "tool_calls": [{"id": "c1", "name": "clock", "args": {}}]},
                    {"role": "tool", "tool_call_id": "c9", "content": "x"},
                ]
            }
        ).encode(),
        400,
        "invalid_request",
        "the tool result for 'c9' answers no call",
    ),
    (
        "no question after an answer",
        b'{"chat_history": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}',
        400,
        "invalid_request",
        "question: required unless the history ends with tool results",
    ),
    ("a bad thread id", b'{"question": "q", "thread_id": "a/b"}', 400, "invalid_request", "thread id: 1 to 128"),
    ("an owner's scoped thread", b'{"question": "q", "thread_id": "alice:t1"}', 400, "invalid_request", "thread id"),
    ("tools not a list", b'{"question": "q", "tools": {"name": "x"}}', 400, "invalid_request", "tools: Input should"),
    (
        "a tool with a bad name",
        b'{"question": "q", "tools": [{"name": "a b"}]}',
        400,
        "invalid_request",
        "tools.0: the name must be 1 to 64",
    ),
    (
        "a tool name of 65 characters",
        json.dumps({"question": "q", "tools": [{"name": "t" * 65}]}).encode(),
        400,
        "invalid_request",
        "tools.0: the name must be 1 to 64",
    ),
    (
        "a tool whose parameters are no object schema",
        b'{"question": "q", "tools": [{"name": "clock", "parameters": {"type": "string"}}]}',
        400,
        "invalid_request",
        "tools.0 (clock): parameters must be a JSON Schema of an object",
    ),
    (
        "a tool over 64 KB",
        json.dumps({"question": "q", "tools": [{"name": "big", "description": "x" * 70_000}]}).encode(),
        400,
        "invalid_request",
        "tools.0 (big): over 64 KB of JSON",
    ),
    (
        "more tools than max_tools",
        json.dumps({"question": "q", "tools": [{"name": f"t{i}"} for i in range(4)]}).encode(),
        400,
        "invalid_request",
        "tools: at most 3 tools, got 4",
    ),
    (
        "a tool declared twice",
        b'{"question": "q", "tools": [{"name": "clock"}, {"type": "function", "function": {"name": "clock"}}]}',
        400,
        "invalid_request",
        "tools: clock declared more than once",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "error", "detail"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
async def test_bad_body_gets_a_4xx_json_error(body: bytes, status: int, error: str, detail: str) -> None:
    app, seen = make_app(small=len(body) < 5000 or b"tools" not in body)
    response = await app.test_client().post("/chat", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status
    assert response.mimetype == "application/json"
    answer = await response.get_json()
    assert answer["error"] == error
    assert detail in answer["detail"]
    assert seen == []  # the factory never ran


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_wrong_content_type_gets_415(content_type: str | None) -> None:
    app, _ = make_app()
    headers = {"Content-Type": content_type} if content_type else {}
    response = await app.test_client().post("/chat", data=b'{"question": "q"}', headers=headers)
    assert response.status_code == 415
    assert (await response.get_json())["error"] == "unsupported_media_type"


async def test_only_post_is_allowed() -> None:
    app, _ = make_app()
    assert (await app.test_client().get("/chat")).status_code == 405


async def test_history_in_both_shapes_becomes_messages() -> None:
    app, seen = make_app(max_history=10)
    body = {
        "question": "and now?",
        "chat_history": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
            ["assistant", "hello"],
            ["human", "again"],
            {"role": "ai", "content": "yes", "id": "a-5"},
        ],
        "session": "s-1",
    }
    response = await app.test_client().post("/chat", json=body, headers={"X-Tenant": "acme"})
    assert response.status_code == 200
    assert (await response.get_data()).endswith(b'data: {"token":"ok"}\n\ndata: [DONE]\n\n')
    [chat_request] = seen
    assert chat_request.question == "and now?"
    assert [(type(m), m.content) for m in chat_request.chat_history] == [
        (SystemMessage, "be brief"),
        (HumanMessage, "hi"),
        (AIMessage, "hello"),
        (HumanMessage, "again"),
        (AIMessage, "yes"),
    ]
    assert chat_request.body["session"] == "s-1"
    assert chat_request.headers["X-Tenant"] == "acme"
    assert chat_request.messages[:-1] == chat_request.chat_history
    assert chat_request.messages[-1].text == "and now?"
    assert chat_request.messages[4].id == "a-5"
    assert chat_request.messages[-1].id.startswith("user-"), "named by its text and place, as a thread needs"


async def test_a_continuation_with_tool_results_and_declared_tools_is_a_chat_request() -> None:
    app, seen = make_app(max_history=10)
    body = {
        "thread_id": "t-1",
        "tools": [
            {"name": "clock", "description": "The browser's time"},
            {"type": "function", "function": {"name": "locate", "parameters": {"type": "object", "properties": {}}}},
        ],
        "chat_history": [
            {"role": "user", "content": "What time is it?", "id": "u1"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "name": "clock", "args": {}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "10:00"},
        ],
    }
    response = await app.test_client().post("/chat", json=body)
    assert response.status_code == 200
    [chat_request] = seen
    assert chat_request.continues and chat_request.question == "What time is it?"
    assert chat_request.thread_id == "t-1"
    call, result = chat_request.messages[1:]
    assert isinstance(call, AIMessage) and call.tool_calls[0]["id"] == "c1"
    assert isinstance(result, ToolMessage) and result.tool_call_id == "c1" and result.text == "10:00"
    assert chat_request.tools == [
        {
            "type": "function",
            "function": {
                "name": "clock",
                "parameters": {"type": "object", "properties": {}},
                "description": "The browser's time",
            },
        },
        {"type": "function", "function": {"name": "locate", "parameters": {"type": "object", "properties": {}}}},
    ]
