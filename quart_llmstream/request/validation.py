"""One way a body's shape is checked: a pydantic model, and a ``400`` naming the path of what is wrong."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ValidationError

from ..errors import RequestError

__all__ = ["MAX_METADATA", "Metadata", "check_metadata", "describe_validation_error", "validated"]

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
    field's path (under ``where``, when given)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        detail = describe_validation_error(exc)
        raise RequestError(status, "invalid_request", f"{where}: {detail}" if where else detail) from None


def describe_validation_error(exc: ValidationError) -> str:
    """A pydantic error as one readable line: ``field.path: message; ...`` (a rule of the whole body: ``the
    body: message``)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'the body'}: {error['msg'].removeprefix('Value error, ')}"
        for error in exc.errors()
    )
