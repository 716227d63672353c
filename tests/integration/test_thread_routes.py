"""Threads you can come back to, through a real server: read back in each protocol's own shapes and continued
from what was read (each message stored once), listed newest first and paged, renamed and deleted (nothing
left), another owner's a 404 everywhere, and every bad query or body a 400."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from openai import AsyncOpenAI, ConflictError

from fakes import ProbedChatModel, agent, words
from helpers import chat_app, running
from review_app import ROUTES, review_app, thread_messages

ALICE, BOB = {"X-User": "alice"}, {"X-User": "bob"}
THREADS = {"native": "/native/chat/threads", "ai-sdk": "/ai/chat/threads", "ag-ui": "/agui/chat/threads"}
THREADS["openai"] = "/v1/threads"


def turn(protocol: str, thread: str, question: str, read: list[dict[str, Any]]) -> dict[str, Any]:
    """The next turn as the protocol's client sends it: what it read back, then the question."""
    if protocol == "native":
        return {"question": question, "thread_id": thread, "chat_history": read}
    if protocol == "ai-sdk":
        user = {"id": f"u-{question}", "role": "user", "parts": [{"type": "text", "text": question}]}
        return {"id": thread, "messages": [*read, user]}
    if protocol == "ag-ui":
        user = {"id": f"u-{question}", "role": "user", "content": question}
        return {
            "threadId": thread,
            "runId": "r-" + question.replace(" ", "-"),
            "messages": [*read, user],
            "tools": [],
            "context": [],
        }
    return {"model": "agent", "stream": True, "messages": [*read, {"role": "user", "content": question}]}


async def ask(http: httpx.AsyncClient, url: str, protocol: str, thread: str, question: str, read: Any) -> None:
    headers = ALICE | ({"X-Thread-Id": thread} if protocol == "openai" else {})
    answer = await http.post(url + ROUTES[protocol], json=turn(protocol, thread, question, read), headers=headers)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("protocol", ["native", "ai-sdk", "ag-ui", "openai"])
async def test_a_thread_read_back_and_continued_from_what_was_read_holds_each_message_once(protocol: str) -> None:
    review = review_app()
    async with running(review.app) as url, httpx.AsyncClient(timeout=30) as http:
        await ask(http, url, protocol, "t1", "first question", [])
        read = (await http.get(f"{url}{THREADS[protocol]}/t1", headers=ALICE)).json()
        await ask(http, url, protocol, "t1", "second question", read["messages"])
        reloaded = (await http.get(f"{url}{THREADS[protocol]}/t1", headers=ALICE)).json()
        await ask(http, url, protocol, "t1", "third question", reloaded["messages"])
    stored = await thread_messages(review.graph, "t1", "alice")
    asked = [message.text for message in stored if isinstance(message, HumanMessage)]
    assert asked == ["first question", "second question", "third question"]
    assert [m.text for m in stored if isinstance(m, AIMessage)] == [f"Answer to {q}" for q in asked]
    assert read["thread_id"] == "t1" and read["title"] == "first question" and read["stream_id"] is None
    assert read["interrupts"] == [] and read["state"] == {}
    assert len(reloaded["messages"]) == 4  # two questions, two answers, in the protocol's shape
    first = reloaded["messages"][0]
    if protocol == "ai-sdk":
        assert first["parts"] == [{"type": "text", "text": "first question", "state": "done"}]
        assert reloaded["messages"][1]["parts"][1]["text"] == "Answer to first question"
    else:
        assert (first["role"], first["content"]) == ("user", "first question")


async def test_every_protocol_reads_the_thread_another_wrote_and_a_pending_approval_in_its_own_shape() -> None:
    review = review_app()
    async with running(review.app) as url, httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{url}/native/chat", json={"question": "please note", "thread_id": "t1"}, headers=ALICE)
        read = {p: (await http.get(f"{url}{THREADS[p]}/t1", headers=ALICE)).json() for p in THREADS}
    ui = read["ai-sdk"]["messages"]
    [part] = [part for part in ui[1]["parts"] if part["type"] == "tool-send_note"]
    assert part["state"] == "approval-requested" and part["approval"] == {"id": f"approval-{part['toolCallId']}"}
    assert part["input"] == {"to": "ann", "text": "hi"}
    [interrupt] = read["native"]["interrupts"]
    assert interrupt["actions"][0]["tool_call_id"] == part["toolCallId"]
    [ag_ui_interrupt] = read["ag-ui"]["interrupts"]
    assert ag_ui_interrupt["id"] == interrupt["id"] and "reason" in ag_ui_interrupt
    calls = read["ag-ui"]["messages"][1]["toolCalls"]
    assert calls[0]["id"] == part["toolCallId"] and json.loads(calls[0]["function"]["arguments"])["to"] == "ann"
    assert read["openai"]["messages"][1]["tool_calls"][0]["function"]["name"] == "send_note"


async def test_listing_paging_renaming_and_deleting_are_each_owners_own() -> None:
    review = review_app()
    base = f"{THREADS['native']}"
    async with running(review.app) as url, httpx.AsyncClient(timeout=30) as http:
        for n in range(5):
            await ask(http, url, "native", f"t{n}", f"question {n}", [])
        await ask(http, url, "native", "t1", "again", [])  # t1 is now the most recent
        first = (await http.get(f"{url}{base}?limit=2", headers=ALICE)).json()
        rest = (await http.get(f"{url}{base}?limit=10&cursor={first['next_cursor']}", headers=ALICE)).json()
        renamed = await http.patch(f"{url}{base}/t2", json={"title": "  My  trip "}, headers=ALICE)
        listed_by_bob = (await http.get(f"{url}{base}", headers=BOB)).json()
        bob = [
            (await http.get(f"{url}{base}/t2", headers=BOB)).status_code,
            (await http.patch(f"{url}{base}/t2", json={"title": "x"}, headers=BOB)).status_code,
            (await http.delete(f"{url}{base}/t2", headers=BOB)).status_code,
        ]
        decision = {"thread_id": "t2", "resume": {"decisions": [{"type": "approve"}]}}
        bob_resumes = await http.post(f"{url}/native/chat", json=decision, headers=BOB)
        deleted = await http.delete(f"{url}{base}/t2", headers=ALICE)
        after = await http.get(f"{url}{base}/t2", headers=ALICE)
        listed = (await http.get(f"{url}{base}", headers=ALICE)).json()
        again = await http.delete(f"{url}{base}/t2", headers=ALICE)
    ids = [thread["thread_id"] for thread in first["threads"]]
    assert ids == ["t1", "t4"] and first["next_cursor"]
    assert [thread["thread_id"] for thread in rest["threads"]] == ["t3", "t2", "t0"] and rest["next_cursor"] is None
    assert first["threads"][0]["title"] == "question 1" and first["threads"][0]["status"] == "idle"
    assert set(first["threads"][0]) == {"thread_id", "title", "created_at", "updated_at", "status"}
    assert renamed.status_code == 200 and renamed.json()["title"] == "My trip"
    assert listed_by_bob == {"threads": [], "next_cursor": None} and bob == [404, 404, 404]
    assert bob_resumes.status_code == 404
    assert deleted.status_code == 204 and after.status_code == 404 and again.status_code == 404
    assert "t2" not in [thread["thread_id"] for thread in listed["threads"]] and len(listed["threads"]) == 4
    saver = review.graph.checkpointer  # reading a thread makes an empty entry of a defaultdict: none holds a thing
    assert not any(saver.storage.get("alice:t2", {}).values()) and any(saver.storage["alice:t1"].values())
    assert not [key for key in saver.writes if key[0] == "alice:t2"]
    assert await thread_messages(review.graph, "t2", "alice") == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "?limit=0", None),
        ("GET", "?limit=101", None),
        ("GET", "?limit=ten", None),
        ("GET", "?cursor=nonsense!", None),
        ("GET", "?cursor=" + "b" * 40, None),
        ("GET", "?cursor=bzk5OTk5OTk5OTk5OTk5OTk5OTk5", None),  # an offset past what a database counts
        ("GET", "/bad:id", None),
        ("PATCH", "/t1", {"title": ""}),
        ("PATCH", "/t1", {"title": "x" * 201}),
        ("PATCH", "/t1", {"title": 5}),
        ("PATCH", "/t1", {"title": "a\u0007b"}),
        ("PATCH", "/t1", {"title": "a\u0000b"}),
        ("PATCH", "/t1", {"title": "ok", "other": 1}),
        ("PATCH", "/t1", ["title"]),
        ("DELETE", "/" + "x" * 129, None),
    ],
)
async def test_bad_input_on_the_thread_routes_is_a_400_in_json(method: str, path: str, body: Any) -> None:
    review = review_app()
    async with running(review.app) as url, httpx.AsyncClient(timeout=30) as http:
        await ask(http, url, "native", "t1", "hello", [])
        answer = await http.request(method, f"{url}{THREADS['native']}{path}", json=body, headers=ALICE)
    assert answer.status_code == 400, answer.text
    code = "invalid_json" if isinstance(body, list) else "invalid_request"  # a body that is no JSON object
    assert answer.json()["error"] == code and answer.json()["detail"]


async def test_without_a_way_to_tell_users_apart_the_thread_routes_are_off_unless_the_app_has_one_user() -> None:
    anonymous = review_app(stream_owner=None)
    single = review_app(stream_owner=None, single_user=True)
    async with running(anonymous.app) as url, httpx.AsyncClient(timeout=30) as http:
        await ask(http, url, "native", "t1", "hello", [])
        off = await http.get(f"{url}{THREADS['native']}")
    async with running(single.app) as url, httpx.AsyncClient(timeout=30) as http:
        await ask(http, url, "native", "t1", "hello", [])
        on = await http.get(f"{url}{THREADS['native']}")
    assert off.status_code == 404
    assert [thread["thread_id"] for thread in on.json()["threads"]] == ["t1"]


async def test_a_rejected_call_reads_the_same_in_the_ag_ui_result_the_snapshot_and_the_thread() -> None:
    review = review_app()
    async with running(review.app) as url, httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{url}/native/chat", json={"question": "please note", "thread_id": "t1"}, headers=ALICE)
        state = await review.graph.aget_state({"configurable": {"thread_id": "alice:t1"}})
        decision = {"decisions": [{"type": "reject", "message": "not today"}]}
        entry = {"interruptId": state.interrupts[0].id, "status": "resolved", "payload": decision}
        body = {"threadId": "t1", "runId": "r2", "messages": [], "resume": [entry]}
        answer = await http.post(f"{url}/agui/chat", json=body, headers=ALICE)
    events = [json.loads(line[6:]) for line in answer.text.splitlines() if line.startswith("data: ")]
    [result] = [event["content"] for event in events if event["type"] == "TOOL_CALL_RESULT"]
    snapshot = [event for event in events if event["type"] == "MESSAGES_SNAPSHOT"][-1]["messages"]
    [stored] = [m.text for m in await thread_messages(review.graph, "t1", "alice") if m.type == "tool"]
    assert result == stored == next(m["content"] for m in snapshot if m["role"] == "tool")
    assert "not today" in result and review.audit.ran("send_note") == []


async def test_while_a_run_goes_on_its_thread_is_busy_and_names_the_stream_to_resume() -> None:
    review = review_app(delay=0.1)
    async with running(review.app) as url, httpx.AsyncClient(timeout=30) as http:
        turn = asyncio.create_task(
            http.post(f"{url}/native/chat", json={"question": "a long question", "thread_id": "t1"}, headers=ALICE)
        )
        await asyncio.sleep(0.3)
        read = (await http.get(f"{url}{THREADS['native']}/t1", headers=ALICE)).json()
        listed = (await http.get(f"{url}{THREADS['native']}", headers=ALICE)).json()
        followed = await http.get(f"{url}/native/chat/{read['stream_id']}/stream", headers=ALICE)
        answered = await turn
        after = (await http.get(f"{url}{THREADS['native']}", headers=ALICE)).json()
    assert read["stream_id"] and [t["status"] for t in listed["threads"]] == ["busy"]
    assert followed.status_code == 200 and followed.text == answered.text  # the whole stream, from its start
    assert [t["status"] for t in after["threads"]] == ["idle"]


async def test_a_thread_whose_last_run_failed_is_listed_with_status_error() -> None:
    failing = agent(ProbedChatModel(responses=[words("never said whole")], fail_at=1))
    app = chat_app(failing, stream_owner=lambda chat_request: chat_request.headers.get("X-User"))
    async with running(app) as url, httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(f"{url}/chat", json={"question": "hello", "thread_id": "t1"}, headers=ALICE)
        listed = (await http.get(f"{url}/chat/threads", headers=ALICE)).json()
    assert "internal_error" in answer.text  # the error frame, redacted
    assert [(t["thread_id"], t["status"]) for t in listed["threads"]] == [("t1", "error")]


async def test_a_deleted_thread_leaves_no_stream_log_of_a_turn_that_waited_its_turn_meanwhile() -> None:
    review = review_app(delay=0.05, multitask_strategy="enqueue")
    chat, base = "/native/chat", THREADS["native"]
    async with running(review.app) as url, httpx.AsyncClient(timeout=30) as http:
        first = asyncio.create_task(
            http.post(f"{url}{chat}", json={"question": "a long question " * 10, "thread_id": "t1"}, headers=ALICE)
        )
        await asyncio.sleep(0.3)
        second = asyncio.create_task(
            http.post(f"{url}{chat}", json={"question": "second secret question", "thread_id": "t1"}, headers=ALICE)
        )
        await asyncio.sleep(0.2)  # it waits for the thread in its request
        deleted = await http.delete(f"{url}{base}/t1", headers=ALICE)
        answers = [await first, await second]
        replays = [
            await http.get(f"{url}{chat}/{answer.headers['X-Stream-Id']}/stream", headers=ALICE) for answer in answers
        ]
        read = await http.get(f"{url}{base}/t1", headers=ALICE)
    assert deleted.status_code == 204 and read.status_code == 404
    assert "secret" in answers[1].text, "the waiting turn ran before the deletion"
    assert [replay.status_code for replay in replays] == [204, 204], "no log of the thread's turns is left"


async def test_a_stream_a_threads_record_no_longer_remembers_has_its_log_deleted(monkeypatch: Any) -> None:
    from quart_llmstream.run.threads import records

    monkeypatch.setattr(records, "_KEPT_STREAMS", 2)  # a record remembers 64
    review = review_app()
    async with running(review.app) as url, httpx.AsyncClient(timeout=30) as http:
        answers = [
            await http.post(f"{url}/native/chat", json={"question": f"turn {n}", "thread_id": "t1"}, headers=ALICE)
            for n in range(3)
        ]
        streams = [answer.headers["X-Stream-Id"] for answer in answers]
        replays = [(await http.get(f"{url}/native/chat/{s}/stream", headers=ALICE)).status_code for s in streams]
        await http.delete(f"{url}{THREADS['native']}/t1", headers=ALICE)
        after = [(await http.get(f"{url}/native/chat/{s}/stream", headers=ALICE)).status_code for s in streams]
    assert replays == [204, 200, 200], "the oldest, which the record forgot, is gone; the others replay"
    assert after == [204, 204, 204]


@pytest.mark.parametrize("protocol", ["native", "openai"])
async def test_a_question_sent_alone_each_turn_is_kept_each_time_though_asked_before(protocol: str) -> None:
    """A client whose thread keeps the conversation sends its question alone; "hi" asked again a turn later is a
    new question, not the first one sent again."""
    review = review_app()
    async with running(review.app) as url, httpx.AsyncClient(timeout=30) as http:
        for question in ("hi", "thanks", "hi"):
            await ask(http, url, protocol, "t1", question, [])
        read = (await http.get(f"{url}{THREADS[protocol]}/t1", headers=ALICE)).json()
    said = [(message["role"], message["content"]) for message in read["messages"] if message["role"] != "tool"]
    assert [text for role, text in said if role == "user"] == ["hi", "thanks", "hi"]
    assert [role for role, _ in said] == ["user", "assistant"] * 3, "each question answered once"


async def test_the_openai_sdks_retry_of_an_interrupted_answer_leaves_the_decision_waiting() -> None:
    """The SDK retries a 409: the retry is the turn that stopped at the approval sent again, not a decision, and
    not a new question — the call still waits, it never ran, and the thread holds the question once."""
    review = review_app()
    async with running(review.app) as url:
        client = AsyncOpenAI(base_url=f"{url}/v1", api_key="none", default_headers={"X-Thread-Id": "t1", **ALICE})
        with pytest.raises(ConflictError) as refused:
            await client.chat.completions.create(model="agent", messages=[{"role": "user", "content": "please note"}])
        async with httpx.AsyncClient(timeout=30) as http:
            read = (await http.get(f"{url}/v1/threads/t1", headers=ALICE)).json()
    assert refused.value.code == "interrupted", "not retried: the SDK raises the interrupt"
    assert review.audit.ran("send_note") == [] and [i["actions"][0]["name"] for i in read["interrupts"]] == [
        "send_note"
    ]
    assert [m["content"] for m in read["messages"] if m["role"] == "user"] == ["please note"]
