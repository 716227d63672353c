"""Attachments — images, audio, files — as LangChain's v1 standard content blocks, checked.

Each protocol reads its own shapes (:mod:`.protocols`) and hands each attachment here: a ``data:`` URL or
base64 data is checked (valid base64, its size, and that its first bytes are of the type it claims) with no
copy of the whole and only its first bytes decoded, and goes to the model as ``base64`` + ``mime_type``; an
``https`` URL passes through as ``url``. **The server never fetches a URL**: any other scheme is refused.
Plain text becomes a text block (what every provider takes). Every refusal is a ``400`` naming the part: its
path in the body, and its filename when it has one. No attachment is dropped in silence.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import HumanMessage

from ..errors import RequestError
from ..settings import Settings

__all__ = ["AUDIO_FORMATS", "Attachment", "Attachments", "attached", "data_url"]

_ALIASES = {"image/jpg": "image/jpeg", "audio/x-wav": "audio/wav", "audio/wave": "audio/wav", "audio/mp3": "audio/mpeg"}
AUDIO_FORMATS = {"wav": "audio/wav", "mp3": "audio/mpeg"}
"""OpenAI's ``input_audio`` formats, by the media type of their bytes."""
_FOR_PROVIDERS = {"audio/mpeg": "audio/mp3"}  # OpenAI's input_audio takes "mp3" and "wav", not "mpeg"
_PIECE = 1 << 16  # base64 characters checked at a time
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


@dataclass(frozen=True)
class Attachment:
    """One attachment of a request, as a factory may route by it (to a vision model, say)."""

    type: str  # image, audio, video, file or text
    mime_type: str | None
    filename: str | None
    size: int | None  # decoded bytes; None for a URL, which is never fetched
    url: str | None  # the https URL passed through, if it is one
    where: str  # its path in the body
    block: dict[str, Any]  # the content block it became


def _declared(mime_type: str | None) -> str | None:
    """A client's media type, lower-cased, under its usual name (``image/jpg`` is ``image/jpeg``)."""
    lowered = (mime_type or "").lower()
    return _ALIASES.get(lowered, lowered) or None


def _sniff(head: bytes) -> str | None:
    """The type the first bytes of a file say it is, for the types that say it."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return "image/webp" if head[8:12] == b"WEBP" else "audio/wav"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


def _kind(mime_type: str) -> str:
    """The v1 block type of a media type."""
    major = mime_type.split("/")[0]
    return major if major in ("image", "audio", "video") else "file"


def attached(block: Any) -> dict[str, Any] | None:
    """What a client sent, of a block this module made, for its message read back: ``{type, mime_type, base64 |
    url, filename?}`` (the bytes not copied); None for a text block or a provider's file id, which a client reads
    as the message's text or cannot send again."""
    if not isinstance(block, dict) or block.get("type") not in ("image", "audio", "video", "file"):
        return None
    source = next((key for key in ("base64", "url") if isinstance(block.get(key), str)), None)
    mime_type = _declared(block.get("mime_type") if isinstance(block.get("mime_type"), str) else None)
    if source is None or (source == "base64" and mime_type is None):
        return None
    found = {"type": block["type"], "mime_type": mime_type, source: block[source]}
    return found | ({"filename": block["filename"]} if isinstance(block.get("filename"), str) else {})


def data_url(attachment: dict[str, Any]) -> str:
    """An attachment read back (:func:`attached`) as the URL a client sends: its https URL, or a ``data:`` URL."""
    if "url" in attachment:
        return str(attachment["url"])
    return f"data:{attachment['mime_type']};base64,{attachment['base64']}"


_SNIFFED = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "audio/wav", "audio/mpeg"}
)  # the types whose first bytes say what they are


class Attachments:
    """The attachments of one request: each checked and made a block, counted against the request's limit."""

    def __init__(self, settings: Settings) -> None:
        self._max, self._max_bytes = settings.max_attachments, settings.max_attachment_bytes
        self._types = frozenset(_ALIASES.get(t, t) for t in settings.attachment_types or ())
        self._urls = settings.attachment_urls
        self.found: list[Attachment] = []
        self.typed: list[str] = []  # what the user typed, message by message (their text, not their files')

    def url(
        self,
        url: str,
        where: str,
        filename: str | None = None,
        *,
        mime_type: str | None = None,
        kind: str | None = None,
    ) -> dict[str, Any]:
        """A URL: a ``data:`` URL's bytes, or an ``https`` URL as it is (never fetched). ``mime_type`` is the
        type the part declares, ``kind`` (image, audio, file) what the protocol says it is; a data URL's own
        type comes first."""
        label = self._label(where, filename)
        if url.startswith("data:"):
            head, comma, data = url.partition(",")
            if not comma or not head.endswith(";base64"):
                detail = f"{label}: a data URL must be base64 (data:<type>;base64,...)"
                raise RequestError(400, "invalid_request", detail)
            return self.base64(data, head[5:-7] or mime_type, where, filename)
        if not url.startswith("https://"):
            scheme = url.partition(":")[0][:16] if ":" in url else "no scheme"
            detail = f"{label}: only https and data URLs are accepted (the server fetches nothing), not {scheme}"
            raise RequestError(400, "invalid_request", detail)
        if not self._urls:
            raise RequestError(400, "invalid_request", f"{label}: only data is accepted here, not URLs")
        return self._url(url, mime_type, kind, where, filename, label)

    def base64(self, data: str, mime_type: str | None, where: str, filename: str | None = None) -> dict[str, Any]:
        """Base64 bytes of the type ``mime_type`` claims (a bare ``image`` lets the bytes say which image)."""
        label = self._label(where, filename)
        self._count(label)
        size, head = self._decoded(data, label)
        declared = _declared(mime_type)
        sniffed = _sniff(head)
        if declared is None or "/" not in declared:  # no type, or only its kind ("image")
            if sniffed is None or (declared and not sniffed.startswith(declared + "/")):
                raise RequestError(400, "invalid_request", f"{label}: its type ({declared or 'none'}) is not one known")
            declared = sniffed
        if declared not in self._types:
            raise RequestError(400, "invalid_request", f"{label}: {declared} is not an accepted type")
        if declared in _SNIFFED and sniffed != declared:
            raise RequestError(400, "invalid_request", f"{label}: the bytes are not {declared}")
        if size > self._max_bytes:
            raise RequestError(400, "invalid_request", f"{label}: {size} bytes, over {self._max_bytes}")
        if declared == "text/plain":
            block: dict[str, Any] = {"type": "text", "text": self._text(data, label)}
            return self._found(Attachment("text", declared, filename, size, None, where, block))
        kind = _kind(declared)
        block = {"type": kind, "base64": data, "mime_type": _FOR_PROVIDERS.get(declared, declared)}
        if filename and kind == "file":
            block["filename"] = filename  # the OpenAI converter sends it; without one it makes one up
        return self._found(Attachment(kind, declared, filename, size, None, where, block))

    def file_id(self, file_id: str, where: str, filename: str | None = None) -> dict[str, Any]:
        """A file the model's provider holds already (OpenAI's ``file_id``): passed through."""
        self._count(self._label(where, filename))
        block = {"type": "file", "file_id": file_id}
        return self._found(Attachment("file", None, filename, None, None, where, block))

    def _url(
        self, url: str, mime_type: str | None, kind: str | None, where: str, filename: str | None, label: str
    ) -> dict[str, Any]:
        self._count(label)
        declared = _declared(mime_type)
        if declared is not None and "/" in declared:
            if declared not in self._types:
                raise RequestError(400, "invalid_request", f"{label}: {declared} is not an accepted type")
            kind = _kind(declared)
        kind = kind or (declared if declared in ("image", "audio", "video") else "file")
        if kind not in {_kind(accepted) for accepted in self._types}:
            raise RequestError(400, "invalid_request", f"{label}: no {kind} type is accepted")
        block = {"type": kind, "url": url} | ({"mime_type": declared} if declared and "/" in declared else {})
        return self._found(Attachment(kind, declared, filename, None, url, where, block))

    def message(self, text: str, parts: list[dict[str, Any]], id: str | None = None) -> HumanMessage:
        """A user's message: their text, then its attachments' blocks (a plain string when it has none)."""
        self.typed.append(text)
        if not parts:
            return HumanMessage(text, id=id)
        content: list[str | dict[Any, Any]] = [{"type": "text", "text": text}] if text else []
        return HumanMessage([*content, *parts], id=id)

    def _decoded(self, data: str, label: str) -> tuple[int, bytes]:
        """The size of the bytes ``data`` holds and their first ones, with no copy of the whole and no decoding
        but of the first ones: the alphabet is checked a piece at a time, the size follows from the length."""
        end = data.find("=")
        valid = len(data) % 4 == 0 and (end == -1 or data[end:] in ("=", "=="))
        try:
            for start in range(0, len(data), _PIECE):
                valid = valid and not data[start : start + _PIECE].encode("ascii").translate(None, _ALPHABET)
            head = binascii.a2b_base64(data[:64], strict_mode=True) if valid else b""
        except (UnicodeEncodeError, binascii.Error):
            valid = False
        if not valid:
            raise RequestError(400, "invalid_request", f"{label}: not valid base64")
        return len(data) // 4 * 3 - (len(data) - end if end != -1 else 0), head[:16]

    def _text(self, data: str, label: str) -> str:
        try:
            return binascii.a2b_base64(data).decode()
        except UnicodeDecodeError:
            raise RequestError(400, "invalid_request", f"{label}: text/plain that is not UTF-8") from None

    def _count(self, label: str) -> None:
        if len(self.found) >= self._max:
            raise RequestError(400, "invalid_request", f"{label}: more than {self._max} attachments in the request")

    def _found(self, attachment: Attachment) -> dict[str, Any]:
        self.found.append(attachment)
        return attachment.block

    @staticmethod
    def _label(where: str, filename: str | None) -> str:
        return f"{where} ({filename})" if filename else where
