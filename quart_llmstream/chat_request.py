"""Kept so that imports of 0.2 work: the chat request lives in :mod:`.request.chat_request`."""

from .request.chat_request import ChatRequest

__all__ = ["ChatRequest"]
