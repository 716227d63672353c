"""Metrics of an app's streams: OpenTelemetry (:class:`OTelMetrics`, the ``otel`` extra) and Prometheus
(:class:`PrometheusMetrics`, the ``prometheus`` extra), under the GenAI semantic conventions' names where one
exists (docs/operating.md lists them).

Off unless the app passes a backend, ``LLMStream(app, metrics=...)`` (or several). A blueprint binds it once, at
registration, to its bounded labels (protocol, blueprint); a stream counts in at its start and reports at its end
what its tally timed (:mod:`..run.mapping.timing`), so the per-token path gains only a clock read at each model
call's first token. No label is an id of a thread, a user or a stream.

Another backend is a :class:`Metrics` (``add`` to a counter, ``record`` in a histogram), its instruments made
from :data:`INSTRUMENTS`.
"""

from .base import INSTRUMENTS, Instrument, Metrics
from .otel import OTelMetrics  # each backend imports its library when made: it needs its extra then
from .prometheus import PrometheusMetrics

__all__ = ["INSTRUMENTS", "Instrument", "Metrics", "OTelMetrics", "PrometheusMetrics"]
