"""Prometheus provider: PromQL over the HTTP API (``/api/v1/query``), the production default.

Queries (``SEL`` is the version's selector, ``W`` the window in seconds)::

    sum(R) - (sum(R offset W) or vector(0))    R = http_requests_total{SEL,handler=~"..."}
    (the same with status="5xx" for errors: children born in the window count from 0)
    histogram_quantile(0.95,
      sum by (le) (increase(vllm:time_to_first_token_seconds_bucket{SEL}[W])))
    (same for vllm:e2e_request_latency_seconds and vllm:inter_token_latency_seconds)
    max(max_over_time(vllm:kv_cache_usage_perc{SEL}[W]))

The selector's label names are configurable (``selector`` template with ``{namespace}``,
``{service}`` and ``{revision}``), to match the relabelling of a cluster's scrape config.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from inference_core.analysis.errors import MetricsUnavailable
from inference_core.analysis.providers import (
    E2E,
    INFERENCE_HANDLERS,
    ITL,
    KV_CACHE,
    QUANTILE,
    REQUESTS,
    TTFT,
    VersionRef,
)
from inference_core.analysis.stats import WindowStats

DEFAULT_SELECTOR = 'namespace="{namespace}",revision="{revision}"'


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


class PrometheusProvider:
    """Ask a Prometheus server.

    :param url: base URL (``http://prometheus.monitoring:9090``).
    :param selector: label matchers for one version (template; values are escaped).
    :param clock: wall-clock seconds (the window's bounds are evaluation timestamps).
    :param timeout: seconds per query.
    :param min_window: shortest range selector in seconds (Prometheus needs two samples).
    """

    name = "prometheus"

    def __init__(self, url: str, *, selector: str = DEFAULT_SELECTOR,
                 clock: Callable[[], float] | None = None, timeout: float = 10.0,
                 min_window: int = 2) -> None:
        import time

        self.url = url.rstrip("/")
        self.selector = selector
        self.clock = clock or time.time
        self.timeout = timeout
        self.min_window = min_window

    def _selector(self, version: VersionRef) -> str:
        return self.selector.format(**{k: _escape(v) for k, v in version.labels().items()})

    def query(self, promql: str, at: float) -> float | None:
        """One instant query; the single result's value (None for an empty result or NaN)."""
        params = urllib.parse.urlencode({"query": promql, "time": f"{at:.3f}"})
        url = f"{self.url}/api/v1/query?{params}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                body = json.loads(resp.read())
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode("utf-8", "replace")
            raise MetricsUnavailable(f"Prometheus at {self.url} refused {promql!r}: "
                                     f"HTTP {e.code} {detail}") from e
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise MetricsUnavailable(f"Prometheus at {self.url} is not reachable: "
                                     f"{getattr(e, 'reason', e)}") from e
        if body.get("status") != "success":
            raise MetricsUnavailable(f"Prometheus at {self.url} failed {promql!r}: "
                                     f"{body.get('error')}")
        result = (body.get("data") or {}).get("result") or []
        if not result:
            return None
        value = float(result[0]["value"][1])
        return None if math.isnan(value) else value

    @staticmethod
    def _delta(series: str, window: int) -> str:
        """Counted in the window: now minus ``window`` ago, a series born inside the window
        counting from 0 (the instrumentator creates ``http_requests_total`` children on
        their first request, where ``increase()`` would miss everything before the first
        scrape that saw them)."""
        return f"sum({series}) - (sum({series} offset {window}s) or vector(0))"

    def begin(self, version: VersionRef) -> Any:
        """The window starts now."""
        return self.clock()

    def measure(self, version: VersionRef, start: Any) -> WindowStats:
        """The window ``[start, now]``."""
        now = self.clock()
        window = max(math.ceil(now - float(start)), self.min_window)
        sel = self._selector(version)
        handlers = "|".join(re.escape(h) for h in INFERENCE_HANDLERS)
        req = f'{REQUESTS}{{{sel},handler=~"{handlers}"}}'
        err = f'{REQUESTS}{{{sel},handler=~"{handlers}",status="5xx"}}'

        def q95(metric: str) -> float | None:
            return self.query(f"histogram_quantile({QUANTILE}, sum by (le) "
                              f"(increase({metric}_bucket{{{sel}}}[{window}s])))", now)

        requests = self.query(self._delta(req, window), now) or 0.0
        errors = self.query(self._delta(err, window), now) or 0.0
        return WindowStats(
            requests=round(requests), errors=round(errors),
            ttft_p95=q95(TTFT), e2e_p95=q95(E2E), itl_p95=q95(ITL),
            kv_cache_usage=self.query(f"max(max_over_time({KV_CACHE}{{{sel}}}[{window}s]))",
                                      now),
            source=self.name, extra={"window_s": window})
