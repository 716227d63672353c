"""The request side: a body becomes the :class:`ChatRequest` the runnable factory sees.

``body`` reads and checks the JSON body; each protocol's reader (in :mod:`..protocols`) validates its own
shape and hands the conversation to :func:`conversation` (but LangGraph's, whose input is whatever the graph
takes, not a conversation that ends with a question), its attachments to :mod:`.attachments`, its tools to
:mod:`.client_tools` and its decisions as a :class:`Resume`. Nothing here knows a protocol or a run.
"""

from .chat_request import ChatRequest, RunOptions, conversation
from .decisions import Answer, Resume, Verdict

__all__ = ["Answer", "ChatRequest", "Resume", "RunOptions", "Verdict", "conversation"]
