"""The options' kinds, named once, and :class:`Options`: ``create_blueprint``'s keyword options typed for editors.

:class:`~.settings.Settings` validates the values and documents each option; a type-checking test keeps the two
lists of names the same.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict

from langchain_core.callbacks import BaseCallbackHandler

__all__ = ["EventKind", "EventSource", "OnDisconnect", "Options", "ProtocolName", "Strategy", "SystemMessages"]

EventKind = Literal["token", "reasoning", "tool", "custom", "start", "end"]
"""The kinds of event a stream may send (``events``)."""
ProtocolName = Literal["native", "ai-sdk", "ag-ui", "openai", "langgraph"]
"""The wire protocols a route may speak (``protocol``)."""
EventSource = Literal["astream_events", "callbacks"]
"""Where a run's events come from (``event_source``)."""
OnDisconnect = Literal["cancel", "continue"]
"""What a run does when its client leaves (``on_disconnect``; LangGraph's run field too)."""
Strategy = Literal["reject", "enqueue", "interrupt", "rollback"]
"""What a request on a thread a run is on does (``multitask_strategy``; LangGraph's strategies)."""
SystemMessages = Literal["drop", "refuse", "keep"]
"""What becomes of a client's system messages on a checkpointed thread (``system_messages``)."""


class Options(TypedDict, total=False):
    """The keyword options of :func:`~quart_llmstream.create_blueprint`, typed for editors and type checkers.

    Each overrides its ``LLMSTREAM_*`` key; :class:`Settings` documents them and validates the values.
    """

    route: str
    expose_errors: bool
    max_duration: float | None
    max_question_chars: int
    max_history: int
    max_parts: int
    max_tools: int
    max_attachments: int
    max_attachment_bytes: int
    attachment_types: str | Sequence[str]
    attachment_urls: bool
    state_keys: str | Sequence[str] | None
    predict_state: str | Sequence[Mapping[str, str]]
    events: str | Sequence[EventKind]
    include_names: str | Sequence[str] | None
    include_types: str | Sequence[str] | None
    include_tags: str | Sequence[str] | None
    exclude_names: str | Sequence[str] | None
    exclude_types: str | Sequence[str] | None
    exclude_tags: str | Sequence[str] | None
    event_hook: Callable[..., Any] | None
    client_filters: bool
    max_payload_chars: int
    callbacks: Sequence[BaseCallbackHandler]
    run_config: Callable[..., Any] | None
    langfuse: bool | None
    on_start: Callable[..., Any] | None
    on_end: Callable[..., Any] | None
    on_feedback: Callable[..., Any] | None
    feedback_range: str | tuple[float, float]
    heartbeat: float
    idle_timeout: float | None
    send_timeout: float | None
    max_streams: int | None
    max_streams_per_owner: int | None
    retry_after: int
    on_disconnect: OnDisconnect
    event_source: EventSource
    protocol: ProtocolName
    models: str | Sequence[str] | None
    resume: Any
    resume_ttl: float
    resume_max_frames: int
    stream_owner: Callable[..., Any] | None
    system_messages: SystemMessages
    single_user: bool
    multitask_strategy: Strategy
