"""The run side: a :class:`~..request.ChatRequest` and the runnable its factory builds become events in a log.

:mod:`.prepare` does everything before the run streams (owner, factory, config, thread, input, stream);
:mod:`.threads` owns every rule of a LangGraph thread; :mod:`.inputs` makes the runnable's input; the run
(:mod:`.producer`) drives an event source (:mod:`.sources`) and appends what :mod:`.mapping` makes of its events
to the stream's log. Nothing here knows a protocol.
"""

from .prepare import Prepared, Preparer, RunnableFactory
from .producer import Run, StopReason

__all__ = ["Prepared", "Preparer", "Run", "RunnableFactory", "StopReason"]
