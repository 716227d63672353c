"""Images, audio and files in every protocol reach the model as LangChain's v1 standard content blocks, sent
by each protocol's own client; what is wrong is refused with the part named; no URL is ever fetched."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from openai import AsyncOpenAI
from quart import Quart, request

from quart_llmstream import ChatRequest

from fake_openai import FakeOpenAI
from fakes import ProbedChatModel
from helpers import chat_app, node, running

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # a PNG's signature, then bytes the test can recognise
PDF = b"%PDF-1.7\n" + b"a document " * 50
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64)
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(64)
MESSAGES = ChatPromptTemplate.from_messages([MessagesPlaceholder("messages")])


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def blocks(message: BaseMessage) -> list[dict[str, Any]]:
    """The message's attachment blocks (all but its text), with their bytes decoded for comparison."""
    out = []
    for block in message.content if isinstance(message.content, list) else ():
        if isinstance(block, dict) and block.get("type") != "text":
            out.append({**block, "base64": base64.b64decode(block["base64"])} if "base64" in block else block)
    return out


def seeing() -> tuple[ProbedChatModel, list[ChatRequest], Any]:
    """A model behind a prompt over ``messages``, and a factory that keeps each chat request."""
    model = ProbedChatModel(responses=[["I see it."]])
    requests: list[ChatRequest] = []

    def factory(chat_request: ChatRequest) -> Any:
        requests.append(chat_request)
        return MESSAGES | model

    return model, requests, factory


async def test_ai_sdk_files_sent_with_send_message_reach_the_model_as_image_blocks_every_turn() -> None:
    model, requests, factory = seeing()
    picture = {"type": "file", "mediaType": "image/png", "url": data_url("image/png", PNG), "filename": "cat.png"}
    async with running(chat_app(factory, protocol="ai-sdk")) as url:
        turns = [{"text": "What is this?", "files": [picture]}, "And now?"]
        done = await node("ai_chat.mjs", api=f"{url}/chat", chatId="c1", turns=turns)
    assert done["error"] is None
    first, second = model.probe.calls
    image = {"type": "image", "base64": PNG, "mime_type": "image/png"}
    assert blocks(first[-1]) == [image], "exactly those bytes"
    assert blocks(second[0]) == [image], "the history turn keeps its image"
    assert requests[0].question == "What is this?"
    [attached] = requests[0].attachments
    assert (attached.type, attached.mime_type, attached.filename, attached.size) == (
        "image",
        "image/png",
        "cat.png",
        len(PNG),
    )


async def test_openai_sdk_image_audio_and_file_parts_become_blocks() -> None:
    model, _, factory = seeing()
    parts = [
        {"type": "text", "text": "Look"},
        {"type": "image_url", "image_url": {"url": data_url("image/png", PNG), "detail": "high"}},
        {"type": "image_url", "image_url": {"url": "https://images.example.com/cat.png"}},
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(WAV).decode(), "format": "wav"}},
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(MP3).decode(), "format": "mp3"}},
        {"type": "file", "file": {"file_data": data_url("application/pdf", PDF), "filename": "report.pdf"}},
    ]
    async with running(chat_app(factory, protocol="openai")) as url:
        client = AsyncOpenAI(base_url=url, api_key="unused")
        answer = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": parts}])
        await client.close()
    assert answer.choices[0].message.content == "I see it."
    [[question]] = model.probe.calls
    assert question.text == "Look"
    assert blocks(question) == [
        {"type": "image", "base64": PNG, "mime_type": "image/png"},
        {"type": "image", "url": "https://images.example.com/cat.png"},
        {"type": "audio", "base64": WAV, "mime_type": "audio/wav"},
        {"type": "audio", "base64": MP3, "mime_type": "audio/mp3"},
        {"type": "file", "base64": PDF, "mime_type": "application/pdf", "filename": "report.pdf"},
    ]


async def test_ag_ui_image_parts_from_the_client_and_a_legacy_binary_part() -> None:
    model, _, factory = seeing()
    content = [
        {"type": "text", "text": "Compare"},
        {"type": "image", "source": {"type": "data", "value": base64.b64encode(PNG).decode(), "mimeType": "image/png"}},
        {"type": "image", "source": {"type": "url", "value": "https://images.example.com/dog.png"}},
    ]
    legacy = [
        {"type": "text", "text": "Read"},
        {
            "type": "binary",
            "mimeType": "application/pdf",
            "data": base64.b64encode(PDF).decode(),
            "filename": "old.pdf",
        },
    ]
    async with running(chat_app(factory, protocol="ag-ui")) as url:
        done = await node(
            "ag_ui.mjs",
            url=f"{url}/chat",
            threadId="t1",
            runId="r1",
            messages=[{"id": "u1", "role": "user", "content": content}],
        )
        async with httpx.AsyncClient(timeout=30) as http:  # as a client before AG-UI 1.0 sends it
            run = {"threadId": "t2", "runId": "r2", "messages": [{"id": "u1", "role": "user", "content": legacy}]}
            older = await http.post(f"{url}/chat", json=run)
    assert done["error"] is None and older.status_code == 200
    [first], [second] = model.probe.calls
    assert blocks(first) == [
        {"type": "image", "base64": PNG, "mime_type": "image/png"},
        {"type": "image", "url": "https://images.example.com/dog.png"},
    ]
    assert blocks(second) == [{"type": "file", "base64": PDF, "mime_type": "application/pdf", "filename": "old.pdf"}]


async def test_native_attachments_on_the_question_and_on_history_items() -> None:
    model, requests, factory = seeing()
    body = {
        "question": "And this one?",
        "attachments": [{"url": data_url("text/plain", "notes, in ünïcode".encode()), "filename": "notes.txt"}],
        "chat_history": [
            {"role": "user", "content": "What is this?", "attachments": [{"url": data_url("image/png", PNG)}]},
            {"role": "assistant", "content": "A test pattern."},
        ],
    }
    async with running(chat_app(factory)) as url, httpx.AsyncClient(timeout=30) as http:
        assert (await http.post(f"{url}/chat", json=body)).status_code == 200
    [seen] = model.probe.calls
    assert blocks(seen[0]) == [{"type": "image", "base64": PNG, "mime_type": "image/png"}]
    assert seen[-1].content == [
        {"type": "text", "text": "And this one?"},
        {"type": "text", "text": "notes, in ünïcode"},
    ]
    assert requests[0].question == "And this one?", "the question is what the user typed, not the file"
    assert [a.type for a in requests[0].attachments] == ["image", "text"]
    assert isinstance(requests[0].chat_history[0], HumanMessage)


def bad(*, url: str | None = None, mime: str | None = None, data: bytes = PNG, filename: str | None = "cat.png") -> Any:
    attachment: dict[str, Any] = {"url": url or data_url(mime or "image/png", data)}
    return {"question": "q", "attachments": [attachment | ({"filename": filename} if filename else {})]}


REFUSALS = [
    (
        "bad base64",
        {"question": "q", "attachments": [{"url": "data:image/png;base64,iVBOR*w0K", "filename": "cat.png"}]},
        "attachments.0 (cat.png): not valid base64",
    ),
    (
        "a type not allowed",
        bad(mime="image/tiff", data=b"II*\x00" + bytes(8)),
        "attachments.0 (cat.png): image/tiff is not an accepted type",
    ),
    (
        "bytes that contradict the type",
        bad(mime="image/png", data=PDF),
        "attachments.0 (cat.png): the bytes are not image/png",
    ),
    ("over the size", bad(data=PNG + bytes(4096)), "attachments.0 (cat.png): 5128 bytes, over 4096"),
    (
        "too many",
        {"question": "q", "attachments": [{"url": data_url("image/png", PNG)}] * 3},
        "attachments.2: more than 2 attachments in the request",
    ),
    (
        "http",
        bad(url="http://127.0.0.1:1/secret.png"),
        "only https and data URLs are accepted (the server fetches nothing), not http",
    ),
    (
        "file",
        bad(url="file:///etc/passwd", filename=None),
        "attachments.0: only https and data URLs are accepted (the server fetches nothing), not file",
    ),
    ("not base64 data URL", bad(url="data:text/plain,hello"), "a data URL must be base64"),
    (
        "on an assistant",
        {
            "question": "q",
            "chat_history": [
                {"role": "assistant", "content": "x", "attachments": [{"url": data_url("image/png", PNG)}]}
            ],
        },
        "chat_history.0.attachments: only a user's message has attachments",
    ),
]


@pytest.mark.parametrize(("body", "detail"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
async def test_a_bad_attachment_is_a_400_naming_the_part(body: Any, detail: str) -> None:
    app = chat_app(seeing()[2], max_attachments=2, max_attachment_bytes=4096)
    response = await app.test_client().post("/chat", json=body)
    assert response.status_code == 400
    assert detail in (await response.get_json())["detail"]


async def test_with_attachment_urls_off_an_https_url_is_refused_and_data_still_taken() -> None:
    """For a model integration that downloads URLs in this process: only data reaches it."""
    app = chat_app(seeing()[2], attachment_urls=False)
    hosted = {"question": "q", "attachments": [{"url": "https://example.com/cat.png"}]}
    inline = {"question": "q", "attachments": [{"url": data_url("image/png", PNG)}]}
    refused = await app.test_client().post("/chat", json=hosted)
    taken = await app.test_client().post("/chat", json=inline)
    assert refused.status_code == 400
    assert (await refused.get_json())["detail"] == "attachments.0: only data is accepted here, not URLs"
    assert taken.status_code == 200


async def test_no_url_a_client_names_is_ever_fetched_in_any_protocol() -> None:
    asked: list[str] = []
    target = Quart("target")

    @target.route("/<path:anything>", methods=["GET", "POST", "HEAD"])
    async def anything(anything: str) -> str:
        asked.append(request.path)
        return "secret"

    async with running(target) as target_url:
        image = f"{target_url}/internal.png"
        bodies = {
            "native": ("/chat", {"question": "q", "attachments": [{"url": image}]}),
            "ai-sdk": (
                "/chat",
                {
                    "id": "c",
                    "messages": [
                        {
                            "id": "u",
                            "role": "user",
                            "parts": [
                                {"type": "file", "mediaType": "image/png", "url": image},
                                {"type": "text", "text": "q"},
                            ],
                        }
                    ],
                },
            ),
            "ag-ui": (
                "/chat",
                {
                    "threadId": "t",
                    "runId": "r",
                    "messages": [
                        {
                            "id": "u",
                            "role": "user",
                            "content": [{"type": "image", "source": {"type": "url", "value": image}}],
                        }
                    ],
                },
            ),
            "openai": (
                "/chat/completions",
                {
                    "model": "m",
                    "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": image}}]}],
                },
            ),
        }
        statuses = {}
        for protocol, (route, body) in bodies.items():
            app = chat_app(seeing()[2], protocol=protocol)
            statuses[protocol] = (await app.test_client().post(route, json=body)).status_code
    assert statuses == dict.fromkeys(bodies, 400)
    assert asked == []


async def test_chat_openai_behind_the_blueprint_sends_the_provider_the_image_and_the_file_as_sent() -> None:
    from langchain_openai import ChatOpenAI

    upstream = FakeOpenAI(["Seen."])
    async with running(upstream.app) as fake_url:
        model = ChatOpenAI(base_url=f"{fake_url}/v1", api_key="test", model="fake-model", streaming=True)
        body = {
            "question": "What are these?",
            "attachments": [
                {"url": data_url("image/png", PNG), "filename": "cat.png"},
                {"url": data_url("application/pdf", PDF), "filename": "report.pdf"},
                {"url": data_url("audio/mpeg", MP3)},
            ],
        }
        async with running(chat_app(MESSAGES | model)) as url, httpx.AsyncClient(timeout=30) as http:
            assert (await http.post(f"{url}/chat", json=body)).status_code == 200
    [sent] = upstream.requests
    assert sent["messages"][-1]["content"] == [
        {"type": "text", "text": "What are these?"},
        {"type": "image_url", "image_url": {"url": data_url("image/png", PNG)}},
        {"type": "file", "file": {"file_data": data_url("application/pdf", PDF), "filename": "report.pdf"}},
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(MP3).decode(), "format": "mp3"}},
    ]


async def test_a_body_over_max_content_length_is_still_a_413() -> None:
    app = chat_app(seeing()[2])
    app.config["MAX_CONTENT_LENGTH"] = 2048
    response = await app.test_client().post("/chat", json=bad(data=PNG * 4))
    assert response.status_code == 413
    assert json.loads(await response.get_data())["error"] == "payload_too_large"
