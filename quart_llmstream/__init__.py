"""Stream any LangChain Runnable from a Quart app as Server-Sent Events."""

from .chat_request import ChatRequest
from .errors import ConfigError, RequestError
from .extension import LLMStream, drain
from .hook import StreamEvent
from .lifecycle import StreamResult
from .routes import RunnableFactory, create_blueprint
from .settings import Options, Settings
from .state import emit_state

__all__ = [
    "ChatRequest",
    "ConfigError",
    "LLMStream",
    "Options",
    "RequestError",
    "RunnableFactory",
    "Settings",
    "StreamEvent",
    "StreamResult",
    "create_blueprint",
    "drain",
    "emit_state",
]
__version__ = "0.2.0"
