"""Fuzzing LangGraph's server API as this blueprint serves it (hypothesis, derandomized): any method on any of its
routes, with bodies made of the fields its clients send (and anything else), from either owner, gives JSON below
500 — a refusal is LangGraph's ``{"detail": ...}`` — never shows one owner's thread or stored item to the other,
and never runs a server tool that waits for approval."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_langgraph_protocol import ALICE, langgraph_app
from test_security_fuzz import LiveServer

ROUTES = (  # (method, path) as the API has them
    ("POST", "/threads"),
    ("POST", "/threads/search"),
    ("POST", "/threads/count"),
    ("GET", "/threads/{t}"),
    ("PATCH", "/threads/{t}"),
    ("DELETE", "/threads/{t}"),
    ("GET", "/threads/{t}/state"),
    ("POST", "/threads/{t}/state"),
    ("GET", "/threads/{t}/state/{c}"),
    ("GET", "/threads/{t}/state?subgraphs=true"),
    ("POST", "/threads/{t}/state/checkpoint"),
    ("POST", "/threads/{t}/history"),
    ("GET", "/threads/{t}/runs"),
    ("POST", "/threads/{t}/runs/wait"),
    ("GET", "/threads/{t}/runs/{r}"),
    ("POST", "/threads/{t}/runs/{r}/cancel"),
    ("POST", "/threads/{t}/runs/{r}/cancel?action=rollback&wait=1"),
    ("DELETE", "/threads/{t}/runs/{r}"),
    ("POST", "/threads/{t}/copy"),
    ("POST", "/threads/prune"),
    ("POST", "/runs/cancel"),
    ("POST", "/runs/cancel?action=rollback"),
    ("POST", "/runs/wait"),
    ("POST", "/assistants/search"),
    ("POST", "/assistants/count"),
    ("POST", "/assistants/{a}/versions"),
    ("GET", "/assistants/{a}"),
    ("GET", "/assistants/{a}/graph"),
    ("GET", "/assistants/{a}/schemas"),
    ("GET", "/assistants/{a}/subgraphs"),
    ("PUT", "/store/items"),
    ("GET", "/store/items?namespace={a}&key={r}"),
    ("DELETE", "/store/items"),
    ("POST", "/store/items/search"),
    ("POST", "/store/namespaces"),
)
labels = st.lists(st.sampled_from(["alice", "bob", "llmstream", "memories", "a.b", ""]), max_size=3)
names = st.one_of(
    st.sampled_from(["", "x" * 129, "a:b", "..", "%00", "ü", "reviewer", "alice.memories", "m1"]), st.text(max_size=10)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10**6) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
messages = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["human", "ai", "tool", "system", "user", "nope"]), "content": st.text(max_size=12)},
        optional={
            "id": st.text(max_size=6),
            "tool_call_id": st.text(max_size=6),
            "tool_calls": st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["wire_money", "admin_reset", "x"]), "args": st.just({})}
                ).map(lambda call: call | {"id": "c1"}),
                max_size=2,
            ),
        },
    ),
    max_size=3,
)
fields = {
    "input": st.one_of(json_values, st.fixed_dictionaries({"messages": messages})),
    "command": st.one_of(json_values, st.fixed_dictionaries({}, optional={"resume": json_values, "goto": json_values})),
    "values": st.one_of(json_values, st.fixed_dictionaries({}, optional={"messages": messages, "todos": json_values})),
    "as_node": st.one_of(st.sampled_from(["model", "tools", "HumanInTheLoopMiddleware.after_model"]), json_values),
    "stream_mode": st.one_of(st.sampled_from(["values", "events", "updates", "nope"]), json_values),
    "metadata": json_values,
    "limit": json_values,
    "offset": json_values,
    "status": json_values,
    "checkpoint_id": json_values,
    "checkpoint": st.one_of(
        json_values, st.fixed_dictionaries({}, optional={"checkpoint_id": names, "checkpoint_ns": names})
    ),
    "subgraphs": json_values,
    "multitask_strategy": st.one_of(st.sampled_from(["reject", "enqueue", "interrupt", "rollback"]), json_values),
    "assistant_id": st.one_of(st.sampled_from(["reviewer", "00000000-0000-0000-0000-000000000000"]), json_values),
    "thread_id": json_values,
    "thread_ids": st.one_of(st.lists(names, max_size=3), json_values),
    "run_ids": st.one_of(st.lists(names, max_size=3), json_values),
    "strategy": st.one_of(st.sampled_from(["delete", "keep_latest"]), json_values),
    "if_exists": json_values,
    "graph_id": st.one_of(st.sampled_from(["reviewer", "x"]), json_values),
    "name": json_values,
    "namespace": st.one_of(labels, json_values),
    "namespace_prefix": st.one_of(labels, json_values),
    "prefix": st.one_of(labels, json_values),
    "suffix": st.one_of(labels, json_values),
    "key": st.one_of(st.sampled_from(["m1", ""]), json_values),
    "value": json_values,
    "filter": json_values,
    "max_depth": json_values,
    "ttl": json_values,
    "index": json_values,
}
body = st.fixed_dictionaries({}, optional=fields)
bodies = st.one_of(body, body, body, json_values, st.binary(max_size=32))  # mostly the fields clients send
routes = st.one_of(
    st.sampled_from(ROUTES),
    st.tuples(st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"]), st.sampled_from([p for _, p in ROUTES])),
)
requests = st.tuples(
    routes,
    st.tuples(st.sampled_from([0, 1, None]), names, names, names),
    bodies,
    st.sampled_from(["alice", "bob", None]),
)
SERVER: list[LiveServer] = []
THREAD: list[str] = []


def live() -> LiveServer:
    """The review's app with the LangGraph blueprint at ``/lg``, two threads of alice's (one waiting for an
    approval of ``wire_money``, one idle) and an item in her part of the store."""
    if not SERVER:
        app, review = langgraph_app()
        review.app = app
        SERVER.append(server := LiveServer(review))
        THREAD.extend(server.call(_thread(server.url, text)) for text in ("wire money, alice", "hello, alice"))
        server.call(review.graph.store.aput(("alice", "memories"), "m1", {"text": "tea, alice"}))
    return SERVER[0]


async def _thread(url: str, text: str) -> str:
    async with httpx.AsyncClient(timeout=30) as http:
        thread = (await http.post(f"{url}/lg/threads", json={}, headers=ALICE)).json()["thread_id"]
        body = {"input": {"messages": [{"role": "user", "content": text}]}}
        await http.post(f"{url}/lg/threads/{thread}/runs/wait", json=body, headers=ALICE)
    return str(thread)


def teardown_module() -> None:
    for server in SERVER:
        server.close()


@settings(
    max_examples=250,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(st.lists(requests, min_size=1, max_size=4))
def test_fuzzed_requests_on_langgraphs_api_never_fail_the_server_cross_owners_or_pass_an_approval_by(
    plan: list[Any],
) -> None:
    server = live()
    for (method, template), (known, thread, run, assistant), body, owner in plan:
        names = {"t": thread if known is None else THREAD[known], "c": thread, "r": run, "a": assistant}
        path = "/lg" + template.format(**{key: quote(value, safe="") or "_" for key, value in names.items()})
        headers = {"X-User": owner} if owner is not None else {}
        answer = server.call(_send(server.url + path, method, body, headers))
        assert answer.status_code < 500, (method, path, body, answer.text)
        if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith("application/json"):
            assert "detail" in answer.json(), answer.text
        if owner != "alice" and answer.status_code == 200:
            assert ", alice" not in answer.text, "another owner saw alice's thread or item"
    assert server.review.audit.ran("wire_money") == [], "the approval was passed by"


async def _send(url: str, method: str, body: Any, headers: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        if isinstance(body, bytes):
            return await http.request(method, url, content=body, headers=headers)
        return await http.request(method, url, json=body, headers=headers)
