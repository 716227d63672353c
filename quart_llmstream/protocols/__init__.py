"""Protocols, by the name the ``protocol`` option gives them."""

from __future__ import annotations

from .base import SSE_HEADERS, Encoder, Protocol
from .native import NativeProtocol

__all__ = ["PROTOCOLS", "SSE_HEADERS", "Encoder", "Protocol"]

PROTOCOLS: dict[str, Protocol] = {"native": NativeProtocol()}
