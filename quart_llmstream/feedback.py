"""Feedback on answers: ``POST <route>/feedback`` ``{"run_id" or "message_id", "score", "comment"?}``.

The run is found among the caller's own (:class:`~.run.ledger.RunLedger`): another owner's run, like an unknown
one, is a ``404``. The rating becomes a Langfuse score on the trace that run wrote (its id is the run's) when
Langfuse is on, and goes to the ``on_feedback(chat_request, feedback)`` hook, whose ``chat_request`` is the
feedback request's (its headers, the rated run's thread). Served when the hook is set or Langfuse is on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictStr, model_validator
from quart import Response, request

from .errors import ConfigError, RequestError
from .lifecycle import maybe_await
from .owners import owner_of
from .request import ChatRequest
from .request.body import read_json_body
from .request.validation import validated
from .run.ledger import RunLedger
from .settings import Settings
from .tracing import LangfuseTracing

__all__ = ["SCORE_NAME", "Feedback", "feedback_route"]

log = logging.getLogger("quart_llmstream")

SCORE_NAME = "user_feedback"
"""The name of the Langfuse score a rating becomes."""
_MAX_COMMENT = 4000


@dataclass(frozen=True, slots=True)
class Feedback:
    """A rating of an answer, as ``on_feedback`` gets it."""

    run_id: str
    """The rated run's id (its Langfuse trace's is ``trace_id``)."""
    thread_id: str | None
    score: float
    comment: str | None
    message_id: str | None = None
    """The id the client named the answer by, when it named it by the answer's id rather than the run's."""

    @property
    def trace_id(self) -> str:
        return UUID(self.run_id).hex


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    message_id: StrictStr | None = Field(default=None, min_length=1, max_length=200)
    score: StrictFloat  # an int too (thumbs: 1, 0), not a bool nor a string
    comment: StrictStr | None = Field(default=None, max_length=_MAX_COMMENT)

    @model_validator(mode="after")
    def _names_one_answer(self) -> _Body:
        if (self.run_id is None) == (self.message_id is None):
            raise ValueError("name the answer by run_id or by message_id (one of them)")
        return self


def feedback_route(
    settings: Settings, rule: str, ledger: Callable[[], RunLedger], tracing: LangfuseTracing | None
) -> tuple[str, str, Callable[[], Awaitable[Response]]]:
    """The feedback route of a blueprint, at ``rule``; a refusal is a :class:`~.errors.RequestError`."""
    try:
        import langgraph.store.base  # noqa: F401  (the runs are kept in a LangGraph store)
    except ImportError as exc:
        raise ConfigError("feedback keeps runs in a LangGraph store: pip install 'quart-llmstream[agents]'") from exc
    low, high = settings.feedback_range

    async def feedback() -> Response:
        body = await read_json_body(request)
        rating = validated(_Body, body)
        if not low <= rating.score <= high:
            raise RequestError(400, "invalid_request", f"score: a number from {low:g} to {high:g}")
        asking = ChatRequest.of_headers(request.headers, body)
        owner = await owner_of(settings.stream_owner, asking)
        kept = await ledger().find(owner, rating.run_id or rating.message_id or "")
        if kept is None:
            raise RequestError(404, "not_found", "no such run")
        given = Feedback(kept.run_id, kept.thread_id, float(rating.score), rating.comment, rating.message_id)
        if settings.on_feedback is not None:  # first: a failure here is a 500 the client retries, nothing sent yet
            try:
                await maybe_await(settings.on_feedback(replace(asking, thread_id=kept.thread_id), given))
            except Exception as exc:
                log.exception("the on_feedback hook failed")
                raise RequestError.internal(exc, settings.expose_errors) from exc
        if tracing is not None:  # one score per run and rater: a vote changed replaces the first
            score_id = uuid5(NAMESPACE_URL, f"{given.run_id}:{owner}").hex
            tracing.score(given.trace_id, SCORE_NAME, given.score, given.comment, score_id)
        return Response(status=204)

    return rule, "POST", feedback
