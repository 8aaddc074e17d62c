"""Direct scrape: read the versions' own ``/metrics`` at the start and end of a window.

The embedded default when no Prometheus is configured. Targets come from a Prometheus
file-based service discovery file (``[{"targets": ["host:port"], "labels": {...}}]``), the
same file a Prometheus would read, or from an explicit mapping.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inference_core.analysis import exposition
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
from inference_core.analysis.stats import WindowStats, quantile, subtract


@dataclass
class Snapshot:
    """Cumulative counters of one version (summed over its targets)."""

    requests: float = 0.0
    errors: float = 0.0
    buckets: dict[str, dict[float, float]] = field(default_factory=dict)
    kv_cache: float | None = None


def read_snapshot(text: str, into: Snapshot | None = None) -> Snapshot:
    """Add one exposition's counters to a snapshot."""
    snap = into or Snapshot()
    for s in exposition.parse(text):
        if s.name == REQUESTS and s.labels.get("handler") in INFERENCE_HANDLERS:
            snap.requests += s.value
            if s.labels.get("status", "").startswith("5"):
                snap.errors += s.value
        elif s.name.endswith("_bucket") and s.name[:-7] in (TTFT, E2E, ITL):
            le = float(s.labels.get("le", "inf").replace("+Inf", "inf"))
            hist = snap.buckets.setdefault(s.name[:-7], {})
            hist[le] = hist.get(le, 0.0) + s.value
        elif s.name == KV_CACHE:
            snap.kv_cache = max(snap.kv_cache or 0.0, s.value)
    return snap


def file_sd_targets(path: str | Path) -> Callable[[VersionRef], list[str]]:
    """Targets of a version from a file_sd file (read again on every call)."""

    def lookup(version: VersionRef) -> list[str]:
        try:
            groups = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise MetricsUnavailable(f"cannot read the scrape targets file {path}: {e}") from e
        found: list[str] = []
        for group in groups if isinstance(groups, list) else []:
            labels = group.get("labels") or {}
            if all(labels.get(k) == v for k, v in version.labels().items()):
                found += [str(t) for t in group.get("targets") or []]
        return found

    return lookup


class DirectScrapeProvider:
    """Scrape ``http://<target>/metrics`` of the version's targets.

    :param targets: a version -> ``host:port`` list function (e.g. :func:`file_sd_targets`)
        or a mapping from revision name to targets.
    :param timeout: seconds per scrape.
    """

    name = "scrape"

    def __init__(self, targets: Callable[[VersionRef], list[str]] | Mapping[str, Sequence[str]],
                 *, timeout: float = 5.0) -> None:
        self._targets = targets
        self.timeout = timeout

    def targets(self, version: VersionRef) -> list[str]:
        """Where this version's metrics are."""
        if callable(self._targets):
            return self._targets(version)
        return list(self._targets.get(version.revision, ()))

    def snapshot(self, version: VersionRef) -> Snapshot:
        """Counters of every target now."""
        targets = self.targets(version)
        if not targets:
            raise MetricsUnavailable(f"no scrape target is known for {version} "
                                     "(is the version serving?)")
        snap = Snapshot()
        for target in targets:
            url = target if "://" in target else f"http://{target}/metrics"
            try:
                with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                    read_snapshot(resp.read().decode("utf-8"), snap)
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise MetricsUnavailable(f"scraping {url} for {version} failed: {e}") from e
        return snap

    def begin(self, version: VersionRef) -> Any:
        """The counters at the window's start (zero for a version with no target yet: a
        server that starts later starts its counters at zero too)."""
        if not self.targets(version):
            return Snapshot()
        return self.snapshot(version)

    def measure(self, version: VersionRef, start: Any) -> WindowStats:
        """The difference between now and ``start``."""
        before: Snapshot = start
        now = self.snapshot(version)
        p95 = {name: quantile(QUANTILE, list(subtract(now.buckets.get(name, {}),
                                                      before.buckets.get(name, {})).items()))
               for name in (TTFT, E2E, ITL)}
        requests = now.requests - before.requests
        errors = now.errors - before.errors
        if requests < 0:  # the server restarted: its counters began again
            requests, errors = now.requests, now.errors
        return WindowStats(requests=round(requests), errors=round(errors),
                           ttft_p95=p95[TTFT], e2e_p95=p95[E2E], itl_p95=p95[ITL],
                           kv_cache_usage=now.kv_cache, source=self.name)
