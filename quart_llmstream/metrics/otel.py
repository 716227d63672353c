"""The instruments on OpenTelemetry's metrics API (the ``otel`` extra: ``opentelemetry-api``); the app brings the
SDK, its readers and exporters, as for any instrumented library."""

from __future__ import annotations

from typing import Any

from .base import INSTRUMENTS, Attributes, Metrics

__all__ = ["OTelMetrics"]


class OTelMetrics(Metrics):
    """Instruments made on ``meter_provider`` (None: the global one, which the app's SDK sets)."""

    def __init__(self, meter_provider: Any = None) -> None:
        try:
            from opentelemetry.metrics import get_meter
        except ImportError as exc:
            raise ImportError("OTelMetrics needs OpenTelemetry: pip install 'quart-llmstream[otel]'") from exc
        meter = get_meter("quart_llmstream", meter_provider=meter_provider)
        self._instruments: dict[str, Any] = {}
        for spec in INSTRUMENTS:
            if spec.kind == "histogram":
                made: Any = meter.create_histogram(
                    spec.name, spec.unit, spec.description, explicit_bucket_boundaries_advisory=list(spec.buckets)
                )
            elif spec.kind == "updown":
                made = meter.create_up_down_counter(spec.name, spec.unit, spec.description)
            else:
                made = meter.create_counter(spec.name, spec.unit, spec.description)
            self._instruments[spec.name] = made

    def add(self, name: str, value: float, attributes: Attributes) -> None:
        self._instruments[name].add(value, _present(attributes))

    def record(self, name: str, value: float, attributes: Attributes) -> None:
        self._instruments[name].record(value, _present(attributes))


def _present(attributes: Attributes) -> dict[str, str | int]:
    return {key: value for key, value in attributes.items() if value is not None}
