"""A body the run could neither keep (a checkpointer's msgpack) nor send back (JSON) is a 400 up front, in
every protocol, never a 500 or a stream that fails once started."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from quart import Quart, request

from quart_llmstream.errors import RequestError
from quart_llmstream.request.body import parse_json_body, read_json_bodies
from quart_llmstream.request.counted import Budget, check_counts, parse_counting

from fakes import answering
from helpers import chat_app

ROUTES = {"native": "/chat", "ai-sdk": "/chat", "ag-ui": "/chat", "openai": "/chat/completions"}


def body_for(protocol: str, text: str = '"hi"', *, extra: str = "") -> str:
    """A raw JSON body: ``text`` is JSON source, put in where the question goes; ``extra`` goes at the top."""
    extra = f", {extra}" if extra else ""
    if protocol == "native":
        return f'{{"question": {text}{extra}}}'
    if protocol == "ai-sdk":
        part = f'{{"type": "text", "text": {text}}}'
        return f'{{"id": "c", "messages": [{{"id": "u", "role": "user", "parts": [{part}]}}]{extra}}}'
    if protocol == "ag-ui":
        return f'{{"threadId": "t", "runId": "r", "messages": [{{"role": "user", "content": {text}}}]{extra}}}'
    return f'{{"model": "m", "messages": [{{"role": "user", "content": {text}}}]{extra}}}'


def graph() -> Any:
    """A checkpointed graph, as the state and the thread that would store the body need."""
    builder = StateGraph(MessagesState)
    builder.add_node("answer", lambda state: {"messages": [AIMessage("ok")]})
    builder.add_edge(START, "answer")
    return builder.compile(checkpointer=InMemorySaver())


async def post(protocol: str, raw: str) -> tuple[int, str]:
    app = chat_app(graph() if protocol != "openai" else answering("ok"), protocol=protocol)
    response = await app.test_client().post(
        ROUTES[protocol], data=raw.encode(), headers={"Content-Type": "application/json"}
    )
    payload = await response.get_json()
    detail = payload["error"]["message"] if protocol == "openai" else payload["detail"]
    return response.status_code, detail


DEEP = "[" * 100 + "]" * 100
BAD = [
    ("a lone surrogate", '"hi \\ud800"', "", "a lone UTF-16 surrogate is not text"),
    ("NaN", '"hi"', '"n": NaN', "NaN is not a JSON number"),
    ("Infinity", '"hi"', '"n": -Infinity', "-Infinity is not a JSON number"),
    ("an integer beyond 64 bits", '"hi"', '"n": 18446744073709551616', "n: an integer beyond 64 bits"),
    ("an integer below 64 bits", '"hi"', '"n": -9223372036854775809', "n: an integer beyond 64 bits"),  # -2**63 - 1
    ("a number past a double", '"hi"', '"n": [1, -1e400]', "n.1: a number beyond a double's range"),
    ("a surrogate in a key", '"hi"', '"n": {"\\udfff": 1}', "n: a lone UTF-16 surrogate is not text"),
    ("a NUL character", '"hi \\u0000"', "", "a NUL character (U+0000) is not text PostgreSQL keeps"),
    ("a NUL in a key", '"hi"', '"n": {"a\\u0000": 1}', "n: a NUL character"),
    ("nested 65 deep", '"hi"', '"n": ' + "[" * 64 + "]" * 64, "nested deeper than 64 levels"),  # 64 pass
    ("nested 100 deep", '"hi"', f'"n": {DEEP}', "nested deeper than 64 levels"),
    ("nested past the parser", '"hi"', '"n": ' + "[" * 100_000 + "]" * 100_000, "nests deeper than 64 levels"),
]


@pytest.mark.parametrize("protocol", list(ROUTES))
@pytest.mark.parametrize(("text", "extra", "detail"), [case[1:] for case in BAD], ids=[case[0] for case in BAD])
async def test_a_body_the_run_could_not_keep_or_send_back_is_a_400(
    protocol: str, text: str, extra: str, detail: str
) -> None:
    status, said = await post(protocol, body_for(protocol, text, extra=extra))
    assert (status, detail in said) == (400, True), said


@pytest.mark.parametrize("run_id", ["a run", "r" * 129, ""])
async def test_an_ag_ui_run_id_that_could_name_no_stream_is_a_400_with_resume_on_or_off(run_id: str) -> None:
    """Its stream's id, and the id feedback rates its answer by: the same rule whether streams are kept or not."""
    body = json.loads(body_for("ag-ui"))
    status, said = await post("ag-ui", json.dumps(body | {"runId": run_id}))
    assert (status, said) == (400, "runId: 1 to 128 characters of A-Z, a-z, 0-9, _ and -")

    if run_id:  # connectAgent()'s, which names none as often as not
        app = chat_app(graph(), protocol="ag-ui", single_user=True)
        connected = await app.test_client().post("/chat/connect", json={"threadId": "t", "runId": run_id})
        assert connected.status_code == 400 and (await connected.get_json())["detail"].startswith("runId: ")


@pytest.mark.parametrize("protocol", ["native", "ag-ui"])
async def test_the_state_and_its_path_are_named(protocol: str) -> None:
    status, said = await post(protocol, body_for(protocol, extra='"state": {"todos": [1, 18446744073709551616]}'))
    assert (status, said) == (400, "state.todos.1: an integer beyond 64 bits")


async def test_what_the_checks_let_pass_still_streams() -> None:
    """The edges: 64 levels, the largest integers msgpack holds, a surrogate pair (one emoji), text with accents."""
    nested = "[" * 63 + "]" * 63  # with the body, 64 levels of containers
    extra = (
        f'"n": {nested}, "big": [18446744073709551615, -9223372036854775808, 1e308], "e": "\\ud83d\\ude00 café 한국어"'
    )
    app = chat_app(answering("ok"))
    response = await app.test_client().post(
        "/chat", data=body_for("native", extra=extra).encode(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200
    assert "[DONE]" in (await response.get_data(as_text=True))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(1 << 60), 1 << 60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, derandomize=True, database=None)
@given(
    st.dictionaries(st.sampled_from(["messages", "a", "b", "messages "]), json_values, max_size=4),
    st.sampled_from([None, 0, 1, 2]),
    st.integers(0, 5),
)
def test_a_big_body_parsed_a_value_at_a_time_is_what_json_loads_makes_of_it(
    body: dict[str, Any], indent: int | None, most: int
) -> None:
    """The parse that counts a big body's messages as it goes gives exactly ``json.loads``'s object, or says it
    cannot tell (None, and ``json.loads`` then parses it), or refuses more than ``most`` messages."""
    text = json.dumps(body, indent=indent)
    messages = body.get("messages")
    try:
        parsed = parse_counting(text, Budget("messages", most))
    except RequestError as exc:
        assert isinstance(messages, list) and len(messages) > most and exc.status == 400
        return
    assert parsed == (json.loads(text) if body else None)  # only {} is left to json.loads


@settings(max_examples=200, derandomize=True, database=None)
@given(
    st.dictionaries(
        st.sampled_from(["input", "a"]),
        json_values | st.dictionaries(st.sampled_from(["messages", "b"]), json_values, max_size=3),
        max_size=3,
    ),
    st.integers(0, 5),
)
def test_a_conversation_inside_an_object_is_counted_as_the_big_parse_goes_and_after_the_small_one(
    body: dict[str, Any], most: int
) -> None:
    """LangGraph's ``input.messages``: both ways of counting refuse exactly more than ``most`` messages there, and
    the big parse gives ``json.loads``'s object."""
    text, budget = json.dumps(body), Budget("input.messages", most, ("content",))
    inner = body.get("input")
    messages = inner.get("messages") if isinstance(inner, dict) else None
    over = isinstance(messages, list) and len(messages) > most
    for count in (lambda: parse_counting(text, budget), lambda: check_counts(json.loads(text), budget)):
        try:
            parsed = count()
            assert not over
            assert parsed in (None, json.loads(text))
        except RequestError as exc:
            assert over and "input.messages: at most" in exc.detail


def test_a_big_body_that_is_not_a_well_formed_object_is_left_to_json_loads() -> None:
    for text in ("[1]", '{"a": 1} x', '{"a": NaN}', '{"messages": [1,]}', '{"a" 1}', "", '{"a": [1, 2'):
        assert parse_counting(text, Budget("messages", 3)) is None


@settings(max_examples=200, derandomize=True, database=None)
@given(
    st.lists(
        st.fixed_dictionaries({"role": st.just("user")}, optional={"content": st.lists(json_values, max_size=4)}),
        max_size=6,
    ),
    st.integers(0, 8),
)
def test_parts_are_counted_in_all_as_the_big_parse_goes_and_after_the_small_one(
    messages: list[dict[str, Any]], most: int
) -> None:
    """Both ways of counting refuse exactly the conversations of more than ``most`` parts in all."""
    text, budget = json.dumps({"messages": messages}), Budget("messages", 10, ("content",), most)
    over = sum(len(message.get("content", ())) for message in messages) > most
    for count in (lambda: parse_counting(text, budget), lambda: check_counts(json.loads(text), budget)):
        try:
            count()
            assert not over
        except RequestError as exc:
            assert over and "parts in all" in exc.detail


@pytest.mark.parametrize(
    "pad",
    [[0] * 1_000_001, {str(n): 0 for n in range(1_000_001)}, [{}] * 1_000_001],
    ids=["zeros", "members", "empty objects"],
)
def test_a_body_of_more_values_than_any_conversation_needs_is_refused_before_they_are_built(pad: Any) -> None:
    """Counted in its text before any is built (built, a million empty objects took 35 times the body's size)."""
    raw = json.dumps({"messages": [], "pad": pad}, separators=(",", ":")).encode()
    tracemalloc.start()
    try:
        with pytest.raises(RequestError, match="more than 1000000 values"):
            parse_json_body(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10 * len(raw), f"{peak >> 20} MiB for a body of {len(raw) >> 20} MiB: it was built"


def test_commas_in_a_bodys_strings_are_not_values() -> None:
    text = ", ".join(["a"] * 1_100_000)  # a long text with a million commas, in a body of a few values
    assert parse_json_body(json.dumps({"messages": [], "notes": [text, "b, c"]}))["notes"][1] == "b, c"


@pytest.mark.timeout(20)  # counted as it was, this body took minutes of one worker's CPU (each escape a rescan)
def test_a_string_left_open_full_of_escaped_quotes_is_counted_in_one_pass() -> None:
    raw = '{"question":"' + '\\"' * 8000 + "," * 1_100_000
    with pytest.raises(RequestError, match="not valid JSON"):
        parse_json_body(raw)
    closed = '{"messages": [], "notes": ["' + '\\"' * 8000 + '", "' + "," * 1_100_000 + '"]}'
    assert len(parse_json_body(closed)["notes"]) == 2, "the commas of a string closed after escapes are no values"


async def _bodies(raw: bytes, budget: Budget | None = None) -> list[dict[str, Any]]:
    app = Quart(__name__)
    async with app.test_request_context("/", method="POST", data=raw, headers={"Content-Type": "application/json"}):
        return await read_json_bodies(request, budget)


@pytest.mark.parametrize(
    ("raw", "refused"),
    [
        (b'{"input": {}}', "a JSON array of objects"),
        (b'[{"input": {}}, 1]', "a JSON array of objects"),
        (b'[{"input": {}}, {"input": {"n": NaN}}]', "not valid JSON"),
        (b'[{"input": {}}, {"input": {"text": "a\\u0000"}}]', "NUL"),
    ],
)
async def test_a_batch_is_an_array_of_bodies_each_held_to_what_one_body_is(raw: bytes, refused: str) -> None:
    with pytest.raises(RequestError) as error:
        await _bodies(raw)
    assert error.value.status == 400 and refused in error.value.detail
    assert await _bodies(b'[{"input": {}}, {"input": {"n": 1}}]') == [{"input": {}}, {"input": {"n": 1}}]
    with pytest.raises(RequestError, match="at most 100 in one request"):
        await _bodies(json.dumps([{"input": {}}] * 101).encode())
    assert len(await _bodies(json.dumps([{"input": {}}] * 100).encode())) == 100
    runs = [{"input": {"messages": [{"content": "hi"}] * n}} for n in (2, 3)]
    with pytest.raises(RequestError, match=r"input\.messages: at most 2 messages"):
        await _bodies(json.dumps(runs).encode(), Budget("input.messages", 2))


def test_metadata_holds_64_kib_of_json_and_not_a_character_more() -> None:
    from quart_llmstream.request.validation import MAX_METADATA, check_metadata

    def metadata(chars: int) -> dict[str, str]:
        return {"k": "x" * (chars - len('{"k": ""}'))}  # as json.dumps writes it

    assert check_metadata(metadata(MAX_METADATA)) == metadata(MAX_METADATA)
    with pytest.raises(ValueError, match=f"at most {MAX_METADATA} characters"):
        check_metadata(metadata(MAX_METADATA + 1))
