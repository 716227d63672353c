"""Kept so that imports of 0.2 work: ``emit_state`` lives in :mod:`.run.mapping.state`."""

from .run.mapping.state import emit_state

__all__ = ["emit_state"]
