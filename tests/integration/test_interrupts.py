"""Human in the loop: a LangGraph interrupt ends the stream with what the thread waits on, in each protocol as
its own clients expect, and a decision from the client resumes the thread — checked against what is pending.
Agents are built as users build them: ``create_agent`` with ``HumanInTheLoopMiddleware`` and a checkpointer,
or a graph whose nodes call ``interrupt()``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, TypedDict
from unittest.mock import ANY

import httpx
import pytest
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.messages import BaseMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from openai import APIError, AsyncOpenAI, ConflictError
from quart import Quart

from quart_llmstream import StreamResult, create_blueprint

from fakes import ProbedChatModel, agent, calling, words
from helpers import chat_app, node, post_stream, resume_from, running, token_texts
from sse_parser import ParsedStream


class Outbox:
    """What the ``send_email`` tool sent: a rejected call must never reach it."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sent: list[str] = []

        @tool
        async def send_email(to: str, body: str) -> str:
            """Send an email."""
            await asyncio.sleep(delay)  # a slow one keeps its run on the thread a while
            self.sent.append(to)
            return f"sent to {to}"

        self.tool = send_email


def emailing(messages: list[BaseMessage], tools: Any) -> Any:
    """The model asks to send an email, then says what became of it."""
    last = messages[-1]
    if isinstance(last, ToolMessage):
        return words(f"Done: {last.text}")
    return calling(("send_email", {"to": "ann@example.com", "body": "hi"}, "call_e1"))


def approving_agent(outbox: Outbox, mode: Any = "batched") -> Any:
    middleware = HumanInTheLoopMiddleware(interrupt_on={"send_email": True}, interrupt_mode=mode)
    return agent(ProbedChatModel(responses=[emailing]), middleware, tools=[outbox.tool])


class Answers(TypedDict, total=False):
    city: str
    day: str


def asking(*questions: str, subgraph: bool = False) -> Any:
    """A graph whose nodes each ask a person (``interrupt()``): in parallel when several, or in a subgraph."""
    graph = StateGraph(Answers)
    for key in questions:

        def ask(state: Answers, key: str = key) -> Answers:
            return {key: interrupt({"question": f"Which {key}?"})}  # type: ignore[misc]

        graph.add_node(key, ask)
        graph.add_edge(START, key)
        graph.add_edge(key, END)
    if not subgraph:
        return graph.compile(checkpointer=InMemorySaver())
    outer = StateGraph(Answers)
    outer.add_node("inner", graph.compile())
    outer.add_edge(START, "inner")
    outer.add_edge("inner", END)
    return outer.compile(checkpointer=InMemorySaver())


def named(stream: ParsedStream) -> list[tuple[str, Any]]:
    return [(event.event, json.loads(event.data)) for event in stream.events if event.event != "message"]


# Native: a plain interrupt() node, both sources; parallel interrupts resumed by id; subgraphs.


@pytest.mark.parametrize("source", ["astream_events", "callbacks"])
async def test_native_an_interrupt_ends_the_stream_and_a_resume_with_the_thread_goes_on(source: str) -> None:
    ended: list[StreamResult] = []
    graph = asking("city")
    app = chat_app(graph, events="token,tool,end", event_source=source, on_end=lambda _, result: ended.append(result))
    async with running(app) as url:
        _, paused = await post_stream(f"{url}/chat", {"question": "Plan a trip", "thread_id": "trip"})
        response, resumed = await post_stream(f"{url}/chat", {"thread_id": "trip", "resume": "Paris"})
    [(kind, frame), end] = named(paused)
    assert kind == "interrupt" and frame["thread_id"] == "trip"
    [waiting] = frame["interrupts"]
    assert waiting["value"] == {"question": "Which city?"} and len(waiting["id"]) == 32
    assert end == ("end", {"finish_reason": "interrupt", "usage": None, "run_id": ANY})
    assert paused.messages[-1] == "[DONE]"
    assert response.status_code == 200 and named(resumed)[-1][1]["finish_reason"] == "stop"
    assert (await graph.aget_state({"configurable": {"thread_id": "trip"}})).values["city"] == "Paris"
    assert [result.status for result in ended] == ["interrupted", "completed"]
    assert ended[0].interrupts == frame["interrupts"]


@pytest.mark.parametrize("decision", [{"type": "approve"}, {"type": "reject", "message": "not now"}])
async def test_native_a_resumed_stream_says_what_became_of_each_call_that_waited(decision: dict[str, Any]) -> None:
    """As the interrupt was sent, whatever ``events`` selects: a rejected call never runs, so no ``tool_end``
    would settle the call the client's page shows as waiting; an approved one's result follows."""
    outbox, resume = Outbox(), {"thread_id": "t", "resume": {"decisions": [decision]}}
    async with running(chat_app(approving_agent(outbox))) as url:  # tokens only
        await post_stream(f"{url}/chat", {"question": "Email Ann", "thread_id": "t"})
        _, resumed = await post_stream(f"{url}/chat", resume)
    events = named(resumed)
    decided = {"id": "call_e1", "name": "send_email", "approved": decision["type"] == "approve"}
    if decided["approved"]:
        assert events == [("tool_decided", decided | {"message": None}), ("tool_end", ANY)]
        assert events[1][1]["output"] == "sent to ann@example.com" and outbox.sent == ["ann@example.com"]
    else:
        rejection = "User rejected the tool call for `send_email` with reason: not now"
        assert events == [("tool_decided", decided | {"message": rejection})] and outbox.sent == []
    assert token_texts(resumed)[0].startswith("Done:") and resumed.messages[-1] == "[DONE]"


async def test_native_two_parallel_interrupts_come_in_one_frame_and_are_resumed_by_id() -> None:
    graph = asking("city", "day")
    async with running(chat_app(graph)) as url, httpx.AsyncClient(timeout=30) as http:
        _, paused = await post_stream(f"{url}/chat", {"question": "Plan a trip", "thread_id": "trip"})
        [(_, frame)] = named(paused)
        by_question = {i["value"]["question"]: i["id"] for i in frame["interrupts"]}
        one_value = await http.post(f"{url}/chat", json={"thread_id": "trip", "resume": "Paris"})
        answers = {by_question["Which city?"]: "Paris", by_question["Which day?"]: "Monday"}
        response, _ = await post_stream(f"{url}/chat", {"thread_id": "trip", "resume": answers})
    assert set(by_question) == {"Which city?", "Which day?"}
    assert one_value.status_code == 400 and "2 interrupts wait" in one_value.text
    assert response.status_code == 200
    assert (await graph.aget_state({"configurable": {"thread_id": "trip"}})).values == {
        "city": "Paris",
        "day": "Monday",
    }


async def test_an_interrupt_in_a_subgraph_counts_and_resumes() -> None:
    graph = asking("city", subgraph=True)
    async with running(chat_app(graph)) as url:
        _, paused = await post_stream(f"{url}/chat", {"question": "Plan a trip", "thread_id": "trip"})
        response, _ = await post_stream(f"{url}/chat", {"thread_id": "trip", "resume": "Rome"})
    [(kind, frame)] = named(paused)
    assert kind == "interrupt" and frame["interrupts"][0]["value"] == {"question": "Which city?"}
    assert response.status_code == 200
    assert (await graph.aget_state({"configurable": {"thread_id": "trip"}})).values["city"] == "Rome"


async def test_an_interrupt_raised_in_a_tool_is_no_tool_error() -> None:
    @tool
    def confirm(plan: str) -> str:
        """Ask the user to confirm a plan."""
        return str(interrupt({"confirm": plan}))

    def planning(messages: list[BaseMessage], tools: Any) -> Any:
        last = messages[-1]
        return (
            words(f"Confirmed: {last.text}")
            if isinstance(last, ToolMessage)
            else calling(("confirm", {"plan": "x"}, "c1"))
        )

    graph = agent(ProbedChatModel(responses=[planning]), tools=[confirm])
    async with running(chat_app(graph, events="token,tool,end")) as url:
        _, paused = await post_stream(f"{url}/chat", {"question": "Plan", "thread_id": "t"})
        _, resumed = await post_stream(f"{url}/chat", {"thread_id": "t", "resume": "yes"})
    kinds = [kind for kind, _ in named(paused)]
    assert "tool_error" not in kinds and kinds[-2:] == ["interrupt", "end"]
    assert next(frame for kind, frame in named(resumed) if kind == "tool_end")["output"] == "yes"


# Resume requests are checked against the thread.


async def test_resume_requests_that_do_not_match_the_thread_are_refused() -> None:
    graph = asking("city", "day")
    owned = chat_app(graph, stream_owner=lambda chat_request: chat_request.headers.get("X-User"))
    bob = {"X-User": "bob"}
    async with running(owned) as url, httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{url}/chat", json={"question": "Plan", "thread_id": "trip"}, headers={"X-User": "ann"})
        unknown = await http.post(f"{url}/chat", json={"thread_id": "trip", "resume": {"nope": 1}}, headers=bob)
        others = await http.post(f"{url}/chat", json={"thread_id": "trip", "resume": "Paris"}, headers=bob)
        ann = {"X-User": "ann"}
        wrong_id = await http.post(f"{url}/chat", json={"thread_id": "trip", "resume": {"x" * 32: 1}}, headers=ann)
        no_thread = await http.post(f"{url}/chat", json={"resume": "Paris"}, headers=ann)
    async with running(chat_app(asking("city"))) as url, httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{url}/chat", json={"question": "Plan", "thread_id": "t"})
        await http.post(f"{url}/chat", json={"thread_id": "t", "resume": "Paris"})
        nothing_pending = await http.post(f"{url}/chat", json={"thread_id": "t", "resume": "Rome"})
        never = await http.post(f"{url}/chat", json={"thread_id": "never", "resume": "Rome"})
    async with running(chat_app(asking("city"), protocol="ag-ui")) as url, httpx.AsyncClient(timeout=30) as http:
        run = {"threadId": "t", "runId": "r1", "messages": [{"id": "u1", "role": "user", "content": "Plan"}]}
        await http.post(f"{url}/chat", json=run)
        answer = [{"interruptId": "no-such-interrupt", "status": "resolved", "payload": "Rome"}]
        unknown_interrupt = await http.post(f"{url}/chat", json=run | {"runId": "r2", "resume": answer})
    plain = chat_app(ProbedChatModel(responses=[["ok"]]))
    no_checkpointer = await plain.test_client().post("/chat", json={"thread_id": "t", "resume": "x"})

    assert unknown.status_code == 404 and others.status_code == 404, "another owner's thread is no thread"
    assert wrong_id.status_code == 400 and "2 interrupts wait" in wrong_id.json()["detail"]  # not a map of ids
    assert no_thread.status_code == 400 and "no thread id" in no_thread.json()["detail"]
    assert nothing_pending.status_code == 409 and "nothing on this thread waits" in nothing_pending.json()["detail"]
    assert never.status_code == 404
    assert unknown_interrupt.status_code == 400
    assert "no interrupt no-such-interrupt is pending" in unknown_interrupt.json()["detail"]
    assert no_checkpointer.status_code == 400 and "no checkpointer" in (await no_checkpointer.get_json())["detail"]


BAD_DECISIONS = [
    (None, "Input should be a valid dictionary"),
    ({}, "type: Field required"),
    ({"type": "bogus"}, "type: Input should be 'approve', 'edit', 'reject' or 'respond'"),
    ({"type": "respond", "message": "hi"}, "'respond' is not allowed, only 'approve', '"),
    ({"type": "respond"}, "respond"),
    ({"type": "edit"}, "an edit takes edited_action {'name': "),
    ({"type": "edit", "edited_action": {"name": "send_email", "args": 5}}, "edited_action.args"),
    ({"type": "edit", "edited_action": {"name": "send_email", "args": {"to": 5}}}, "edited_action.args: to: Input"),
    ({"type": "edit", "edited_action": {"name": "send_email", "args": {"to": "x"}}}, "args: body: Field required"),
    ({"type": "reject", "message": 5}, "message: Input should be a valid string"),
]


@pytest.mark.parametrize("mode", ["batched", "per_call"])
async def test_a_decision_the_middleware_would_fail_on_is_a_400_and_the_thread_still_waits(mode: str) -> None:
    """A decision of a kind the call does not allow, of the wrong shape, an edit into another tool (in either
    mode: a person approves this call, not another) or with arguments the tool does not take, never reaches the
    thread (where the middleware would fail or run what nobody approved); a good one afterwards goes on."""
    outbox = Outbox()
    allowed = {"allowed_decisions": ["approve", "reject", "edit"]}
    middleware = HumanInTheLoopMiddleware(interrupt_on={"send_email": allowed}, interrupt_mode=mode)  # type: ignore[arg-type]
    graph = agent(ProbedChatModel(responses=[emailing]), middleware, tools=[outbox.tool])
    async with running(chat_app(graph, events="token,tool")) as url, httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{url}/chat", json={"question": "Email Ann", "thread_id": "t"})
        refused = []
        bad = [*BAD_DECISIONS, (SWITCHED, "an edit takes edited_action {'name': 'send_email'")]
        for decision, _ in bad:
            resume = decision if mode == "per_call" else {"decisions": [decision]}
            answer = await http.post(f"{url}/chat", json={"thread_id": "t", "resume": resume})
            refused.append((answer.status_code, answer.json()["detail"]))
        approve = {"type": "approve"} if mode == "per_call" else {"decisions": [{"type": "approve"}]}
        _, stream = await post_stream(f"{url}/chat", {"thread_id": "t", "resume": approve})
    for (status, detail), (_, expected) in zip(refused, bad, strict=True):
        assert status == 400 and expected in detail, detail
    assert outbox.sent == ["ann@example.com"] and "".join(token_texts(stream)) == "Done: sent to ann@example.com"


SWITCHED = {"type": "edit", "edited_action": {"name": "weather", "args": {"city": "Paris"}}}


async def test_a_client_gone_before_the_body_starts_lets_go_of_its_thread_after_the_send_timeout() -> None:
    """The client leaves while an ``after_request`` hook awaits: the body never starts, and its run, stuck
    on a full buffer, is dropped by the reader's watch (``send_timeout``), which lets go of the thread."""
    graph = agent(ProbedChatModel(responses=[words("tok " * 300)]))
    app = chat_app(graph, send_timeout=1.0)

    @app.after_request
    async def audit(response: Any) -> Any:
        await asyncio.sleep(0.3)  # an audit write, a session saved
        return response

    async with running(app) as url, httpx.AsyncClient(timeout=30) as http:
        body = b'{"question": "hi", "thread_id": "t"}'
        _, writer = await asyncio.open_connection("127.0.0.1", int(url.rsplit(":", 1)[1]))
        head = b"POST /chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        writer.write(head % len(body) + body)
        await writer.drain()
        await asyncio.sleep(0.1)
        writer.close()  # gone while the hook awaits
        statuses = []
        for _ in range(30):
            await asyncio.sleep(0.2)
            statuses.append((await http.post(f"{url}/chat", json={"question": "again", "thread_id": "t"})).status_code)
            if statuses[-1] == 200:
                break
    assert statuses[0] == 409 and statuses[-1] == 200, statuses


async def test_two_agents_with_checkpointers_of_their_own_each_have_a_thread_t() -> None:
    """The hold is on a checkpointer's thread: another blueprint's agent, with its own checkpointer, runs on
    its own thread ``t`` meanwhile (and the same agent's ``t`` waits)."""
    outbox = Outbox(delay=0.5)

    def emailing_agent() -> Any:
        return agent(ProbedChatModel(responses=[emailing]), tools=[outbox.tool])

    first, second = emailing_agent(), emailing_agent()
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: first, name="a", route="/a"))
    app.register_blueprint(create_blueprint(lambda _: second, name="b", route="/b"))
    ask = {"question": "Email Ann", "thread_id": "t"}
    async with running(app) as url, httpx.AsyncClient(timeout=30) as http:
        answers = await asyncio.gather(*(http.post(f"{url}/{route}", json=ask) for route in ("a", "b", "a")))
    assert [answer.status_code for answer in answers] == [200, 200, 409] and outbox.sent == ["ann@example.com"] * 2


async def test_an_ai_sdk_rejection_of_a_call_that_cannot_be_rejected_is_a_400() -> None:
    """``allowed_decisions`` without ``reject``: the rejection would fail the run mid-stream, and the thread."""
    outbox = Outbox()
    only = {"send_email": {"allowed_decisions": ["approve", "edit"]}}
    middleware = HumanInTheLoopMiddleware(interrupt_on=only)  # type: ignore[arg-type]
    graph = agent(ProbedChatModel(responses=[emailing]), middleware, tools=[outbox.tool])
    user = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Email Ann"}]}
    part = {
        "type": "tool-send_email",
        "toolCallId": "call_e1",
        "state": "approval-responded",
        "input": {},
        "approval": {"id": "approval-call_e1", "approved": False},
    }
    rejecting = {"id": "c1", "messages": [user, {"id": "a1", "role": "assistant", "parts": [part]}], "messageId": "a1"}
    async with running(chat_app(graph, protocol="ai-sdk")) as url, httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{url}/chat", json={"id": "c1", "messages": [user]})
        refused = await http.post(f"{url}/chat", json=rejecting)
    assert refused.status_code == 400 and "'reject' is not allowed, only 'approve', 'edit'" in refused.json()["detail"]


async def test_the_same_decision_sent_three_times_at_once_runs_the_call_once() -> None:
    """A double click, a retry: while the first resume's run is on the thread, the others get 409 (the call
    takes half a second, so all three were read against the same pending interrupt)."""
    outbox = Outbox(delay=0.5)
    graph = approving_agent(outbox)
    resume = {"thread_id": "t", "resume": {"decisions": [{"type": "approve"}]}}
    async with running(chat_app(graph)) as url, httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{url}/chat", json={"question": "Email Ann", "thread_id": "t"})
        answers = await asyncio.gather(*(http.post(f"{url}/chat", json=resume) for _ in range(3)))
        after = await http.post(f"{url}/chat", json={"question": "Thanks", "thread_id": "t"})
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 409, 409] and outbox.sent == ["ann@example.com"]
    assert all("still going" in a.json()["detail"] for a in answers if a.status_code == 409)
    assert after.status_code == 200, "the thread is free again once the run has ended"


async def test_a_client_cannot_approve_a_call_that_was_not_asked_for() -> None:
    outbox = Outbox()
    app = chat_app(approving_agent(outbox), protocol="ai-sdk", events="token,tool")
    user = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Email Ann"}]}

    def approving(call_id: str) -> dict[str, Any]:
        part = {
            "type": "tool-send_email",
            "toolCallId": call_id,
            "state": "approval-responded",
            "input": {},
            "approval": {"id": f"approval-{call_id}", "approved": True},
        }
        return {"id": "c1", "messages": [user, {"id": "a1", "role": "assistant", "parts": [part]}], "messageId": "a1"}

    async with running(app) as url, httpx.AsyncClient(timeout=30) as http:
        await http.post(f"{url}/chat", json={"id": "c1", "messages": [user]})
        forged = await http.post(f"{url}/chat", json=approving("call_forged"))
        native_raw = await http.post(f"{url}/chat", json={"id": "c1", "messages": [user], "resume": {"decisions": []}})
    assert forged.status_code == 400 and "no tool call call_forged awaits approval" in forged.json()["detail"]
    assert native_raw.status_code == 400 and "one decision per call" in native_raw.json()["detail"]
    assert outbox.sent == []


# The AI SDK: approval requests, answered with addToolApprovalResponse (ai 7's AbstractChat, as useChat).


@pytest.mark.parametrize("events", ["token,tool", "token"])
@pytest.mark.parametrize("mode", ["batched", "per_call"])
@pytest.mark.parametrize("approved", [True, False])
async def test_ai_sdk_an_approval_round_trip(approved: bool, mode: str, events: str) -> None:
    """In either of the middleware's modes (one interrupt for the turn's calls, or one per call), and whatever
    ``events`` selects: the client's tool part waits for the approved call's output."""
    outbox = Outbox()
    app = chat_app(approving_agent(outbox, mode), protocol="ai-sdk", events=events)
    async with running(app) as url:
        done = await node(
            "ai_chat.mjs", api=f"{url}/chat", chatId="c1", turns=["Email Ann"], approvals={"send_email": approved}
        )
    assert done["error"] is None
    assert done["approvalRequests"] == [
        {"toolName": "send_email", "toolCallId": "call_e1", "approvalId": "approval-call_e1"}
    ]
    assert done["finishReasons"] == ["tool-calls", "stop"]
    _, answer = done["messages"]
    [part] = [part for part in answer["parts"] if part["type"] == "tool-send_email"]
    text = "".join(part["text"] for part in answer["parts"] if part["type"] == "text")
    if approved:
        assert part["state"] == "output-available" and part["output"] == "sent to ann@example.com"
        assert text == "Done: sent to ann@example.com" and outbox.sent == ["ann@example.com"], "it ran once"
    else:
        assert part["state"] == "output-denied"
        assert text.startswith("Done: User rejected the tool call") and outbox.sent == [], "it never ran"
    assert done["requests"][1]["messageId"] == answer["id"]


async def test_ai_sdk_any_other_interrupt_is_a_data_part_answered_by_resume() -> None:
    graph = asking("city")
    async with running(chat_app(graph, protocol="ai-sdk")) as url:
        user = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Plan"}]}
        paused = await node("ai_sdk.mjs", op="send", api=f"{url}/chat", chatId="trip", messages=[user])
        again = await node(
            "ai_sdk.mjs", op="send", api=f"{url}/chat", chatId="trip", messages=[user], body={"resume": "Oslo"}
        )
    [part] = [part for part in paused["message"]["parts"] if part["type"] == "data-interrupt"]
    assert part["data"]["value"] == {"question": "Which city?"} and part["id"] == part["data"]["id"]
    assert paused["chunks"][-1] == {"type": "finish", "finishReason": "other"}
    assert again["error"] is None
    assert (await graph.aget_state({"configurable": {"thread_id": "trip"}})).values["city"] == "Oslo"


# AG-UI: RUN_FINISHED's interrupt outcome, RunAgentInput.resume; every stream passes ag-ui-validate.


def ag_ui_validate(stream: str, folder: Path) -> dict[str, Any]:
    recorded = folder / f"run-{len(list(folder.iterdir()))}.sse"
    recorded.write_text(stream)
    done = subprocess.run(
        [Path(sys.executable).parent / "ag-ui-validate", "--json", str(recorded)], capture_output=True, text=True
    )
    report: dict[str, Any] = json.loads(done.stdout)
    return report


ANSWERS = [
    ("batched", {"status": "resolved", "payload": {"approved": True}}),
    ("batched", {"status": "resolved", "payload": {"decisions": [{"type": "approve"}]}}),  # the middleware's shape
    ("batched", {"status": "cancelled"}),
    ("per_call", {"status": "resolved", "payload": {"approved": True}}),
    ("per_call", {"status": "resolved", "payload": {"type": "approve"}}),  # the middleware's shape, per call
    ("per_call", {"status": "cancelled"}),
]


@pytest.mark.parametrize(("mode", "answer"), ANSWERS)
async def test_ag_ui_pending_interrupts_a_resumed_run_and_conformance(
    mode: str, answer: dict[str, Any], tmp_path: Path
) -> None:
    outbox = Outbox()
    app = chat_app(approving_agent(outbox, mode), protocol="ag-ui", events="token,tool")
    async with running(app) as url:
        done = await node(
            "ag_ui.mjs",
            url=f"{url}/chat",
            threadId="t1",
            runId="r1",
            answer=answer,
            messages=[{"id": "u1", "role": "user", "content": "Email Ann"}],
        )
    assert done["error"] is None and done["runs"] == 2
    [pending], after = done["interrupts"]
    assert pending["reason"] == "tool_call" and pending["toolCallId"] == "call_e1" and after == []
    roles = [(m["role"], m.get("content")) for m in done["messages"]]
    if answer["status"] == "resolved":
        assert outbox.sent == ["ann@example.com"]
        assert roles[-2:] == [("tool", "sent to ann@example.com"), ("assistant", "Done: sent to ann@example.com")]
    else:
        assert outbox.sent == [] and roles[-2][0] == "tool" and roles[-1][1].startswith("Done: User rejected")
    first, resumed = (ag_ui_validate(stream, tmp_path) for stream in done["streams"])
    assert first["summary"]["errors"] == 0 and resumed["summary"]["errors"] == 0, (first, resumed)
    assert first["features"]["human-in-the-loop"] == "exercised"
    resumed_run = [e["type"] for e in done["events"]][[e["type"] for e in done["events"]].index("RUN_FINISHED") + 1 :]
    assert resumed_run[:2] == ["RUN_STARTED", "MESSAGES_SNAPSHOT"], "the client learns the thread before its results"


def emailing_two(messages: list[BaseMessage], tools: Any) -> Any:
    if isinstance(messages[-1], ToolMessage):
        return words("Done.")
    return calling(
        ("send_email", {"to": "ann@example.com", "body": "hi"}, "call_a"),
        ("send_email", {"to": "bob@example.com", "body": "hi"}, "call_b"),
    )


async def test_ag_ui_a_rejected_call_keeps_its_rejection_and_the_approved_one_its_result() -> None:
    """Two calls of one tool, the first rejected, the second approved: each result goes to its own call."""
    outbox = Outbox()
    graph = agent(
        ProbedChatModel(responses=[emailing_two]),
        HumanInTheLoopMiddleware(interrupt_on={"send_email": True}),
        tools=[outbox.tool],
    )
    decisions = [{"type": "reject", "message": "no"}, {"type": "approve"}]
    answer = {"status": "resolved", "payload": {"decisions": decisions}}
    async with running(chat_app(graph, protocol="ag-ui", events="token,tool")) as url:
        done = await node(
            "ag_ui.mjs",
            url=f"{url}/chat",
            threadId="t1",
            runId="r1",
            answer=answer,
            messages=[{"id": "u1", "role": "user", "content": "Email both"}],
        )
    assert done["error"] is None and outbox.sent == ["bob@example.com"]
    results = [(e["toolCallId"], e["content"]) for e in done["events"] if e["type"] == "TOOL_CALL_RESULT"]
    rejection = "User rejected the tool call for `send_email` with reason: no"  # the text the thread keeps, too
    assert results == [("call_a", rejection), ("call_b", "sent to bob@example.com")]


@pytest.mark.parametrize("payload", [{"approved": "false"}, {"approved": 0}, {"approved": False, "message": 5}])
async def test_ag_ui_an_approval_is_true_or_false_and_nothing_else(payload: dict[str, Any]) -> None:
    outbox = Outbox()
    app = chat_app(approving_agent(outbox), protocol="ag-ui")
    async with running(app) as url:
        first = [{"id": "u1", "role": "user", "content": "Email Ann"}]
        done = await node("ag_ui.mjs", url=f"{url}/chat", threadId="t1", runId="r1", messages=first)
        [pending] = done["interrupts"][0]
        body = {
            "threadId": "t1",
            "runId": "r2",
            "messages": first,
            "resume": [{"interruptId": pending["id"], "status": "resolved", "payload": payload}],
        }
        async with httpx.AsyncClient(timeout=30) as http:
            refused = await http.post(f"{url}/chat", json=body)
    assert refused.status_code == 400 and "takes {'approved': true or false" in refused.json()["detail"]
    assert outbox.sent == []


async def test_ag_ui_copilotkits_older_command_resume_is_accepted() -> None:
    graph = asking("city")
    async with running(chat_app(graph, protocol="ag-ui")) as url:
        first = [{"id": "u1", "role": "user", "content": "Plan"}]
        await node("ag_ui.mjs", url=f"{url}/chat", threadId="trip", runId="r1", messages=first)
        done = await node(
            "ag_ui.mjs",
            url=f"{url}/chat",
            threadId="trip",
            runId="r2",
            messages=first,
            forwardedProps={"command": {"resume": "Lima"}},
        )
    assert done["error"] is None
    assert (await graph.aget_state({"configurable": {"thread_id": "trip"}})).values["city"] == "Lima"


# OpenAI cannot carry an interrupt: an error its SDK raises.


async def test_openai_an_interrupt_is_an_interrupted_error() -> None:
    async with running(chat_app(asking("city"), protocol="openai")) as url:
        client = AsyncOpenAI(base_url=url, api_key="unused", default_headers={"X-Thread-Id": "t1"})
        stream = await client.chat.completions.create(
            model="agent", messages=[{"role": "user", "content": "Plan"}], stream=True
        )
        with pytest.raises(APIError) as streamed:
            async for _ in stream:
                pass
        client = AsyncOpenAI(base_url=url, api_key="unused", default_headers={"X-Thread-Id": "t2"})
        with pytest.raises(ConflictError) as whole:
            await client.chat.completions.create(model="agent", messages=[{"role": "user", "content": "Plan"}])
    assert streamed.value.code == "interrupted" and "waits for a decision" in streamed.value.message
    assert whole.value.code == "interrupted"


# Resumable streams: an interrupted stream replays to its interrupt; the decision is a new stream.


async def test_an_interrupted_stream_replays_up_to_its_interrupt_and_the_decision_is_a_new_stream() -> None:
    graph = asking("city")
    async with running(chat_app(graph, resume="memory")) as url:
        body = {"question": "Plan", "thread_id": "trip", "id": "s1"}
        _, paused = await post_stream(f"{url}/chat", body)
        status, replay = await resume_from(f"{url}/chat/s1/stream")
        response, resumed = await post_stream(f"{url}/chat", {"thread_id": "trip", "resume": "Paris", "id": "s2"})
    assert status == 200 and named(replay) == named(paused) and named(replay)[0][0] == "interrupt"
    assert response.status_code == 200 and resumed.messages[-1] == "[DONE]"
    assert (await graph.aget_state({"configurable": {"thread_id": "trip"}})).values["city"] == "Paris"
