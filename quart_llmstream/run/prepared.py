"""What a prepared run is made of (:class:`Prepared`), what it takes its thread with (:class:`Turn`), and what the
preparer needs of the wire's protocol (:class:`Streams`) and of the app (:class:`Runs`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.runnables import Runnable, RunnableConfig

from ..logs import LogReader, Stream
from ..options import OnDisconnect
from ..request import ChatRequest
from ..settings import Settings
from .inputs import RunInput
from .mapping import Mapper, StreamMapper
from .producer import Run
from .queued import Queued
from .threads import Recorded, RunThread, Strategy, ThreadHolds

__all__ = ["Prepared", "Runs", "Streams", "Turn"]


class Streams(Protocol):
    """What of the wire's protocol a run needs: the event source it asks for, the ids its answers are known by, and
    whether its queued runs wait apart."""

    @property
    def source(self) -> str | None: ...

    def answer_ids(self, stream_id: str, ids: Mapping[str, str]) -> tuple[str, ...]: ...

    def waits_apart(self, chat_request: ChatRequest) -> bool: ...


class Runs(Protocol):
    """What the app keeps of its runs (:class:`~..extension.LLMStream`): room for one more, the holds on its
    threads, and the registry every run joins."""

    holds: ThreadHolds

    def admit(self, settings: Settings, owner: str | None = None, *, per_owner: bool = False) -> None: ...

    def add(self, run: Run | Queued, owner: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class Turn:
    """What a run takes its thread with: the request, the graph and config, what to do while another run holds
    the thread, the thread's record, whether the thread is the run's own (stateless) or must exist, and whether
    the runnable takes the messages alone (a chat model)."""

    chat_request: ChatRequest
    mapper: Mapper
    graph: Any
    config: RunnableConfig
    strategy: Strategy
    recorded: Recorded | None
    ephemeral: bool
    must_exist: bool
    messages_only: bool = False  # a chat model served alone: its input is the conversation's messages


@dataclass(slots=True)
class Prepared:
    """A run ready to start: its request, owner, runnable, input and config, its thread, its mapping and the
    stream its events go to (with the first response's reader, made before the run can write)."""

    chat_request: ChatRequest
    owner: str | None
    runnable: Runnable[Any, Any]
    inputs: RunInput
    config: RunnableConfig
    filters: dict[str, Any]
    thread_name: str | None
    thread: RunThread | None
    mapping: StreamMapper
    stream: Stream
    reader: LogReader
    queued: Turn | None = None
    """Set for a run that waits its turn in the background: what it takes its thread with when the turn comes."""

    def outlives_client(self, on_disconnect: OnDisconnect) -> bool:
        """Whether the run goes on when its client leaves: as the request says (LangGraph's ``on_disconnect``), else
        while its client may come back for the rest (a resumable stream), else as ``on_disconnect`` (the blueprint's
        option) says. A run that waits its turn in the background goes on unless its request says ``cancel``."""
        asked = self.chat_request.run_options.on_disconnect
        if self.queued is not None:
            return asked != "cancel"
        if asked is not None:
            return asked == "continue"
        return self.stream.resumable or on_disconnect == "continue"

    @property
    def headers(self) -> dict[str, str]:
        """What the response says of the run: its stream's id (to resume it by) and its thread's."""
        thread = {"X-Thread-Id": self.thread_name} if self.thread_name is not None else {}
        return self.stream.headers | thread
