"""Stream any LangChain Runnable from a Quart app as Server-Sent Events."""

from .blueprint import RunnableFactory, create_blueprint
from .chat_request import ChatRequest
from .settings import ConfigError, Settings

__all__ = ["ChatRequest", "ConfigError", "RunnableFactory", "Settings", "create_blueprint"]
__version__ = "0.1.0"
