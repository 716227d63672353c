"""A test kit for apps built on this library (docs/testing.md): a chat model that streams a script offline
(:class:`ScriptedChatModel`), and a client that speaks each protocol and returns what a test asserts on
(:class:`ChatClient`, whose answers are :class:`Reply`)."""

from .client import ChatClient, JSONReply, parse_sse
from .model import Chunk, PacedChatModel, Script, ScriptedChatModel, ToolCall, words
from .wire import Approval, Reply

__all__ = [
    "Approval",
    "ChatClient",
    "Chunk",
    "JSONReply",
    "PacedChatModel",
    "Reply",
    "Script",
    "ScriptedChatModel",
    "ToolCall",
    "parse_sse",
    "words",
]
