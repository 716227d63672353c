"""Which runs' events the event source yields: ``astream_events``' include/exclude filters.

The server's options set them; when ``client_filters`` is on, a request may narrow them (and the
kinds of event) with a ``"stream"`` object in its body, never widen them:
``{"stream": {"events": ["token"], "include_tags": ["final"], "exclude_names": ["router"]}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr

from ...errors import RequestError
from ...request.validation import validated
from ...settings import Settings

__all__ = ["FILTER_NAMES", "narrow", "server_filters"]

FILTER_NAMES = ("include_names", "include_types", "include_tags", "exclude_names", "exclude_types", "exclude_tags")


def server_filters(settings: Settings) -> dict[str, list[str]]:
    """The ``astream_events`` keyword arguments the options set."""
    return {name: list(value) for name in FILTER_NAMES if (value := getattr(settings, name)) is not None}


class _Narrowing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[StrictStr] | None = None
    include_names: list[StrictStr] | None = None
    include_types: list[StrictStr] | None = None
    include_tags: list[StrictStr] | None = None
    exclude_names: list[StrictStr] | None = None
    exclude_types: list[StrictStr] | None = None
    exclude_tags: list[StrictStr] | None = None


def narrow(
    body: Mapping[str, Any], events: frozenset[str], filters: dict[str, list[str]]
) -> tuple[frozenset[str], dict[str, list[str]]]:
    """Apply a request's ``"stream"`` narrowing, or raise :class:`RequestError` if it would widen."""
    if body.get("stream") is None:
        return events, filters
    asked = validated(_Narrowing, body["stream"], "stream").model_dump(exclude_none=True)
    narrowed = dict(filters)
    for name in FILTER_NAMES:
        if name not in asked:
            continue
        if name.startswith("exclude_"):
            narrowed[name] = [*filters.get(name, ()), *asked[name]]
        elif name in filters and not set(asked[name]) <= set(filters[name]):
            raise RequestError(400, "invalid_request", f"stream.{name}: must be a subset of {filters[name]}")
        else:
            narrowed[name] = asked[name]
    kinds = set(asked.get("events", events))
    if not kinds <= events:
        raise RequestError(400, "invalid_request", f"stream.events: must be a subset of {sorted(events)}")
    return frozenset(kinds), narrowed
