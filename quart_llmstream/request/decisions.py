"""A client's decisions on what its thread waits for, in the one shape every protocol's reader makes of them.

LangGraph pauses a thread at interrupts; ``HumanInTheLoopMiddleware``'s hold tool calls for a person's
approval. Each protocol carries the answer its own way (a native ``resume`` value, the AI SDK's approvals by
call id, AG-UI's answers by interrupt id); its reader turns it into a :class:`Resume`, and the thread checks that
against what is pending (:mod:`..run.threads`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Answer", "Resume", "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Approve or reject: as a client sends it (checked against the calls it decides, where it is used)."""

    approved: Any
    reason: Any = None


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer to one interrupt: its ``value``, and for calls awaiting approval the ``verdict`` it gives them
    all, when it gives one (AG-UI's ``{"approved"}`` or ``cancelled``)."""

    value: Any
    verdict: Verdict | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    """A client's answer to the interrupts its thread waits on (LangGraph's ``Command(resume=...)``).

    ``answers`` by interrupt id; ``verdicts`` on tool calls awaiting approval, by call id (the AI SDK's); and
    ``value`` (when ``has_value``): one value, for the one pending interrupt, or a map of pending interrupt ids
    to values (LangGraph's rule: a dict is a map only when every key is a pending interrupt's id).
    """

    answers: Mapping[str, Answer] = field(default_factory=dict)
    verdicts: Mapping[str, Verdict] = field(default_factory=dict)
    value: Any = None
    has_value: bool = False
