"""Window statistics of one version, and the histogram arithmetic behind them.

``quantile`` follows PromQL's ``histogram_quantile``: find the bucket holding the rank and
interpolate linearly inside it (the lowest bucket starts at 0; a rank in the ``+Inf`` bucket
answers the highest finite bound). Both metrics providers compute the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q`` quantile of cumulative ``(upper_bound, count)`` buckets; None when empty."""
    ordered = sorted(buckets)
    if not ordered or ordered[-1][1] <= 0:
        return None
    total = ordered[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return ordered[-1][0]


def subtract(after: Mapping[float, float], before: Mapping[float, float]) -> dict[float, float]:
    """Bucket counts of a window (counter resets start again from zero)."""
    out: dict[float, float] = {}
    for bound, count in after.items():
        prev = before.get(bound, 0.0)
        out[bound] = count - prev if count >= prev else count
    return out


@dataclass(frozen=True)
class WindowStats:
    """What one version did during an analysis window.

    ``requests``: inference requests answered (any status); ``errors``: those answered 5xx;
    ``*_p95``: seconds (None without observations); ``kv_cache_usage``: 0..1, highest seen.
    """

    requests: int
    errors: int
    ttft_p95: float | None = None
    e2e_p95: float | None = None
    itl_p95: float | None = None
    kv_cache_usage: float | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def error_rate(self) -> float | None:
        """errors / requests (None without requests)."""
        return self.errors / self.requests if self.requests else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with the error rate."""
        d = asdict(self)
        d["error_rate"] = self.error_rate
        if not d["extra"]:
            d.pop("extra")
        return d
