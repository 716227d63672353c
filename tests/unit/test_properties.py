"""Property-based tests: any text survives the SSE encoder; any JSON body gets a stream or a 4xx."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quart import Quart

from quart_llmstream import create_blueprint
from quart_llmstream.payloads import to_json
from quart_llmstream.protocols.sse import encode_comment, encode_event

from fakes import answering
from sse_parser import parse

# Text as a model may produce it, lone surrogates excluded (they have no UTF-8 form; tested apart).
texts = st.text(st.characters(blacklist_categories=("Cs",)))
names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), min_size=1)


@given(texts)
def test_any_text_round_trips_as_data(text: str) -> None:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    [event] = parse(encode_event(text)).events
    assert event.data == normalised


@given(st.lists(st.tuples(texts, st.none() | names, st.none() | names.filter(lambda s: "\0" not in s)), max_size=5))
def test_any_sequence_of_events_and_comments_parses_back(frames: list[tuple[str, str | None, str | None]]) -> None:
    body = encode_comment("open")
    for data, event, id_ in frames:
        body += encode_comment(data) + encode_event(data, event=event, id=id_)
    parsed = parse(body + encode_event("[DONE]"))
    assert parsed.incomplete == ""
    assert [(e.data, e.event) for e in parsed.events] == [
        *((d.replace("\r\n", "\n").replace("\r", "\n"), e or "message") for d, e, _ in frames),
        ("[DONE]", "message"),
    ]


@given(st.text())  # lone surrogates included
def test_any_token_round_trips_through_json(token: str) -> None:
    [event] = parse(encode_event(to_json({"token": token}))).events
    assert json.loads(event.data) == {"token": token}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=12,
)
roles = json_values | st.sampled_from(["user", "ai", "system"])
pairs = st.lists(json_values, max_size=3)
history_items = st.fixed_dictionaries({}, optional={"role": roles, "content": json_values}) | pairs
bodies = json_values | st.fixed_dictionaries(
    {},
    optional={"question": json_values, "chat_history": json_values | st.lists(history_items, max_size=3)},
)

app = Quart(__name__)
app.register_blueprint(create_blueprint(lambda _: answering("ok"), max_question_chars=40, max_history=2))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies)
async def test_any_json_body_gets_a_stream_or_a_4xx_json_never_a_500(body: Any) -> None:
    response = await app.test_client().post("/chat", json=body)
    if response.status_code == 200:
        assert (await response.get_data()).endswith(b"data: [DONE]\n\n")
    else:
        assert 400 <= response.status_code < 500
        answer = await response.get_json()
        assert set(answer) == {"error", "detail"} and answer["detail"]
