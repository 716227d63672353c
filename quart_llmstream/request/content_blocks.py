"""The content blocks of LangChain messages a client sends, checked as every protocol's attachments are.

A LangGraph client sends LangChain's messages (a run's input, a state write), whose content may be a list of
blocks in any of LangChain's shapes: v1's standard blocks (``{"type": "image", "base64" | "url" | "file_id",
"mime_type"}``), the JS SDK's (``{"type": "image" | "file", "mimeType", "data", "metadata": {"name" |
"filename"}}``: Agent Chat UI's), v0's (``"source_type": "base64" | "url" | "id"``), Anthropic's (``"source":
{...}``) and OpenAI's (``image_url``, ``input_audio``, ``file``). Each media block goes through
:class:`~.attachments.Attachments` — its bytes checked, its type one accepted, a URL ``https`` and never fetched,
the request's limits — and reaches the model as v1's block; a text block keeps its text (and id) alone; any
other block is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_messages,
)

from ..errors import RequestError
from .attachments import AUDIO_FORMATS, Attachments

__all__ = ["KINDS", "checked_content", "client_messages"]

KINDS = (HumanMessage, AIMessage, ToolMessage, SystemMessage)
"""The messages a client may send (not LangChain's ``function``, nor ``remove``, which would wipe a thread)."""

_MEDIA = ("image", "audio", "video", "file")


def client_messages(raw: list[Any], where: str, status: int = 400) -> list[BaseMessage]:
    """The LangChain messages a client sent (at ``where`` in the body, in any shape LangChain reads), built; a
    ``status`` for one it cannot read or of a kind a client may not send (:data:`KINDS`)."""
    try:
        messages = convert_to_messages(raw)
    except (ValueError, TypeError, NotImplementedError) as error:
        raise RequestError(status, "invalid_request", f"{where}: {error}") from None
    if unknown := [message.type for message in messages if not isinstance(message, KINDS)]:
        raise RequestError(status, "invalid_request", f"{where}: a {unknown[0]} message is not taken")
    return messages


def checked_content(
    messages: list[BaseMessage], found: Attachments, where: str = "input.messages"
) -> list[BaseMessage]:
    """``messages`` (at ``where`` in the body) with each media block checked and made v1's (``found`` keeps what
    they became)."""
    checked = []
    for index, message in enumerate(messages):
        if isinstance(message.content, list) and any(isinstance(block, Mapping) for block in message.content):
            at = f"{where}.{index}.content"
            content = [_block(block, f"{at}.{number}", found) for number, block in enumerate(message.content)]
            message = message.model_copy(update={"content": content})
        checked.append(message)
    return checked


def _block(block: Any, where: str, found: Attachments) -> Any:
    if not isinstance(block, Mapping):
        return block
    if block.get("type") == "text":  # its text, and nothing else a provider might read
        text = block.get("text")
        if not isinstance(text, str):
            raise RequestError(400, "invalid_request", f"{where}: a text block's text is a string")
        return {"type": "text", "text": text} | ({"id": block["id"]} if isinstance(block.get("id"), str) else {})
    kind, source = block.get("type"), block.get("source")
    metadata = block["metadata"] if isinstance(block.get("metadata"), Mapping) else {}
    filename = _string(block.get("filename") or metadata.get("filename") or metadata.get("name"))
    mime_type = _string(block.get("mime_type") or block.get("mimeType"))
    if kind in _MEDIA and isinstance(source, Mapping):  # Anthropic's: {"source": {"type": "base64" | "url", ...}}
        mime_type = _string(source.get("media_type")) or mime_type
        block = {"base64": source.get("data")} if source.get("type") == "base64" else {"url": source.get("url")}
    if kind in _MEDIA:
        if isinstance(data := block.get("base64") or block.get("data"), str):
            return found.base64(data, mime_type or kind, where, filename)
        if isinstance(url := block.get("url"), str):
            return found.url(url, where, filename, mime_type=mime_type, kind=kind)
        file_id = block.get("file_id") or (block.get("id") if block.get("source_type") == "id" else None)
        if isinstance(file_id, str):
            return found.file_id(file_id, where, filename)
        if kind == "file" and isinstance(file := block.get("file"), Mapping):  # OpenAI's file part
            name = _string(file.get("filename"))
            if isinstance(file.get("file_data"), str):
                return found.url(file["file_data"], where, name, kind="file")
            if isinstance(file.get("file_id"), str):
                return found.file_id(file["file_id"], where, name)
    if kind == "image_url":
        image_url = block.get("image_url")
        url = image_url.get("url") if isinstance(image_url, Mapping) else image_url
        if isinstance(url, str):
            return found.url(url, where, kind="image")
    audio = block.get("input_audio")
    if kind == "input_audio" and isinstance(audio, Mapping) and isinstance(audio.get("data"), str):
        return found.base64(audio["data"], AUDIO_FORMATS.get(str(audio.get("format"))), where)
    raise RequestError(400, "invalid_request", f"{where}: a {kind!r} content block this server does not take")


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None
