"""Options of a chat blueprint: their defaults in one place, read once and validated at registration.

Each option ``<option>`` is read from ``app.config["LLMSTREAM_<OPTION>"]``; a keyword argument of
:func:`quart_llmstream.create_blueprint` with the same name in lower case overrides it. A bad value
fails ``register_blueprint`` (so the app's start) with an error naming the key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from langchain_core.callbacks import BaseCallbackHandler
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PositiveFloat,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .options import EventKind, EventSource, OnDisconnect, Options, ProtocolName, Strategy, SystemMessages

__all__ = ["CONFIG_PREFIX", "ConfigError", "Options", "Prediction", "Settings", "check_option_names", "load_settings"]

CONFIG_PREFIX = "LLMSTREAM_"


def _split_commas(value: Any) -> Any:
    """Lists may come from the environment as ``"a,b"``."""
    return tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else value


def _json(value: Any) -> Any:
    """Structured options may come from the environment as JSON."""
    return json.loads(value) if isinstance(value, str) else value


class Prediction(BaseModel):
    """A tool argument that predicts a state key: the state follows it as the model streams it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state_key: str
    tool: str
    tool_argument: str


Names = Annotated[tuple[str, ...] | None, BeforeValidator(_split_commas)]
_UNSET_BY_EMPTY = ("max_duration", "idle_timeout", "send_timeout", "max_streams", "max_streams_per_owner", "langfuse")
"""Options whose ``None`` an environment variable gives as ``""`` (or ``None``)."""
DEFAULT_ATTACHMENT_TYPES = (
    *("image/png", "image/jpeg", "image/gif", "image/webp"),
    *("application/pdf", "text/plain", "audio/wav", "audio/mpeg"),
)


class Settings(BaseModel):
    """The validated options of one registered blueprint (see docs/configuration.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    route: str = "/chat"
    """Path of the chat route, below the blueprint's ``url_prefix``."""
    expose_errors: bool = False
    """Send exception text to the client. Off: a fixed safe message per error code."""
    max_duration: PositiveFloat | None = None
    """Seconds a stream may last before it ends with a ``timeout`` error frame. None: no cap."""
    max_question_chars: int = Field(default=32_000, ge=1)
    """Longest question accepted, in characters."""
    max_history: int = Field(default=100, ge=0)
    """Most chat-history messages accepted."""
    max_parts: int = Field(default=2000, ge=0)
    """Most parts (content parts, AI SDK parts, tool calls, attachments) a request's messages hold in all."""
    max_tools: int = Field(default=128, ge=0)
    """Most tools a request may declare for the client to run."""
    max_attachments: int = Field(default=20, ge=0)
    """Most attachments (images, audio, files) a request may hold, its history's included."""
    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, ge=1)
    """Most bytes one attachment may hold, decoded."""
    attachment_types: Names = DEFAULT_ATTACHMENT_TYPES
    """The media types accepted in attachments."""
    attachment_urls: bool = True
    """Accept ``https`` URLs in attachments, passed to the model's provider as they are. Off: data only, for an
    integration that downloads URLs in this process (``langchain-google-genai``)."""
    state_keys: Names = None
    """The keys of a LangGraph graph's state shared with the client: they stream to it, and its state may set them.
    None: those of its output schema but ``messages``; empty: no state."""
    predict_state: Annotated[tuple[Prediction, ...], BeforeValidator(_json)] = ()
    """Tool arguments that predict state keys, ``[{"state_key", "tool", "tool_argument"}]``."""
    events: Annotated[tuple[EventKind, ...], BeforeValidator(_split_commas)] = ("token",)
    """Kinds of event sent: token, reasoning, tool, custom, start, end."""
    include_names: Names = None
    include_types: Names = None
    include_tags: Names = None
    exclude_names: Names = None
    exclude_types: Names = None
    exclude_tags: Names = None
    """``astream_events`` filters by run name, run type and tag."""
    event_hook: Callable[..., Any] | None = None
    """Sees each selected event; returns it, a rewritten one, or None to drop it."""
    client_filters: bool = False
    """Let the request body narrow ``events`` and the include/exclude filters."""
    max_payload_chars: int = Field(default=8192, ge=64)
    """Cap on the JSON of one tool input/output or custom event payload."""
    callbacks: tuple[BaseCallbackHandler, ...] = ()
    """LangChain callback handlers attached to every run."""
    run_config: Callable[..., Any] | None = None
    """``run_config(chat_request)`` (sync or async) returns extra RunnableConfig for the request's run."""
    langfuse: bool | None = None
    """Trace runs with Langfuse: None follows the keys' presence, False turns it off."""
    on_start: Callable[..., Any] | None = None
    """``on_start(chat_request)``, sync or async, when a stream starts."""
    on_end: Callable[..., Any] | None = None
    """``on_end(chat_request, result)``, sync or async, exactly once when a stream's run ends."""
    on_feedback: Callable[..., Any] | None = None
    """``on_feedback(chat_request, feedback)``, sync or async, for each rating of an answer (``POST
    <route>/feedback``, served when this hook is set or Langfuse is on)."""
    feedback_range: Annotated[tuple[float, float], BeforeValidator(_split_commas)] = (0.0, 1.0)
    """The lowest and the highest score a rating may give (thumbs: 1 up, 0 down)."""
    heartbeat: float = Field(default=15.0, ge=0)
    """Seconds of silence after which an SSE comment is sent; 0: none."""
    idle_timeout: PositiveFloat | None = None
    """Seconds without an event from the runnable before the run is stopped with ``timeout``."""
    send_timeout: PositiveFloat | None = 30.0
    """Seconds a client may leave the stream unread, with the buffer full, before it is dropped."""
    max_streams: int | None = Field(default=None, ge=1)
    """Concurrent streams per app; the next request gets 503 with ``Retry-After``."""
    max_streams_per_owner: int | None = Field(default=None, ge=1)
    """Concurrent streams and resume followers per owner (``stream_owner``) in this process; the next gets 429
    with ``Retry-After``. None: no cap."""
    retry_after: int = Field(default=5, ge=0)
    """Seconds in the ``Retry-After`` header of a 503 or a 429."""
    on_disconnect: OnDisconnect = "cancel"
    """When the client leaves: cancel the run, or let it finish in the background."""
    event_source: EventSource = "astream_events"
    """Where events come from: ``astream_events`` (sees every step) or the lean ``callbacks`` source."""
    protocol: ProtocolName = "native"
    """The wire protocol the route speaks (its request body, frames and headers)."""
    models: Names = None
    """``openai`` protocol: the model ids ``GET /models`` lists; a request for another gets 404. None: one
    id, the blueprint's name, and any requested model is accepted."""

    resume: Any = None
    """Resumable streams: None (off), ``"memory"`` (one process), a Redis URL or a ``redis.asyncio.Redis``
    (or ``RedisCluster``) client (many processes and hosts)."""
    resume_ttl: PositiveFloat = 600.0
    """Seconds a finished stream stays replayable."""
    resume_max_frames: int = Field(default=10_000, ge=16)
    """Most events kept per stream in the store."""
    stream_owner: Callable[..., Any] | None = None
    """``stream_owner(chat_request) -> str | None``: who a request speaks for. Threads and streams are each owner's
    own: another owner's id is, to a request, an id that does not exist."""
    system_messages: SystemMessages = "drop"
    """A client's system and developer messages on a checkpointed thread (which keeps them for every later turn):
    dropped, refused (400), or kept."""
    single_user: bool = False
    """The app serves one user: its threads can be listed, read and deleted without a ``stream_owner`` hook
    (which the thread routes need otherwise: without one, no request can be told from another's)."""
    multitask_strategy: Strategy = "reject"
    """A request on a thread a run is on: refused (409), run after it, run after stopping it, or run after stopping
    it and dropping what it wrote (LangGraph's strategies)."""

    @model_validator(mode="after")
    def _options_go_together(self) -> Settings:
        if self.max_streams_per_owner is not None and self.stream_owner is None:
            raise ValueError("{max_streams_per_owner} needs a {stream_owner} hook to tell owners apart")
        if self.feedback_range[0] >= self.feedback_range[1]:
            raise ValueError("{feedback_range}: the lowest score first, then a higher one")
        if self.single_user and self.stream_owner is not None:
            raise ValueError("{single_user} and {stream_owner} do not go together: the hook tells users apart")
        return self

    @property
    def threads_listed(self) -> bool:
        """Threads are each one owner's (a ``stream_owner`` hook), or the one user's: they can be listed."""
        return self.stream_owner is not None or self.single_user

    @field_validator("resume")
    @classmethod
    def _resume_is_a_store(cls, value: Any) -> Any:
        if value == "":  # an environment variable set empty: off
            return None
        if value is None or value == "memory" or hasattr(value, "xadd"):
            return value
        if isinstance(value, str) and value.startswith(("redis://", "rediss://", "unix://")):
            return value
        raise ValueError("must be None, 'memory', a redis:// URL or a redis.asyncio.Redis client")

    @field_validator(*_UNSET_BY_EMPTY, mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and value.strip() in ("", "None", "none") else value

    @field_validator("route")
    @classmethod
    def _route_is_a_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with '/'")
        return value


def check_option_names(options: Mapping[str, Any]) -> None:
    """Refuse keyword options that do not exist, at ``create_blueprint`` time."""
    unknown = sorted(set(options) - set(Settings.model_fields))
    if unknown:
        known = ", ".join(Settings.model_fields)
        raise ConfigError(f"unknown quart_llmstream option(s) {', '.join(unknown)}; known: {known}")


def load_settings(config: Mapping[str, Any], overrides: Mapping[str, Any]) -> Settings:
    """Merge ``LLMSTREAM_*`` config keys with keyword overrides and validate them."""
    unknown = sorted(
        key
        for key in config
        if key.startswith(CONFIG_PREFIX) and key[len(CONFIG_PREFIX) :].lower() not in Settings.model_fields
    )
    if unknown:
        raise ConfigError(f"unknown quart_llmstream config key(s): {', '.join(unknown)}")
    values = {name: config[_config_key(name)] for name in Settings.model_fields if _config_key(name) in config}
    values.update(overrides)
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_describe(str(error['loc'][0]), overrides)}: {error['msg']} (got {error['input']!r})"
            if error["loc"]
            else re.sub(r"\{(\w+)\}", lambda m: _describe(m[1], overrides), error["msg"].removeprefix("Value error, "))
            for error in exc.errors()  # no loc: options that do not go together, each named as the app set it
        )
        raise ConfigError(f"invalid quart_llmstream option: {problems}") from None


def _config_key(name: str) -> str:
    return CONFIG_PREFIX + name.upper()


def _describe(name: str, overrides: Mapping[str, Any]) -> str:
    return f"keyword argument {name}" if name in overrides else _config_key(name)
