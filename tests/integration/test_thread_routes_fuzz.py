"""Fuzzing the thread routes (hypothesis, derandomized): any method, thread id, query, body and owner on a live
server gives a JSON answer below 500 — a refusal a ``4xx`` in the protocol's error shape — and never shows one
owner's thread to the other."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_security_fuzz import LiveServer

ROUTES = ("/native/chat/threads", "/ai/chat/threads", "/agui/chat/threads", "/v1/threads")
ids = st.one_of(
    st.sampled_from(["t1", "t2", "", "x" * 129, "a:b", "%2e%2e", "..", "t1/extra", "%00", "ü"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
)
queries = st.dictionaries(
    st.sampled_from(["limit", "cursor", "x"]),
    st.one_of(st.integers(-5, 500).map(str), st.text(max_size=40), st.just("bzE=")),
    max_size=3,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=300),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
bodies = st.one_of(json_values, st.fixed_dictionaries({"title": json_values}), st.binary(max_size=64))
requests = st.tuples(
    st.sampled_from(["GET", "PATCH", "DELETE", "POST", "PUT"]),
    st.sampled_from(ROUTES),
    ids,
    queries,
    bodies,
    st.sampled_from(["alice", "bob", None]),
)


SERVER: list[LiveServer] = []  # this module's own: the other fuzz module closes its own when it ends


def live() -> LiveServer:
    if not SERVER:
        SERVER.append(LiveServer())
    return SERVER[0]


def teardown_module() -> None:
    for server in SERVER:
        server.close()


async def ask_once(url: str) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        body = {"question": "hello", "thread_id": "t1"}
        await http.post(f"{url}/native/chat", json=body, headers={"X-User": "alice"})


@settings(
    max_examples=150,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
@given(st.lists(requests, min_size=1, max_size=5))
def test_fuzzed_requests_on_the_thread_routes_never_fail_the_server_nor_cross_owners(plan: list[Any]) -> None:
    server = live()
    server.call(ask_once(server.url))
    for method, route, thread, query, body, owner in plan:
        path = route if thread == "" else f"{route}/{quote(thread, safe='/%:')}"
        headers = {"X-User": owner} if owner is not None else {}
        content = body if isinstance(body, bytes) else None
        answer = server.call(_send(server.url + path, method, query, body, content, headers))
        assert answer.status_code < 500, (method, path, answer.text)
        if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith("application/json"):
            assert "error" in answer.json()  # the protocol's error shape (OpenAI's nests its detail)
        if owner == "bob" and answer.status_code == 200 and method == "GET":
            assert "hello" not in answer.text, "bob saw alice's thread"


async def _send(url: str, method: str, query: Any, body: Any, content: bytes | None, headers: Any) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        if content is not None:
            return await http.request(method, url, params=query, content=content, headers=headers)
        return await http.request(method, url, params=query, json=body, headers=headers)
