"""Stream any LangChain Runnable from a Quart app as Server-Sent Events."""

from .blueprint import RunnableFactory, create_blueprint
from .errors import ConfigError, RequestError
from .events import StreamEvent
from .extension import LLMStream, drain
from .feedback import Feedback
from .lifecycle import StreamResult
from .request import ChatRequest, RunOptions
from .run.mapping import emit_state
from .run.threads import LocalHolds, ThreadHolds
from .run.threads.leases import PostgresHolds, RedisHolds
from .settings import Options, Settings

__all__ = [
    "ChatRequest",
    "ConfigError",
    "Feedback",
    "LLMStream",
    "LocalHolds",
    "Options",
    "PostgresHolds",
    "RedisHolds",
    "RequestError",
    "RunOptions",
    "RunnableFactory",
    "Settings",
    "StreamEvent",
    "StreamResult",
    "ThreadHolds",
    "create_blueprint",
    "drain",
    "emit_state",
]
__version__ = "0.2.0"
