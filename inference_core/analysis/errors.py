"""Errors of metric analysis and smoke tests (all ``InferenceStacksError``)."""

from __future__ import annotations

from typing import Any

from inference_core.errors import InferenceStacksError


class MetricsUnavailable(InferenceStacksError):
    """The metrics provider could not answer (Prometheus down, a target not scraped...)."""


class CanaryFailed(InferenceStacksError):
    """The candidate breached a gate, or no verdict was possible; ``record`` is the decision
    record (JSON-able) and ``reason`` one of ``breach``, ``insufficient-data``,
    ``metrics-unavailable``, ``step-failed``."""

    def __init__(self, message: str, *, reason: str, record: dict[str, Any]) -> None:
        super().__init__(message)
        self.reason = reason
        self.record = record
