"""A thread read back and continued by the protocols' own clients: the AI SDK's ``validateUIMessages`` takes the
messages and an ``ai`` 7 ``AbstractChat`` made with them goes on (answering the approval the thread waits for);
``@ag-ui/client``'s ``HttpAgent`` made with the messages and state goes on, and one that ``connectAgent()``s gets
the thread as it is, and the live run's events while one is going. The thread then holds each message once."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from openai import AsyncOpenAI

from helpers import node, running
from review_app import review_app, thread_messages

ALICE = {"X-User": "alice"}


async def read(url: str, path: str, thread: str = "t1") -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.get(f"{url}{path}/threads/{thread}", headers=ALICE)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def asked(messages: list[Any]) -> list[str]:
    return [message.text for message in messages if isinstance(message, HumanMessage)]


async def test_the_ai_sdks_chat_made_with_the_messages_read_back_validates_them_and_goes_on() -> None:
    review = review_app()
    async with running(review.app) as url:
        api = f"{url}/ai/chat"
        before = await node("ai_chat.mjs", api=api, chatId="t1", turns=["first one", "second one"], headers=ALICE)
        thread = await read(url, "/ai/chat")
        after = await node("ai_chat.mjs", api=api, chatId="t1", turns=["third one"], headers=ALICE, **thread)
    assert before["error"] is None and after["error"] is None, after["error"]
    assert after["validated"] == 4
    stored = await thread_messages(review.graph, "t1", "alice")
    assert asked(stored) == ["first one", "second one", "third one"]
    assert len([m for m in stored if isinstance(m, AIMessage)]) == 3
    texts = ["".join(p.get("text", "") for p in m["parts"]) for m in after["messages"] if m["role"] == "assistant"]
    assert texts == ["Answer to first one", "Answer to second one", "Answer to third one"]


async def test_a_pending_approval_read_back_is_answered_by_the_ai_sdks_chat_and_the_call_runs_once() -> None:
    review = review_app()
    async with running(review.app) as url:
        api = f"{url}/ai/chat"
        await node("ai_chat.mjs", api=api, chatId="t1", turns=["please note"], headers=ALICE)
        thread = await read(url, "/ai/chat")
        after = await node(
            "ai_chat.mjs",
            api=api,
            chatId="t1",
            turns=[],
            approvals={"send_note": True},
            headers=ALICE,
            messages=thread["messages"],
        )
    assert after["error"] is None, after["error"]
    assert [request["toolName"] for request in after["approvalRequests"]] == ["send_note"]
    assert review.audit.ran("send_note") == [{"to": "ann", "text": "hi"}]
    last = after["messages"][-1]
    assert "Done: note sent to ann" in "".join(part.get("text", "") for part in last["parts"])


async def test_a_rejected_call_reads_back_denied_as_the_stream_left_it_and_the_ai_sdks_chat_goes_on() -> None:
    """After a reload the page shows what it showed live: the call a person rejected is ``output-denied`` (not an
    output) with the reason they gave, and the chat made with the messages read back validates them and goes on."""
    review = review_app()
    async with running(review.app) as url:
        api = f"{url}/ai/chat"
        live = await node(
            "ai_chat.mjs", api=api, chatId="t1", turns=["please note"], approvals={"send_note": False}, headers=ALICE
        )
        thread = await read(url, "/ai/chat")
        after = await node("ai_chat.mjs", api=api, chatId="t1", turns=["thanks"], headers=ALICE, **thread)

    def call_parts(messages: list[dict[str, Any]]) -> list[tuple[str, str, bool | None, str | None]]:
        parts = [part for message in messages for part in message["parts"] if part["type"] == "tool-send_note"]
        return [(part["state"], *map(part["approval"].get, ("id", "approved", "reason"))) for part in parts]

    assert live["error"] is None and after["error"] is None, after["error"]
    assert call_parts(live["messages"]) == call_parts(thread["messages"])
    assert [(state, reason) for state, _, _, reason in call_parts(thread["messages"])] == [
        ("output-denied", "Not now.")
    ]
    assert review.audit.ran("send_note") == []
    assert after["validated"] == len(thread["messages"]) and after["messages"][-1]["role"] == "assistant"


async def test_ag_uis_http_agent_made_with_the_messages_and_state_read_back_goes_on() -> None:
    review = review_app()
    async with running(review.app) as url:
        agui = f"{url}/agui/chat"
        user = {"id": "u1", "role": "user", "content": "first one"}
        await node("ag_ui.mjs", url=agui, threadId="t1", runId="r1", messages=[user], headers=ALICE)
        thread = await read(url, "/agui/chat")
        nxt = {"id": "u2", "role": "user", "content": "second one"}
        after = await node(
            "ag_ui.mjs",
            url=agui,
            threadId="t1",
            runId="r2",
            headers=ALICE,
            messages=[*thread["messages"], nxt],
            state=thread["state"],
        )
    assert after["error"] is None, after["error"]
    stored = await thread_messages(review.graph, "t1", "alice")
    assert asked(stored) == ["first one", "second one"]
    assert after["messages"][-1]["content"] == "Answer to second one"


async def test_connect_gives_the_thread_as_it_is_and_then_the_live_runs_events() -> None:
    review = review_app(delay=0.2)
    async with running(review.app) as url:
        agui = f"{url}/agui/chat"
        user = {"id": "u1", "role": "user", "content": "first one"}
        await node("ag_ui.mjs", url=agui, threadId="t1", runId="r1", messages=[user], headers=ALICE)
        idle = await node(
            "ag_ui.mjs", url=agui, threadId="t1", runId="c1", connect=True, connectOnly=True, headers=ALICE, messages=[]
        )
        long = {"id": "u2", "role": "user", "content": "a long second question to answer"}
        running_turn = asyncio.create_task(
            node("ag_ui.mjs", url=agui, threadId="t1", runId="r2", messages=[user, long], headers=ALICE)
        )
        await asyncio.sleep(0.5)
        live = await node(
            "ag_ui.mjs", url=agui, threadId="t1", runId="c2", connect=True, connectOnly=True, headers=ALICE, messages=[]
        )
        await running_turn
    assert idle["error"] is None and live["error"] is None, (idle["error"], live["error"])
    assert [m["content"] for m in idle["connected"]] == ["first one", "Answer to first one"]
    kinds = [event["type"] for event in idle["events"]]
    assert kinds == ["RUN_STARTED", "MESSAGES_SNAPSHOT", "STATE_SNAPSHOT", "RUN_FINISHED"]
    live_kinds = [event["type"] for event in live["events"]]
    assert live_kinds[:2] == ["RUN_STARTED", "MESSAGES_SNAPSHOT"] and live_kinds[-1] == "RUN_FINISHED"
    assert "TEXT_MESSAGE_CONTENT" in live_kinds  # the live run's tokens, as they came
    assert live["connected"][-1]["content"] == "Answer to a long second question to answer"


async def test_a_connect_is_a_follower_held_to_its_owners_share_of_streams() -> None:
    review = review_app(delay=0.2, max_streams_per_owner=1)
    run = {"threadId": "t1", "runId": "r1", "messages": [{"id": "u1", "role": "user", "content": "a long one"}]}
    connecting = {"threadId": "t1", "runId": "c1", "messages": []}
    async with running(review.app) as url, httpx.AsyncClient(base_url=url, headers=ALICE) as http:
        async with http.stream("POST", "/agui/chat", json=run) as going:
            assert going.status_code == 200
            refused = await http.post("/agui/chat/connect", json=connecting)
            await going.aread()  # to its end: counted out
        connected = await http.post("/agui/chat/connect", json=connecting)
    assert refused.status_code == 429 and refused.json()["error"] == "too_many_streams"
    assert connected.status_code == 200 and "MESSAGES_SNAPSHOT" in connected.text


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n" + b"a document " * 50
PNG_B64, PDF_B64 = base64.b64encode(PNG).decode(), base64.b64encode(PDF).decode()
PNG_URL, PDF_URL = f"data:image/png;base64,{PNG_B64}", f"data:application/pdf;base64,{PDF_B64}"


def attached(message: BaseMessage) -> list[dict[str, Any]]:
    return [block for block in message.content if isinstance(block, dict) and block.get("type") != "text"]


async def held_once(review: Any, thread: str, blocks: list[dict[str, Any]]) -> None:
    """The thread holds both questions once each, the first with exactly the attachments it was sent with."""
    stored = await thread_messages(review.graph, thread, "alice")
    assert asked(stored) == ["first one", "second one"]
    first = next(message for message in stored if isinstance(message, HumanMessage))
    assert attached(first) == blocks


async def test_attachments_come_back_to_the_ai_sdk_and_ag_ui_clients_which_go_on_with_them() -> None:
    review = review_app()
    image = {"type": "image", "base64": PNG_B64, "mime_type": "image/png"}
    async with running(review.app) as url:
        api = f"{url}/ai/chat"
        picture = {"type": "file", "mediaType": "image/png", "url": PNG_URL}
        await node(
            "ai_chat.mjs", api=api, chatId="t1", turns=[{"text": "first one", "files": [picture]}], headers=ALICE
        )
        ai_thread = await read(url, "/ai/chat")
        ai_after = await node("ai_chat.mjs", api=api, chatId="t1", turns=["second one"], headers=ALICE, **ai_thread)
        agui = f"{url}/agui/chat"
        media = {"type": "image", "source": {"type": "data", "value": PNG_B64, "mimeType": "image/png"}}
        user = {"id": "u1", "role": "user", "content": [{"type": "text", "text": "first one"}, media]}
        await node("ag_ui.mjs", url=agui, threadId="t2", runId="r1", messages=[user], headers=ALICE)
        agui_thread = await read(url, "/agui/chat", "t2")
        nxt = {"id": "u2", "role": "user", "content": "second one"}
        messages = [*agui_thread["messages"], nxt]
        agui_after = await node("ag_ui.mjs", url=agui, threadId="t2", runId="r2", headers=ALICE, messages=messages)
    assert ai_thread["messages"][0]["parts"][0] == picture, "sendMessage's file part, before the text"
    assert ai_after["error"] is None and ai_after["validated"] == 2, ai_after["error"]
    await held_once(review, "t1", [image])
    assert agui_thread["messages"][0]["content"] == user["content"]
    assert agui_after["error"] is None, agui_after["error"]
    await held_once(review, "t2", [image])


async def test_attachments_come_back_to_openai_and_native_clients_which_go_on_with_them() -> None:
    review = review_app()
    image = {"type": "image", "base64": PNG_B64, "mime_type": "image/png"}
    document = {"type": "file", "base64": PDF_B64, "mime_type": "application/pdf", "filename": "a.pdf"}
    parts = [
        {"type": "text", "text": "first one"},
        {"type": "image_url", "image_url": {"url": PNG_URL}},
        {"type": "file", "file": {"file_data": PDF_URL, "filename": "a.pdf"}},
    ]
    async with running(review.app) as url:
        openai = AsyncOpenAI(base_url=f"{url}/v1", api_key="unused", default_headers={"X-Thread-Id": "t3", **ALICE})
        await openai.chat.completions.create(model="agent", messages=[{"role": "user", "content": parts}])
        openai_thread = await read(url, "/v1", "t3")
        nxt = {"role": "user", "content": "second one"}
        await openai.chat.completions.create(model="agent", messages=[*openai_thread["messages"], nxt])
        sent = [{"url": PNG_URL, "mime_type": "image/png"}, {"url": PDF_URL, "mime_type": "application/pdf"}]
        async with httpx.AsyncClient(timeout=30) as http:
            body = {"question": "first one", "thread_id": "t4", "attachments": sent}
            assert (await http.post(f"{url}/native/chat", json=body, headers=ALICE)).status_code == 200
            native_thread = await read(url, "/native/chat", "t4")
            body = {"question": "second one", "thread_id": "t4", "chat_history": native_thread["messages"]}
            again = await http.post(f"{url}/native/chat", json=body, headers=ALICE)
    assert openai_thread["messages"][0]["content"] == parts
    await held_once(review, "t3", [image, document])
    assert native_thread["messages"][0]["attachments"] == sent
    assert again.status_code == 200 and '"token":" second"' in again.text
    await held_once(review, "t4", [image, {k: v for k, v in document.items() if k != "filename"}])


async def test_the_ai_sdks_regenerate_answers_the_last_question_again_in_place_of_its_answer() -> None:
    """``regenerate()`` drops the answer on the page and asks for another: the thread goes on from where the
    question had just been added (a branch), so the model does not see the answer it replaces, and the thread read
    back after a reload is what the page shows."""
    from langchain.agents import create_agent
    from langgraph.checkpoint.memory import InMemorySaver
    from quart import Quart

    from quart_llmstream import create_blueprint
    from quart_llmstream.testing import ScriptedChatModel

    model = ScriptedChatModel(replies=["Hello.", "Hi there!"])
    app = Quart(__name__)
    app.config["LLMSTREAM_SINGLE_USER"] = True
    graph = create_agent(model, tools=[], checkpointer=InMemorySaver())
    app.register_blueprint(create_blueprint(lambda _: graph, protocol="ai-sdk"), url_prefix="/ai")
    async with running(app) as url:
        page = await node("ai_chat.mjs", api=f"{url}/ai/chat", chatId="t1", turns=["hi"], regenerate=True)
        thread = await read(url, "/ai/chat")

    def said(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(m["role"], "".join(p.get("text", "") for p in m["parts"])) for m in messages]

    assert page["error"] is None and [r.get("trigger") for r in page["requests"]][-1] == "regenerate-message"
    assert said(page["messages"]) == [("user", "hi"), ("assistant", "Hi there!")]
    assert said(thread["messages"]) == said(page["messages"])
    assert [m.text for m in model.seen[1]] == ["hi"], "asked again as first asked: not shown the answer it replaces"


async def test_the_ai_sdks_regenerate_on_a_runnable_that_keeps_no_thread_answers_the_conversation_as_sent() -> None:
    """Without a thread there is no answer to branch from: the conversation the page sends is answered again."""
    from quart import Quart

    from quart_llmstream import create_blueprint
    from quart_llmstream.testing import ScriptedChatModel

    model = ScriptedChatModel(replies=["Hello.", "Hi there!"])
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: model, protocol="ai-sdk"), url_prefix="/ai")
    question = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
    body = {"id": "c1", "messages": [question], "trigger": "regenerate-message", "messageId": "a1"}
    async with running(app) as url, httpx.AsyncClient(timeout=30) as http:
        first = await http.post(f"{url}/ai/chat", json={**body, "trigger": "submit-message"})
        again = await http.post(f"{url}/ai/chat", json=body)
    assert first.status_code == again.status_code == 200
    assert '"delta":"Hi"' in again.text and '"type":"finish"' in again.text
    assert [m.text for m in model.seen[1]] == ["hi"]
