"""The bodies of the LangGraph server's thread routes (:mod:`.langgraph_api`), as its schemas take them: what they
name is checked, anything else a client adds is left alone, as LangGraph's server leaves it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from ..request.validation import Metadata

__all__ = ["Checkpoint", "CheckpointState", "History", "NewThread", "Patch", "Prune", "Search", "StateUpdate"]


class NewThread(BaseModel):
    model_config = ConfigDict(extra="allow")

    thread_id: StrictStr | None = None
    metadata: Metadata = {}
    if_exists: Literal["raise", "do_nothing"] = "raise"
    supersteps: None = None  # a thread seeded with states: not served (its runs' input is checked; this would not be)


_FIELDS = Literal[
    "thread_id", "created_at", "updated_at", "metadata", "config", "context", "status", "values", "interrupts"
]
_SORTED = {"state_updated_at": "updated_at"}  # the last run's writes are the thread's last activity


class Search(BaseModel):
    model_config = ConfigDict(extra="allow")

    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None  # not served: refused, rather than a search that ignores it
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    ids: list[StrictStr] | None = Field(default=None, max_length=1000)
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    sort_by: Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"] | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[Literal[_FIELDS]] | None = None  # the fields each thread comes with

    @field_validator("metadata")
    @classmethod
    def _literal(cls, metadata: dict[str, Any] | None) -> dict[str, Any] | None:
        """Metadata is matched as it is written: a key starting with ``$`` would be a store's operator."""
        stack: list[Any] = [metadata]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                if any(str(key).startswith("$") for key in value):
                    raise ValueError("a key starting with $ is matched as an operator, not searched")
                stack += value.values()
            elif isinstance(value, list):
                stack += value
        return metadata

    @property
    def order(self) -> tuple[str, bool] | None:
        """The field asked to sort by, and whether descending (unless ``asc``); None: the threads' own order."""
        return None if self.sort_by is None else (_SORTED.get(self.sort_by, self.sort_by), self.sort_order != "asc")


class Patch(BaseModel):
    model_config = ConfigDict(extra="allow")

    metadata: Metadata = {}


class Prune(BaseModel):
    model_config = ConfigDict(extra="allow")

    thread_ids: list[StrictStr] = Field(max_length=1000)
    strategy: Literal["delete", "keep_latest"] = "delete"


class Checkpoint(BaseModel):
    model_config = ConfigDict(extra="allow")

    checkpoint_id: StrictStr | None = None
    checkpoint_ns: StrictStr = ""


class StateUpdate(BaseModel):
    model_config = ConfigDict(extra="allow")

    values: Any = None
    as_node: StrictStr | None = None
    checkpoint_id: StrictStr | None = None
    checkpoint: Checkpoint | None = None  # where to write: a fork from there


class CheckpointState(BaseModel):
    model_config = ConfigDict(extra="allow")

    checkpoint: Checkpoint
    subgraphs: bool | None = None


class History(BaseModel):
    model_config = ConfigDict(extra="allow")

    limit: int = Field(default=10, ge=1, le=1000)
    before: Any = None
    metadata: dict[str, Any] | None = None
    checkpoint: Checkpoint | None = None
