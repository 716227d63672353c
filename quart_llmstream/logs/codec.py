"""Events as JSON records, for a store shared by processes: each event's type name, then its fields."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from ..events import EVENT_TYPES, Event

__all__ = ["from_record", "to_record"]

_BY_NAME = {cls.__name__: cls for cls in EVENT_TYPES}


def to_record(event: Event) -> dict[str, Any]:
    """The event as JSON data: its type's name under ``"t"``, then its fields."""
    return {"t": type(event).__name__, **{f.name: getattr(event, f.name) for f in fields(event)}}


def from_record(record: dict[str, Any]) -> Event:
    """The event :func:`to_record` wrote."""
    cls = _BY_NAME[record.pop("t")]
    return cls(**record)
