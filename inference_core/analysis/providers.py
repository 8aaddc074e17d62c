"""What the canary asks a metrics provider: the statistics of one version over a window.

A version is identified by the labels both providers use: ``namespace``, ``service`` and
``revision`` (the Knative revision, or an LWS template revision hash). Requests are the
inference handlers' entries of ``http_requests_total`` (vLLM's API server counts them by
``handler``/``method``/``status`` class); latencies are vLLM's histograms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from inference_core.analysis.stats import WindowStats

#: handlers whose requests count (vLLM's OpenAI routes; ``/`` for plain HTTP workloads)
INFERENCE_HANDLERS = ("/v1/completions", "/v1/chat/completions", "/")
TTFT = "vllm:time_to_first_token_seconds"
E2E = "vllm:e2e_request_latency_seconds"
ITL = "vllm:inter_token_latency_seconds"
KV_CACHE = "vllm:kv_cache_usage_perc"
REQUESTS = "http_requests_total"
QUANTILE = 0.95


@dataclass(frozen=True)
class VersionRef:
    """One version of a workload, as its metrics are labelled."""

    namespace: str
    service: str
    revision: str

    def labels(self) -> dict[str, str]:
        """The label set selecting its series."""
        return {"namespace": self.namespace, "service": self.service,
                "revision": self.revision}

    def __str__(self) -> str:
        return f"{self.namespace}/{self.revision}"


class MetricsProvider(Protocol):
    """``begin`` marks a window's start; ``measure`` returns the window up to now.

    Both raise :class:`~inference_core.analysis.errors.MetricsUnavailable` when they cannot
    answer.
    """

    name: str

    def begin(self, version: VersionRef) -> Any:
        """A marker for the start of a window (a time, or a snapshot)."""

    def measure(self, version: VersionRef, start: Any) -> WindowStats:
        """Statistics since ``start``."""
