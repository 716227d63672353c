"""A test kit for apps built on this library: a chat model that streams a script offline, and a client that speaks
each protocol and returns what a test asserts on (docs/testing.md)."""

from .model import Chunk, PacedChatModel, Reply, ScriptedChatModel, ToolCall, words

__all__ = ["Chunk", "PacedChatModel", "Reply", "ScriptedChatModel", "ToolCall", "words"]
