"""Protocols, by the name the ``protocol`` option gives them."""

from __future__ import annotations

from .ag_ui import AgUiProtocol
from .ai_sdk import AiSdkProtocol
from .base import SSE_HEADERS, Encoder, Protocol
from .langgraph import LangGraphProtocol
from .native import NativeProtocol
from .openai import OpenAIProtocol

__all__ = ["PROTOCOLS", "SSE_HEADERS", "Encoder", "Protocol"]

PROTOCOLS: dict[str, Protocol] = {
    protocol.name: protocol
    for protocol in (NativeProtocol(), AiSdkProtocol(), AgUiProtocol(), OpenAIProtocol(), LangGraphProtocol())
}
