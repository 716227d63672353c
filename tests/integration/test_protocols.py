"""Front-end protocols, checked by the packages that define them: the AI SDK's ``DefaultChatTransport`` and
``readUIMessageStream``, AG-UI's ``HttpAgent``, and ``@microsoft/fetch-event-source``, run by node against
a real Hypercorn serving a tool-calling agent (scripted model -> real ``@tool`` -> answer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

from quart_llmstream.protocols import PROTOCOLS

from fakes import FINAL, TOOL_CALL, ProbedChatModel, answering, tool_agent
from helpers import chat_app, eventually, node, post_stream, running

ANSWER = "".join(FINAL)
TOOL_EVENTS = "token,tool,custom"


def agent(**model_fields: Any) -> tuple[Any, ProbedChatModel]:
    model = ProbedChatModel(responses=[TOOL_CALL, FINAL], **model_fields)
    return tool_agent(model), model


def user(text: str, id: str = "u1") -> dict[str, Any]:
    return {"id": id, "role": "user", "parts": [{"type": "text", "text": text}]}


def text_of(message: dict[str, Any]) -> str:
    return "".join(part["text"] for part in message["parts"] if part["type"] == "text")


# The Vercel AI SDK


async def test_ai_sdk_assembles_the_answer_and_a_complete_tool_part() -> None:
    runnable, _ = agent()
    async with running(chat_app(runnable, protocol="ai-sdk", events=TOOL_EVENTS)) as url:
        result = await node("ai_sdk.mjs", op="send", api=f"{url}/chat", chatId="c1", messages=[user("Weather?")])
    assert result["error"] is None
    message = result["message"]
    assert text_of(message) == ANSWER
    [tool] = [part for part in message["parts"] if part["type"].startswith("tool-")]
    assert tool["type"] == "tool-get_weather" and tool["toolCallId"] == "call_1"
    assert tool["state"] == "output-available"
    assert tool["input"] == {"city": "Paris"}
    assert tool["output"]["content"] == "sunny in Paris"
    types = [chunk["type"] for chunk in result["chunks"]]
    assert types[0] == "start" and types[-1] == "finish"
    assert result["chunks"][-1]["finishReason"] == "stop"


async def test_ai_sdk_second_turn_reaches_the_runnable_as_history() -> None:
    runnable, model = agent()
    async with running(chat_app(runnable, protocol="ai-sdk", events=TOOL_EVENTS)) as url:
        api = f"{url}/chat"
        first = await node("ai_sdk.mjs", op="send", api=api, chatId="c1", messages=[user("Weather?")])
        turns = [user("Weather?"), first["message"], user("And tomorrow?", id="u2")]
        model.responses = [["Also sunny."]]
        second = await node("ai_sdk.mjs", op="send", api=api, chatId="c1", messages=turns)
    assert text_of(second["message"]) == "Also sunny."
    seen = model.probe.calls[-1]
    assert isinstance(seen[0], HumanMessage) and seen[0].text == "Weather?"
    assert isinstance(seen[1], AIMessage) and seen[1].tool_calls[0]["args"] == {"city": "Paris"}
    assert isinstance(seen[2], ToolMessage) and seen[2].tool_call_id == "call_1" and "sunny in Paris" in seen[2].text
    assert isinstance(seen[3], AIMessage) and seen[3].text == ANSWER
    assert isinstance(seen[-1], HumanMessage) and seen[-1].text == "And tomorrow?"


async def test_ai_sdk_abort_cancels_the_run_on_the_server() -> None:
    model = ProbedChatModel(responses=[["tick "] * 200], delay=0.02)
    app = chat_app(answering_with(model), protocol="ai-sdk")
    async with running(app) as url:
        result = await node(
            "ai_sdk.mjs", op="send", api=f"{url}/chat", chatId="c1", messages=[user("q")], abortAfterChunks=6
        )
        assert result["aborted"]
        await eventually(lambda: model.probe.cancelled_at is not None)
    assert model.probe.chunks_sent < 100


def answering_with(model: ProbedChatModel) -> Any:
    from fakes import QUESTION_PROMPT

    return QUESTION_PROMPT | model


# AG-UI


async def test_ag_ui_run_completes_with_tool_call_result_and_answer() -> None:
    runnable, _ = agent()
    async with running(chat_app(runnable, protocol="ag-ui", events=TOOL_EVENTS)) as url:
        messages = [{"id": "u1", "role": "user", "content": "Weather?"}]
        result = await node("ag_ui.mjs", url=f"{url}/chat", threadId="t1", runId="r1", messages=messages)
    assert result["error"] is None
    *_, call, tool, answer = result["messages"]
    assert call["role"] == "assistant"
    assert call["toolCalls"][0]["function"] == {"name": "get_weather", "arguments": '{"city": "Paris"}'}
    assert tool["role"] == "tool" and tool["toolCallId"] == call["toolCalls"][0]["id"]
    assert "sunny in Paris" in tool["content"]
    assert answer == {"id": answer["id"], "role": "assistant", "content": ANSWER}
    types = [event["type"] for event in result["events"]]
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    assert result["events"][0] | {"type": ""} == {"type": "", "threadId": "t1", "runId": "r1"}


async def test_ag_ui_history_reaches_the_runnable_in_order() -> None:
    model = ProbedChatModel(responses=[["ok"]])
    messages = [
        {"id": "s", "role": "system", "content": "Be brief."},
        {"id": "1", "role": "user", "content": "Weather?"},
        {
            "id": "2",
            "role": "assistant",
            "toolCalls": [
                call := {
                    "id": "c",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                }
            ],
        },
        {"id": "3", "role": "tool", "toolCallId": "c", "content": "snow"},
        {"id": "4", "role": "assistant", "content": "It snows."},
        {"id": "5", "role": "user", "content": [{"type": "text", "text": "And now?"}]},
    ]
    async with running(chat_app(answering_with(model), protocol="ag-ui")) as url:
        result = await node("ag_ui.mjs", url=f"{url}/chat", threadId="t", runId="r", messages=messages)
    assert result["error"] is None and result["messages"][-1]["content"] == "ok"
    seen = model.probe.calls[-1]
    assert [type(m) for m in seen] == [SystemMessage, HumanMessage, AIMessage, ToolMessage, AIMessage, HumanMessage]
    assert seen[2].tool_calls[0]["args"] == {"city": "Oslo"} and call["id"] == seen[3].tool_call_id
    assert seen[-1].text == "And now?"


async def test_ag_ui_failing_run_ends_with_run_error_not_a_hang() -> None:
    model = ProbedChatModel(responses=[["a", "b", "c"]], fail_at=1)
    async with running(chat_app(answering_with(model), protocol="ag-ui")) as url:
        messages = [{"id": "u1", "role": "user", "content": "q"}]
        result = await node("ag_ui.mjs", url=f"{url}/chat", threadId="t", runId="r", messages=messages)
    assert result["error"] is not None and "internal_error" in result["error"]
    last = result["events"][-1]
    assert last["type"] == "RUN_ERROR" and last["code"] == "internal_error"
    assert "hunter2" not in json.dumps(result)


# Heartbeats that no client mistakes for a message


async def test_fetch_event_source_sees_no_empty_message_with_heartbeats_on() -> None:
    model = ProbedChatModel(responses=[["a", "b", "c"]], delay=0.25)
    async with running(chat_app(answering_with(model), heartbeat=0.05)) as url:
        result = await node("fetch_event_source.mjs", url=f"{url}/chat", body={"question": "q"})
    assert result["error"] is None
    assert [m["data"] for m in result["messages"]] == ['{"token":"a"}', '{"token":"b"}', '{"token":"c"}', "[DONE]"]


# Bad bodies and failures, in every protocol

AI_SDK_OK = {"id": "c", "messages": [user("q")], "trigger": "submit-message"}
AG_UI_OK = {"threadId": "t", "runId": "r", "messages": [{"id": "1", "role": "user", "content": "q"}]}


@pytest.mark.parametrize(
    ("protocol", "body"),
    [
        ("ai-sdk", {"id": "c", "messages": []}),
        (
            "ai-sdk",
            {"id": "c", "messages": [{"id": "a", "role": "assistant", "parts": [{"type": "text", "text": "hi"}]}]},
        ),
        ("ai-sdk", {"id": "c", "messages": "hello"}),
        ("ai-sdk", {"id": 3, "messages": [user("q")]}),
        ("ai-sdk", {"id": "c", "messages": [{"id": "u", "role": "user", "parts": []}]}),
        ("ai-sdk", {"id": "c", "messages": [{"id": "u", "role": "robot", "parts": []}]}),
        ("ag-ui", {"threadId": "t", "runId": "r", "messages": []}),
        ("ag-ui", {"threadId": "t", "messages": [{"id": "1", "role": "user", "content": "q"}]}),
        ("ag-ui", {"threadId": "t", "runId": "r", "messages": [{"id": "1", "role": "user", "content": 7}]}),
        ("ag-ui", {"threadId": "t", "runId": "r", "messages": [{"id": "1", "role": "tool", "content": "x"}]}),
        ("ag-ui", AG_UI_OK | {"messages": [{"id": "1", "role": "assistant", "content": "only me"}]}),
    ],
)
async def test_a_bad_body_for_the_protocol_gets_a_4xx_json_error(protocol: str, body: Any) -> None:
    app = chat_app(answering("a"), protocol=protocol)
    async with running(app) as url, httpx.AsyncClient() as client:
        response = await client.post(f"{url}/chat", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def ai_sdk(*parts: dict[str, Any], assistant: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    messages = [{"id": "u", "role": "user", "parts": list(parts)}]
    if assistant is not None:
        messages.append({"id": "a", "role": "assistant", "parts": assistant})
    return {"id": "c", "messages": messages}


def ag_ui(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"threadId": "t", "runId": "r", "messages": list(messages)}


def openai(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"model": "m", "messages": list(messages)}


PNG = {"type": "image", "source": {"type": "url", "value": "https://example.com/a.png", "mimeType": 5}}
CALLED = {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": "get_time"}]}
LISTED = {"id": "a", "role": "assistant", "toolCalls": [{"id": "c1", "function": {"name": "f", "arguments": "[1]"}}]}
MALFORMED = [
    ("ai-sdk", ai_sdk({"type": "text", "text": 5}), "messages.0.parts.0.text: Input should be a valid string"),
    ("ai-sdk", ai_sdk({"type": "file", "url": "https://example.com/a.png", "mediaType": 5}), "parts.0.mediaType"),
    ("ai-sdk", ai_sdk({"type": "file", "url": "https://x.io/a.png", "filename": {}}), "parts.0.filename"),
    (
        "ai-sdk",
        ai_sdk(
            {"type": "text", "text": "q"}, assistant=[{"type": "tool-f", "toolCallId": 7, "state": "input-available"}]
        ),
        "messages.1.parts.0.toolCallId",
    ),
    (
        "ag-ui",
        ag_ui({"id": "1", "role": "user", "content": [{"type": "text", "text": 5}]}),
        "content.list[_Part].0.text",
    ),
    ("ag-ui", ag_ui({"id": "1", "role": "user", "content": [PNG]}), "0.source.mimeType"),
    (
        "ag-ui",
        ag_ui({"id": "u", "role": "user", "content": "q"}, LISTED),
        "messages.1.toolCalls.0: its arguments must be",
    ),
    ("openai", openai({"role": "user", "content": [{"type": "text", "text": 5}]}), "content.list[_Part].0.text"),
    ("openai", openai({"role": "user", "content": "q"}, CALLED), "messages.1.tool_calls.0.function"),
    (
        "openai",
        openai({"role": "user", "content": [{"type": "image_url", "image_url": {"url": 5}}]}),
        "0.image_url.url",
    ),
]


@pytest.mark.parametrize(("protocol", "body", "detail"), MALFORMED)
async def test_a_malformed_part_gets_a_400_naming_where_not_a_500(protocol: str, body: Any, detail: str) -> None:
    """Fields of the wrong type anywhere in a message (a number for a text, a string for an object) are
    refused before the run, at their path."""
    app = chat_app(answering("a"), protocol=protocol)
    route = "/chat/completions" if protocol == "openai" else "/chat"
    response = await app.test_client().post(route, json=body)
    payload = await response.get_json()
    assert response.status_code == 400, payload
    assert detail in (payload["error"]["message"] if protocol == "openai" else payload["detail"])


@pytest.mark.parametrize("expose", [False, True])
@pytest.mark.parametrize("protocol", ["ai-sdk", "ag-ui"])
async def test_a_mid_stream_exception_gives_the_protocols_error_frame_and_a_clean_end(
    protocol: str, expose: bool
) -> None:
    model = ProbedChatModel(responses=[["a", "b", "c"]], fail_at=2)
    body = AI_SDK_OK if protocol == "ai-sdk" else AG_UI_OK
    async with running(chat_app(answering_with(model), protocol=protocol, expose_errors=expose)) as url:
        _, stream = await post_stream(f"{url}/chat", body)
    assert stream.incomplete == ""
    frames = [json.loads(data) if data != "[DONE]" else data for data in stream.messages]
    if protocol == "ai-sdk":
        assert frames[-1] == "[DONE]"
        error = next(frame for frame in frames if isinstance(frame, dict) and frame["type"] == "error")
        assert frames[-2] == {"type": "finish", "finishReason": "error"}
        text = error["errorText"]
    else:
        assert frames[-1]["type"] == "RUN_ERROR" and frames[-1]["code"] == "internal_error"
        text = frames[-1]["message"]
    assert ("hunter2" in text) == expose


def test_no_module_outside_protocols_has_a_branch_per_protocol() -> None:
    """The request side, the run, the logs, the views and the response know no protocol by name (``options.py``
    lists the names the ``protocol`` option takes, those of ``PROTOCOLS``, and ``settings.py`` its default; the
    test kit's ``testing/`` is a client of each protocol, its one wire per protocol named in one table)."""
    from typing import get_args

    from quart_llmstream.options import ProtocolName

    namers = ("options.py", "settings.py")

    assert set(get_args(ProtocolName)) == set(PROTOCOLS)
    package = Path(__file__).parents[2] / "quart_llmstream"
    apart = {"protocols", "testing"}
    modules = [path for path in package.rglob("*.py") if not apart & set(path.parts) and path.name not in namers]
    assert len(modules) > 30
    for module in modules:
        source = module.read_text()
        for name in PROTOCOLS:
            assert f'"{name}"' not in source, f"{module} names the protocol {name}"


async def test_the_example_app_serves_its_agent_in_every_protocol() -> None:
    from example_app import create_app

    question = "What is the weather in Paris?"
    async with running(create_app({"DEMO_SECONDS_PER_TOKEN": 0.001})) as url:
        native = await post_stream(f"{url}/api/chat", {"question": question})
        ai_sdk = await node(
            "ai_sdk.mjs", op="send", api=f"{url}/api/ai-sdk/chat", chatId="c", messages=[user(question)]
        )
        ag_ui = await node(
            "ag_ui.mjs",
            url=f"{url}/api/ag-ui/chat",
            threadId="t",
            runId="r",
            messages=[{"id": "u", "role": "user", "content": question}],
        )
    answer = "".join(json.loads(m)["token"] for m in native[1].messages[:-1] if "token" in m)
    assert answer and ai_sdk["error"] is None and ag_ui["error"] is None
    assert text_of(ai_sdk["message"]) == answer
    assert any(part["type"] == "tool-get_weather" for part in ai_sdk["message"]["parts"])
    assert ag_ui["messages"][-1]["content"] == answer
