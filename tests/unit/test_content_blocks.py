"""A LangGraph client's content blocks, in each of LangChain's shapes, checked as every protocol's attachments are:
what reaches the model is v1's block of checked bytes, an https URL never fetched, or a refusal."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from quart_llmstream.errors import RequestError
from quart_llmstream.request.attachments import Attachments
from quart_llmstream.request.content_blocks import checked_content
from quart_llmstream.settings import Settings

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(64))).decode()
PDF = base64.b64encode(b"%PDF-1.7\n" + bytes(range(64))).decode()
LONG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256))).decode()  # past the head that is decoded


def checked(*blocks: Any, **settings: Any) -> tuple[list[Any], Attachments]:
    found = Attachments(Settings(**settings))
    [message] = checked_content([HumanMessage([{"type": "text", "text": "look"}, *blocks])], found)
    assert isinstance(message.content, list) and message.content[0] == {"type": "text", "text": "look"}
    return message.content[1:], found


IMAGE = {"type": "image", "base64": PNG, "mime_type": "image/png"}
IMAGES = {"attachment_types": ["image/png", "image/jpeg"]}  # an app that takes images only


@pytest.mark.parametrize(
    "sent",
    [
        {"type": "image", "mimeType": "image/png", "data": PNG, "metadata": {"name": "a.png"}},  # Agent Chat UI's
        {"type": "image", "base64": PNG, "mime_type": "image/png"},  # v1's
        {"type": "image", "source_type": "base64", "mime_type": "image/png", "data": PNG},  # v0's
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},  # Anthropic's
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},  # OpenAI's
        {"type": "image", "data": PNG},  # its kind only: the bytes say which image
    ],
)
def test_an_image_in_any_of_langchains_shapes_reaches_the_model_as_v1s_block_of_checked_bytes(sent: Any) -> None:
    [block], found = checked(sent)
    assert block == IMAGE and [(a.type, a.mime_type) for a in found.found] == [("image", "image/png")]


def test_a_pdf_keeps_its_name_an_https_url_passes_unfetched_and_a_file_id_passes() -> None:
    pdf = {"type": "file", "mimeType": "application/pdf", "data": PDF, "metadata": {"filename": "a.pdf"}}
    url = {"type": "image", "url": "https://example.com/a.png"}
    blocks, found = checked(pdf, url, {"type": "file", "file_id": "file-1"})
    assert blocks[0] == {"type": "file", "base64": PDF, "mime_type": "application/pdf", "filename": "a.pdf"}
    assert blocks[1] == {"type": "image", "url": "https://example.com/a.png"}
    assert blocks[2] == {"type": "file", "file_id": "file-1"} and len(found.found) == 3


@pytest.mark.parametrize(
    ("sent", "settings", "says"),
    [
        ({"type": "image", "url": "http://169.254.169.254/latest"}, {}, "only https and data URLs"),
        ({"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}, {}, "only https and data URLs"),
        ({"type": "image", "url": "https://example.com/a.png"}, {"attachment_urls": False}, "only data"),
        ({"type": "image", "mimeType": "image/png", "data": PDF}, {}, "the bytes are not image/png"),
        ({"type": "image", "base64": PNG, "mime_type": "image/png"}, {"max_attachment_bytes": 8}, "over 8"),
        ({"type": "video_url", "video_url": "https://example.com/v.mp4"}, {}, "does not take"),
        ({"type": "file", "url": "https://x.io/a.pdf", "mime_type": "application/pdf"}, IMAGES, "not an accepted"),
        ({"type": "audio", "url": "https://example.com/a.mp3"}, IMAGES, "no audio type is accepted"),
        ({"type": "image", "data": PDF}, {}, "its type (image) is not one known"),  # a kind the bytes contradict
        ({"type": "image", "base64": PNG, "mime_type": "image/png"}, {"max_attachment_bytes": 71}, "72 bytes, over 71"),
        ({"type": "image", "base64": LONG[:100] + "=" + LONG[101:], "mime_type": "image/png"}, {}, "not valid base64"),
    ],
)
def test_a_block_the_checks_refuse_is_a_400_before_anything_runs(sent: Any, settings: Any, says: str) -> None:
    with pytest.raises(RequestError) as refused:
        checked(sent, **settings)
    assert refused.value.status == 400 and says in refused.value.detail, refused.value.detail


def test_text_keeps_its_text_alone_and_the_requests_limit_counts_every_block() -> None:
    found = Attachments(Settings())
    text = HumanMessage([{"type": "text", "text": "hi"}, "there"])
    assert checked_content([text], found) == [text] and found.found == []
    smuggled = HumanMessage([{"type": "text", "text": "hi", "image_url": {"url": "http://169.254.169.254/"}}])
    assert checked_content([smuggled], found)[0].content == [{"type": "text", "text": "hi"}]
    with pytest.raises(RequestError) as refused:
        checked(IMAGE, IMAGE, IMAGE, max_attachments=2)
    assert refused.value.detail == "input.messages.0.content.3: more than 2 attachments in the request"
    file_ids = [{"type": "file", "file_id": f"file-{n}"} for n in range(3)]  # a provider's files count too
    with pytest.raises(RequestError, match="more than 2 attachments"):
        checked(*file_ids, max_attachments=2)
