"""Gates: is the candidate no worse than stable over one window?

Checks (each a :class:`Check` with the numbers it used):

- ``min_requests``: candidate and stable each answered at least ``min_requests``; otherwise
  there is **no verdict** (``insufficient``), whatever the other numbers say.
- ``error_rate``: the candidate's 5xx share stays below ``max_error_rate``.
- ``ttft_p95_ratio`` / ``e2e_p95_ratio``: candidate p95 / stable p95 at most the threshold.
- ``kv_cache_usage`` (optional): the candidate's KV-cache usage at most ``max_kv_cache_usage``.

A latency ratio without observations on either side is ``insufficient`` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from inference_core.analysis.stats import WindowStats
from inference_core.errors import FieldIssue, SpecError

PASS, FAIL, INSUFFICIENT = "pass", "fail", "insufficient"


@dataclass(frozen=True)
class Thresholds:
    """Gate thresholds (defaults in parentheses).

    :param min_requests: requests each version must answer in a window before any verdict (20).
    :param max_error_rate: the candidate's 5xx share must stay below this (0.05).
    :param max_ttft_p95_ratio: candidate/stable TTFT p95 at most (1.5); None = no gate.
    :param max_e2e_p95_ratio: candidate/stable end-to-end p95 at most (1.5); None = no gate.
    :param max_kv_cache_usage: candidate KV-cache usage at most (None = no gate), 0..1.
    """

    min_requests: int = 20
    max_error_rate: float = 0.05
    max_ttft_p95_ratio: float | None = 1.5
    max_e2e_p95_ratio: float | None = 1.5
    max_kv_cache_usage: float | None = None

    def __post_init__(self) -> None:
        issues = []
        if self.min_requests < 1:
            issues.append(FieldIssue("gates.min_requests", "must be at least 1",
                                     value=self.min_requests, allowed="an integer >= 1"))
        if not 0 < self.max_error_rate <= 1:
            issues.append(FieldIssue("gates.max_error_rate", "is out of range",
                                     value=self.max_error_rate, allowed="0 < rate <= 1"))
        for name in ("max_ttft_p95_ratio", "max_e2e_p95_ratio"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                issues.append(FieldIssue(f"gates.{name}", "must be positive", value=value,
                                         allowed="a ratio > 0, e.g. 1.5"))
        if self.max_kv_cache_usage is not None and not 0 < self.max_kv_cache_usage <= 1:
            issues.append(FieldIssue("gates.max_kv_cache_usage", "is out of range",
                                     value=self.max_kv_cache_usage, allowed="0 < usage <= 1"))
        if issues:
            raise SpecError(issues)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Thresholds:
        """From a mapping (unknown keys are refused, naming the allowed ones)."""
        allowed = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise SpecError([FieldIssue(f"gates.{unknown[0]}", "is not a gate setting",
                                        value=data[unknown[0]],
                                        allowed=", ".join(sorted(allowed)))])
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return asdict(self)


@dataclass(frozen=True)
class Check:
    """One gate's outcome: ``value`` compared with ``threshold`` gave ``verdict``."""

    name: str
    verdict: str
    value: float | None
    threshold: float | None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able."""
        return asdict(self)


def _ratio(name: str, cand: float | None, stable: float | None,
           limit: float | None) -> Check | None:
    if limit is None:
        return None
    if cand is None or stable is None or stable <= 0:
        return Check(name, INSUFFICIENT, None, limit,
                     f"no latency observations (candidate {cand}, stable {stable})")
    ratio = cand / stable
    return Check(name, PASS if ratio <= limit else FAIL, round(ratio, 4), limit,
                 f"candidate {cand:.4f}s / stable {stable:.4f}s")


def evaluate(candidate: WindowStats, stable: WindowStats,
             thresholds: Thresholds) -> tuple[str, list[Check]]:
    """The window's verdict (``pass``, ``fail`` or ``insufficient``) and every check."""
    t = thresholds
    fewest = min(candidate.requests, stable.requests)
    checks = [Check("min_requests", PASS if fewest >= t.min_requests else INSUFFICIENT,
                    fewest, t.min_requests,
                    f"candidate {candidate.requests}, stable {stable.requests} requests")]
    rate = candidate.error_rate
    checks.append(Check("error_rate", INSUFFICIENT if rate is None else
                        PASS if rate < t.max_error_rate else FAIL,
                        None if rate is None else round(rate, 4), t.max_error_rate,
                        f"{candidate.errors} of {candidate.requests} candidate requests "
                        f"answered 5xx (stable {stable.errors} of {stable.requests})"))
    for check in (_ratio("ttft_p95_ratio", candidate.ttft_p95, stable.ttft_p95,
                         t.max_ttft_p95_ratio),
                  _ratio("e2e_p95_ratio", candidate.e2e_p95, stable.e2e_p95,
                         t.max_e2e_p95_ratio)):
        if check is not None:
            checks.append(check)
    if t.max_kv_cache_usage is not None:
        kv = candidate.kv_cache_usage
        checks.append(Check("kv_cache_usage", INSUFFICIENT if kv is None else
                            PASS if kv <= t.max_kv_cache_usage else FAIL,
                            kv, t.max_kv_cache_usage))
    if checks[0].verdict == INSUFFICIENT:
        return INSUFFICIENT, checks
    if any(c.verdict == FAIL for c in checks):
        return FAIL, checks
    if any(c.verdict == INSUFFICIENT for c in checks):
        return INSUFFICIENT, checks
    return PASS, checks
