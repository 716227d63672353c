"""The library's errors and the messages clients see: exception text leaves the server only on request."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SAFE_MESSAGES", "ConfigError", "RequestError", "public_message"]

# What a client is told for each error code unless ``expose_errors`` is set.
SAFE_MESSAGES = {
    "internal_error": "The answer could not be completed.",
    "timeout": "The answer took too long and was stopped.",
    "tool_error": "The tool failed.",
    "shutdown": "The server is restarting; please ask again.",
    "cancelled": "The answer was stopped.",
    "interrupted": (
        "The agent waits for a decision (an interrupt), which this protocol cannot carry: answer it through a "
        "protocol that can (native, AI SDK, AG-UI)."
    ),
    "lost": "The answer was interrupted on the server; please ask again.",
    "trimmed": "Part of the answer is no longer kept; please ask again.",
    "overloaded": "The server is busy; please retry shortly.",
    "shutting_down": "The server is shutting down; please retry shortly.",
}


class ConfigError(ValueError):
    """An option of quart_llmstream has a bad value or an unknown name."""


class RequestError(Exception):
    """A request refused before streaming: its status, a stable error code and a readable detail."""

    def __init__(
        self, status: int, error: str, detail: str, *, retry_after: int | None = None, allow: Sequence[str] = ()
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.retry_after = retry_after
        self.allow = allow  # a 405's methods

    @classmethod
    def internal(cls, exc: BaseException, expose_errors: bool = False) -> RequestError:
        """The ``500`` of a failure before streaming (the app's factory or hook, a store): its text only when
        ``expose_errors`` is set. The caller logs it, with its traceback."""
        return cls(500, "internal_error", public_message("internal_error", exc, expose_errors))


def public_message(code: str, exc: BaseException | None = None, expose_errors: bool = False) -> str:
    """The exception's text when ``expose_errors`` is set, else the fixed message of ``code``."""
    return f"{type(exc).__name__}: {exc}" if expose_errors and exc is not None else SAFE_MESSAGES[code]
