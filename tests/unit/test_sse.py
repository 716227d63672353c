"""The SSE encoder keeps each rule of the WHATWG HTML standard's "Server-sent events"; one test per rule."""

from __future__ import annotations

import json

import pytest
from quart import Quart

from quart_llmstream import create_blueprint
from quart_llmstream.events import TextDelta
from quart_llmstream.payloads import to_json
from quart_llmstream.protocols.native import NativeProtocol
from quart_llmstream.protocols.sse import encode_comment, encode_event, with_id

from fakes import answering
from sse_parser import parse


async def test_rule_1_response_is_200_event_stream_utf8_without_bom() -> None:
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering("héllo")))
    response = await app.test_client().post("/chat", json={"question": "hi"})
    body = await response.get_data()
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    assert not body.startswith(b"\xef\xbb\xbf")
    assert parse(body).messages == ['{"token":"h\\u00e9llo"}', "[DONE]"]
    body.decode("utf-8")  # strict: raises if not UTF-8


def test_rule_2_lf_line_ends_only() -> None:
    frame = encode_event("a\r\nb\rc\nd", event="e", id="1", retry=5)
    assert b"\r" not in frame
    assert frame == b"event: e\nid: 1\nretry: 5\ndata: a\ndata: b\ndata: c\ndata: d\n\n"


def test_rule_3_every_event_ends_with_a_blank_line() -> None:
    for frame in (encode_event("x"), encode_event("", event="y"), encode_event("a\n")):
        assert frame.endswith(b"\n\n")
        assert parse(frame).incomplete == ""


@pytest.mark.parametrize("payload", ["a\r\nb", "a\rb", "a\nb", "a\n\nb", "a\n", "\n", "a\r\n\r\nb\r"])
def test_rule_4_multiline_data_splits_on_cr_lf_and_crlf(payload: str) -> None:
    normalised = payload.replace("\r\n", "\n").replace("\r", "\n")
    assert parse(encode_event(payload)).events[0].data == normalised


@pytest.mark.parametrize("payload", ["a\u2028b", "a\u2029b", "a\x85b", "a\x0bb\x0cc\x1cd\x1ee"])
def test_rule_4_only_cr_and_lf_are_line_breaks(payload: str) -> None:
    frame = encode_event(payload)
    assert frame.count(b"data: ") == 1
    assert parse(frame).events[0].data == payload


def test_rule_5_data_keeps_a_leading_space() -> None:
    assert encode_event(" lead").startswith(b"data:  lead")
    assert parse(encode_event(" lead\n  two")).events[0].data == " lead\n  two"


def test_rule_6_empty_payload_still_dispatches() -> None:
    assert encode_event("") == b"data: \n\n"
    events = parse(encode_event("", event="ping")).events
    assert [(e.event, e.data) for e in events] == [("ping", "")]


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "a\r\nb", "\n"])
def test_rule_7_event_and_id_refuse_line_breaks(bad: str) -> None:
    with pytest.raises(ValueError):
        encode_event("x", event=bad)
    with pytest.raises(ValueError):
        encode_event("x", id=bad)


def test_rule_7_id_refuses_nul() -> None:
    with pytest.raises(ValueError):
        encode_event("x", id="a\0b")


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10", None.__class__])
def test_rule_8_retry_is_a_non_negative_int(bad: object) -> None:
    with pytest.raises(ValueError):
        encode_event("x", retry=bad)  # type: ignore[arg-type]
    assert parse(encode_event("x", retry=3000)).retry == 3000


def test_rule_9_falsy_values_are_written() -> None:
    frame = encode_event("x", id="0", retry=0)
    assert b"id: 0\n" in frame and b"retry: 0\n" in frame
    assert parse(frame).events[0].id == "0"


def test_rule_10_a_comment_is_single_lines_with_no_blank_line_after_it() -> None:
    assert encode_comment("ping") == b": ping\n"
    assert encode_comment("two\nlines") == b": two\n: lines\n"


def test_rule_10_comments_dispatch_nothing() -> None:
    stream = parse(encode_comment("keep-alive") + encode_comment("two\nlines") + encode_comment())
    assert stream.events == []
    assert stream.comments == ["keep-alive", "two", "lines", ""]
    assert parse(encode_event("a") + encode_comment("p") + encode_event("b")).messages == ["a", "b"]


def test_rule_11_empty_id_resets_the_last_event_id() -> None:
    events = parse(encode_event("a", id="7") + encode_event("b") + encode_event("c", id="")).events
    assert [e.id for e in events] == ["7", "7", ""]


def test_rule_12_an_id_put_on_a_batch_of_frames_marks_its_last_event_only() -> None:
    """``with_id`` numbers what a client has had: a resume after it starts past every event of the batch."""
    batch = with_id(encode_event("a", event="values") + encode_event("b\nc", event="metadata"), b"run:7")
    events = parse(batch).events
    assert [(e.event, e.data, e.id) for e in events] == [("values", "a", ""), ("metadata", "b\nc", "run:7")]
    assert batch.endswith(b"\n\n") and b"\n\n\n" not in batch


def test_rule_13_json_is_compact_one_line_and_survives_a_lone_surrogate() -> None:
    assert to_json({"token": "a b", "n": [1, 2]}) == '{"token":"a b","n":[1,2]}'
    frame = NativeProtocol().encoder("s", frozenset(), {}).encode(TextDelta("bad \ud800 good\nnext"))
    assert frame.count(b"\n") == 2  # one data line, one blank line
    assert json.loads(parse(frame).events[0].data) == {"token": "bad \ud800 good\nnext"}


def test_rule_13_raw_text_with_a_lone_surrogate_becomes_a_replacement_character() -> None:
    assert parse(encode_event("a\udc80b")).events[0].data == "a\ufffdb"


async def test_rule_15_no_hop_by_hop_headers_and_no_buffering() -> None:
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering("x")))
    response = await app.test_client().post("/chat", json={"question": "hi"})
    assert parse(await response.get_data()).messages == ['{"token":"x"}', "[DONE]"]
    for header in ("Connection", "Keep-Alive", "Transfer-Encoding"):
        assert header not in response.headers
    assert response.headers["X-Accel-Buffering"] == "no"
    assert response.headers["Cache-Control"] == "no-cache"


async def test_rule_17_the_native_stream_carries_no_id_or_retry_lines() -> None:
    app = Quart(__name__)
    app.register_blueprint(create_blueprint(lambda _: answering("a", "b"), events="token,start,end"))
    response = await app.test_client().post("/chat", json={"question": "hi"})
    lines = (await response.get_data()).split(b"\n")
    assert not [line for line in lines if line.startswith((b"id:", b"retry:"))]
    assert b"data: [DONE]" in lines
