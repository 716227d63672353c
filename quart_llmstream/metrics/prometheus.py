"""The instruments in a Prometheus registry (the ``prometheus`` extra: ``prometheus-client``), and the route that
exposes it, which the app mounts and protects like any other.

Names follow OpenTelemetry's Prometheus convention (dots become underscores; seconds end ``_seconds``; counters
``_total``), so a dashboard reads the same series whichever backend fed it. With several worker processes, run
``prometheus_client``'s multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, emptied before the server starts): the
route then sums every process's series, whichever process a scrape reaches; the active-streams gauge sums the
processes that wrote it.
"""

from __future__ import annotations

import os
from typing import Any

from quart import Blueprint, Response

from .base import INSTRUMENTS, Attributes, Instrument, Metrics

__all__ = ["PrometheusMetrics", "prometheus_name"]


def prometheus_name(spec: Instrument) -> str:
    """The metric's name in Prometheus (without ``_total``, which the client library adds to counters)."""
    name = spec.name.replace(".", "_")
    return f"{name}_seconds" if spec.unit == "s" else name


class PrometheusMetrics(Metrics):
    """Instruments in ``registry`` (None: a registry of their own, which :meth:`view` exposes)."""

    def __init__(self, registry: Any = None) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError as exc:
            message = "PrometheusMetrics needs prometheus-client: pip install 'quart-llmstream[prometheus]'"
            raise ImportError(message) from exc
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self._own_registry = registry is None
        self._metrics: dict[str, tuple[Any, tuple[str, ...]]] = {}
        self._children: dict[tuple[str, tuple[str, ...]], Any] = {}
        for spec in INSTRUMENTS:
            labels = tuple(key.replace(".", "_") for key in spec.attributes)
            name, registry = prometheus_name(spec), self.registry
            if spec.kind == "histogram":
                buckets = (*spec.buckets, float("inf"))
                made: Any = Histogram(name, spec.description, labels, registry=registry, buckets=buckets)
            elif spec.kind == "updown":
                made = Gauge(name, spec.description, labels, registry=registry, multiprocess_mode="livesum")
            else:
                made = Counter(name, spec.description, labels, registry=registry)
            self._metrics[spec.name] = (made, spec.attributes)

    def add(self, name: str, value: float, attributes: Attributes) -> None:
        self._child(name, attributes).inc(value)

    def record(self, name: str, value: float, attributes: Attributes) -> None:
        self._child(name, attributes).observe(value)

    def _child(self, name: str, attributes: Attributes) -> Any:
        """The series of ``name`` with these labels; each is made once (the labels are bounded) and kept."""
        metric, keys = self._metrics[name]
        values = tuple("" if (value := attributes.get(key)) is None else str(value) for key in keys)
        child = self._children.get((name, values))
        if child is None:
            child = self._children[name, values] = metric.labels(*values)
        return child

    async def view(self) -> Response:
        """The exposition: ``GET`` it from the app's own route (``app.add_url_rule("/metrics", view_func=...)``); in
        multiprocess mode, of every process (an app's own registry is exposed as it is: it collects what it will)."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry = self.registry
        if self._own_registry and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # prometheus-client types none of it
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    def blueprint(self, route: str = "/metrics", name: str = "llmstream_metrics") -> Blueprint:
        """A blueprint serving :meth:`view` at ``route``; protect it as the app's other routes (``before_request``)."""
        blueprint = Blueprint(name, __name__)
        blueprint.add_url_rule(route, "metrics", self.view, methods=["GET"])
        return blueprint
