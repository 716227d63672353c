"""One way a body's shape is checked: a pydantic model, and a ``400`` naming the path of what is wrong."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

from ..errors import RequestError

__all__ = ["MAX_METADATA", "Metadata", "check_metadata", "validated"]

Model = TypeVar("Model", bound=BaseModel)

MAX_METADATA = 64 * 1024
"""Characters of JSON a thread's or a run's metadata may hold: it is copied into every checkpoint a run writes."""


def check_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(metadata, default=str)) > MAX_METADATA:
        raise ValueError(f"at most {MAX_METADATA} characters of JSON")
    return metadata


Metadata = Annotated[dict[str, Any], AfterValidator(check_metadata)]


def validated(model: type[Model], data: Any, where: str = "", status: int = 400) -> Model:
    """``data`` as ``model``, or a ``400`` (``status``: LangGraph's server answers ``422``) naming each wrong
    field's path, under ``where`` when given: ``where: field.path: message; ...`` (a rule of the whole of
    ``data``: ``where: message``, or ``the body: message``)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            at = [part for part in (where, ".".join(map(str, error["loc"]))) if part] or ["the body"]
            problems.append(": ".join([*at, error["msg"].removeprefix("Value error, ")]))
        raise RequestError(status, "invalid_request", "; ".join(problems)) from None
