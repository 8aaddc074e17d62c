"""Pure parts of the analysis: histogram quantiles, the exposition reader, gate verdicts,
settings validation."""

from __future__ import annotations

import math

import pytest

from inference_core.analysis import exposition
from inference_core.analysis.canary import CanaryConfig, parse_steps
from inference_core.analysis.gates import Thresholds, evaluate
from inference_core.analysis.scrape import read_snapshot
from inference_core.analysis.stats import WindowStats, quantile, subtract
from inference_core.errors import SpecError


@pytest.mark.parametrize(("buckets", "q", "expected"), [
    ([(0.01, 0), (0.02, 100), (math.inf, 100)], 0.95, 0.0195),  # inside (0.01, 0.02]
    ([(0.1, 50), (0.2, 100), (math.inf, 100)], 0.5, 0.1),       # exactly a bound
    ([(0.1, 0), (0.2, 0), (math.inf, 10)], 0.95, 0.2),          # +Inf: highest finite bound
    ([(0.5, 10), (math.inf, 10)], 0.95, 0.475),                 # first bucket starts at 0
    ([(0.5, 0), (math.inf, 0)], 0.95, None),                    # no observations
])
def test_quantile_follows_histogram_quantile(buckets: list[tuple[float, float]], q: float,
                                             expected: float | None) -> None:
    got = quantile(q, buckets)
    assert got == expected if expected is None else got == pytest.approx(expected)


def test_subtract_treats_a_reset_as_a_new_start() -> None:
    assert subtract({1.0: 10, 2.0: 3}, {1.0: 4, 2.0: 5}) == {1.0: 6, 2.0: 3}


def test_exposition_reader_labels_escapes_and_specials() -> None:
    text = ('# HELP x y\n# TYPE m counter\n'
            'm_total{a="1",b="q\\"uote, x"} 3.0\n'
            'h_bucket{le="+Inf"} 7\nplain 2.5e-1 1700000000\nnan_metric NaN\n')
    samples = list(exposition.parse(text))
    assert samples[0].labels == {"a": "1", "b": 'q"uote, x'} and samples[0].value == 3.0
    assert samples[1].labels == {"le": "+Inf"} and samples[2].value == 0.25
    assert math.isnan(samples[3].value)
    with pytest.raises(ValueError, match="line 1 is not Prometheus text format"):
        list(exposition.parse("broken{"))


def test_snapshot_counts_inference_handlers_only() -> None:
    text = ('http_requests_total{handler="/v1/completions",method="POST",status="2xx"} 8\n'
            'http_requests_total{handler="/v1/completions",method="POST",status="5xx"} 2\n'
            'http_requests_total{handler="/v1/models",method="GET",status="2xx"} 50\n')
    snap = read_snapshot(text)
    assert (snap.requests, snap.errors) == (10, 2)


def stats(requests: int = 100, errors: int = 0, ttft: float | None = 0.02,
          e2e: float | None = 0.3, kv: float | None = 0.3) -> WindowStats:
    return WindowStats(requests, errors, ttft_p95=ttft, e2e_p95=e2e, kv_cache_usage=kv)


@pytest.mark.parametrize(("candidate", "verdict", "failing"), [
    (stats(), "pass", []),
    (stats(ttft=0.06), "fail", ["ttft_p95_ratio"]),
    (stats(errors=5), "fail", ["error_rate"]),          # 5 % is not below 5 %
    (stats(errors=4), "pass", []),
    (stats(e2e=0.9), "fail", ["e2e_p95_ratio"]),
    (stats(requests=10, errors=10), "insufficient", ["error_rate"]),  # too few: no verdict
    (stats(ttft=None), "insufficient", []),
    (stats(kv=0.95), "fail", ["kv_cache_usage"]),
])
def test_gate_verdicts(candidate: WindowStats, verdict: str, failing: list[str]) -> None:
    got, checks = evaluate(candidate, stats(), Thresholds(max_kv_cache_usage=0.9))
    assert got == verdict
    assert [c.name for c in checks if c.verdict == "fail"] == failing


def test_settings_are_validated_with_the_field_named() -> None:
    with pytest.raises(SpecError, match=r"gates\.max_error_rate"):
        Thresholds(max_error_rate=0)
    with pytest.raises(SpecError, match=r"gates\.min_request"):
        Thresholds.from_dict({"min_request": 3})
    with pytest.raises(SpecError, match="must rise strictly and end at 100"):
        CanaryConfig(steps=(50, 25, 100))
    assert parse_steps("10, 25,50") == (10, 25, 50, 100)
    with pytest.raises(SpecError, match="must be integers"):
        parse_steps("10,ten")


class _Traffic:
    """A traffic control whose first step fails (records what was asked)."""

    def __init__(self) -> None:
        from inference_core.analysis.providers import VersionRef

        self.stable = VersionRef("ns", "svc", "s")
        self.candidate = VersionRef("ns", "svc", "c")
        self.calls: list[str] = []

    def split(self, percent: int) -> None:
        from inference_core.errors import ReadinessTimeout

        self.calls.append(f"split {percent}")
        raise ReadinessTimeout("route not ready in 1s")

    def promote(self) -> None:
        self.calls.append("promote")

    def rollback(self) -> str:
        self.calls.append("rollback")
        return "back"

    def current(self) -> dict[str, int]:
        return {"s": 100}


def test_a_step_that_does_not_take_effect_rolls_back(fake_clock: object) -> None:
    from inference_core.analysis.canary import run_canary
    from inference_core.analysis.errors import CanaryFailed
    from inference_core.analysis.scrape import DirectScrapeProvider

    traffic = _Traffic()
    with pytest.raises(CanaryFailed) as err:
        run_canary(traffic, DirectScrapeProvider({}), CanaryConfig(), clock=fake_clock)
    assert err.value.reason == "step-failed" and traffic.calls == ["split 10", "rollback"]
    assert "route not ready" in str(err.value)
