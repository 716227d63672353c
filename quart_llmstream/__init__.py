"""Stream any LangChain Runnable from a Quart app as Server-Sent Events."""

from .blueprint import RunnableFactory, create_blueprint
from .chat_request import ChatRequest
from .lifecycle import StreamResult
from .registry import drain
from .selection import StreamEvent
from .settings import ConfigError, Settings

__all__ = [
    "ChatRequest",
    "ConfigError",
    "RunnableFactory",
    "Settings",
    "StreamEvent",
    "StreamResult",
    "create_blueprint",
    "drain",
]
__version__ = "0.1.0"
