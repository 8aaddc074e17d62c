"""The Prometheus metrics a vLLM v0.11.0 OpenAI server exposes, with its names, types, labels
and buckets (``vllm/v1/metrics/loggers.py`` at that release, and the FastAPI instrumentator
its API server mounts for ``http_requests_total``).

v0.11.0 specifics: ``vllm:inter_token_latency_seconds`` is new and
``vllm:time_per_output_token_seconds`` is deprecated but still emitted with the same values;
``vllm:gpu_cache_usage_perc`` is hidden (``vllm:kv_cache_usage_perc`` replaces it).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
                5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
ITL_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
               7.5, 10.0, 20.0, 40.0, 80.0)
REQUEST_LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0,
                           40.0, 50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)
LABELS = ("model_name", "engine")


class VllmMetrics:
    """One server's registry. ``observe_request`` records a finished request."""

    def __init__(self, model_name: str, *, kv_cache_usage: float) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.values = (model_name or "unknown", "0")
        r = self.registry
        self.running = Gauge("vllm:num_requests_running",
                             "Number of requests in model execution batches.", LABELS,
                             registry=r).labels(*self.values)
        self.waiting = Gauge("vllm:num_requests_waiting",
                             "Number of requests waiting to be processed.", LABELS,
                             registry=r).labels(*self.values)
        self.kv_cache = Gauge("vllm:kv_cache_usage_perc",
                              "KV-cache usage. 1 means 100 percent usage.", LABELS,
                              registry=r).labels(*self.values)
        self.kv_cache.set(kv_cache_usage)
        self.prompt_tokens = Counter("vllm:prompt_tokens", "Number of prefill tokens processed.",
                                     LABELS, registry=r).labels(*self.values)
        self.generation_tokens = Counter("vllm:generation_tokens",
                                         "Number of generation tokens processed.", LABELS,
                                         registry=r).labels(*self.values)
        self.success = Counter("vllm:request_success",
                               "Count of successfully processed requests.",
                               (*LABELS, "finished_reason"), registry=r)
        self.ttft = Histogram("vllm:time_to_first_token_seconds",
                              "Histogram of time to first token in seconds.", LABELS,
                              buckets=TTFT_BUCKETS, registry=r).labels(*self.values)
        self.itl = Histogram("vllm:inter_token_latency_seconds",
                             "Histogram of inter-token latency in seconds.", LABELS,
                             buckets=ITL_BUCKETS, registry=r).labels(*self.values)
        self.tpot = Histogram("vllm:time_per_output_token_seconds",
                              "Histogram of time per output token in seconds.DEPRECATED: Use "
                              "vllm:inter_token_latency_seconds instead.", LABELS,
                              buckets=ITL_BUCKETS, registry=r).labels(*self.values)
        self.e2e = Histogram("vllm:e2e_request_latency_seconds",
                             "Histogram of e2e request latency in seconds.", LABELS,
                             buckets=REQUEST_LATENCY_BUCKETS, registry=r).labels(*self.values)
        self.http = Counter("http_requests_total", "Total number of requests by method, status "
                            "and handler.", ("handler", "method", "status"), registry=r)

    def observe_request(self, *, ttft: float, itl: float, output_tokens: int,
                        prompt_tokens: int, finished_reason: str) -> None:
        """A request the engine finished (seconds)."""
        self.ttft.observe(ttft)
        for _ in range(max(output_tokens - 1, 0)):
            self.itl.observe(itl)
            self.tpot.observe(itl)
        self.e2e.observe(ttft + itl * max(output_tokens - 1, 0))
        self.prompt_tokens.inc(prompt_tokens)
        self.generation_tokens.inc(output_tokens)
        self.success.labels(*self.values, finished_reason).inc()

    def observe_http(self, handler: str, method: str, status: int) -> None:
        """The instrumentator's counter (status grouped as ``2xx``/``4xx``/``5xx``)."""
        self.http.labels(handler, method, f"{status // 100}xx").inc()

    def exposition(self) -> bytes:
        """The text format served on ``/metrics``."""
        return generate_latest(self.registry)
