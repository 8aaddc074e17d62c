"""Metric-gated canary through the rollout engine and the data plane, scraping the fake
vLLM servers directly. Time is a fake clock; each bake sends a fixed number of requests
through the Service URL (so the candidate gets its traffic share), no sleeps."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.analysis.canary import CanaryConfig, run_canary
from inference_core.analysis.errors import CanaryFailed
from inference_core.analysis.gates import Thresholds
from inference_core.analysis.load import LoadGenerator
from inference_core.analysis.prometheus import PrometheusProvider
from inference_core.analysis.scrape import DirectScrapeProvider, file_sd_targets
from inference_core.analysis.traffic import KnativeTraffic
from tests.promotion.cluster import HOST, MODEL, PROJECT, URL, Bed

CONFIG = CanaryConfig(steps=(10, 25, 50, 100), bake_s=30, max_wait_s=90,
                      thresholds=Thresholds(min_requests=20))


def setup(bed: Bed, candidate_env: dict[str, str]) -> KnativeTraffic:
    bed.deploy({"FAKE_TTFT_MS": "15"})
    bed.deploy({"FAKE_TTFT_MS": "15", **candidate_env}, candidate_tag="candidate",
               rollout_id="cand-1")
    return KnativeTraffic(bed.engine, "chat", PROJECT, rollout_id="cand-1", timeout_s=60)


def baker(bed: Bed, per_bake: int = 400) -> Any:
    load = LoadGenerator(URL, model=MODEL, connect_to=bed.plane.connect_to, rate=10_000,
                         concurrency=4)
    calls: list[int] = []

    def bake(seconds: float, percent: int) -> None:
        routed = {k: v for k, v in bed.routed().items()}
        bed.wait_routes(HOST, routed)  # the ingress has the step's split before load
        calls.append(percent)
        load.run(120, requests=per_bake)

    bake.calls = calls  # type: ignore[attr-defined]
    return bake


def scrape(bed: Bed) -> DirectScrapeProvider:
    return DirectScrapeProvider(file_sd_targets(bed.sd_file))


def test_equal_candidate_is_promoted_step_by_step(bed: Bed, fake_clock: Any) -> None:
    traffic = setup(bed, {"MODEL_VERSION": "2"})
    assert (traffic.stable.revision, traffic.candidate.revision) == ("chat-00001", "chat-00002")
    bake = baker(bed)
    record = run_canary(traffic, scrape(bed), CONFIG, bake=bake, clock=fake_clock)
    assert record.outcome == "promoted"
    assert [(s.percent, s.verdict) for s in record.steps] == [(10, "pass"), (25, "pass"),
                                                              (50, "pass")]
    assert bed.routed() == {"chat-00002": 100}
    assert fake_clock.sleeps == []  # the bake did the waiting (here: sent the load)
    first = record.steps[0]
    assert first.candidate["requests"] >= 20 and first.stable["requests"] >= 20
    shares = [s.candidate["requests"] / (s.candidate["requests"] + s.stable["requests"])
              for s in record.steps]
    assert shares[0] < shares[1] < shares[2]  # the traffic really moved


def test_slow_candidate_is_rolled_back_at_the_first_step(bed: Bed, fake_clock: Any) -> None:
    traffic = setup(bed, {"FAKE_TTFT_MS": "45"})
    with pytest.raises(CanaryFailed) as err:
        run_canary(traffic, scrape(bed), CONFIG, bake=baker(bed), clock=fake_clock)
    record = err.value.record
    assert err.value.reason == "breach" and record["outcome"] == "rolled-back"
    assert [s["percent"] for s in record["steps"]] == [10]
    checks = {c["name"]: c for c in record["steps"][0]["checks"]}
    assert checks["ttft_p95_ratio"]["verdict"] == "fail"
    assert 2.5 < checks["ttft_p95_ratio"]["value"] < 3.5
    assert checks["error_rate"]["verdict"] == "pass"
    assert "ttft_p95_ratio" in str(err.value)
    assert bed.routed() == {"chat-00001": 100} == record["traffic"]
    bed.wait_routes(HOST, {"chat-00001": 100})

    # the next deploy after the rollback works, and its canary passes
    bed.deploy({"FAKE_TTFT_MS": "15", "MODEL_VERSION": "3"}, candidate_tag="candidate",
               rollout_id="cand-2")
    traffic = KnativeTraffic(bed.engine, "chat", PROJECT, rollout_id="cand-2", timeout_s=60)
    # the rollback re-applied the stable template (a new revision of the same config)
    assert traffic.stable.revision in ("chat-00001", "chat-00003")
    assert traffic.candidate.revision not in ("chat-00001", "chat-00002")
    record2 = run_canary(traffic, scrape(bed), CONFIG, bake=baker(bed), clock=fake_clock)
    assert record2.outcome == "promoted" and bed.routed() == {traffic.candidate.revision: 100}


def test_erroring_candidate_breaches_the_error_rate(bed: Bed, fake_clock: Any) -> None:
    traffic = setup(bed, {"FAKE_ERROR_RATE": "0.1"})
    with pytest.raises(CanaryFailed) as err:
        run_canary(traffic, scrape(bed), CONFIG, bake=baker(bed), clock=fake_clock)
    checks = {c["name"]: c for c in err.value.record["steps"][0]["checks"]}
    assert checks["error_rate"]["verdict"] == "fail" and checks["error_rate"]["value"] >= 0.05
    assert bed.routed() == {"chat-00001": 100}


def test_too_few_requests_waits_then_fails_without_a_verdict(bed: Bed,
                                                              fake_clock: Any) -> None:
    traffic = setup(bed, {"MODEL_VERSION": "2"})
    bake = baker(bed, per_bake=30)  # ~3 candidate requests per bake at 10 %
    with pytest.raises(CanaryFailed) as err:
        run_canary(traffic, scrape(bed), CONFIG, bake=bake, clock=fake_clock)
    record = err.value.record
    assert err.value.reason == "insufficient-data"
    assert bake.calls == [10, 10, 10]  # extended twice: 3 x 30 s = max_wait 90 s
    assert [s["verdict"] for s in record["steps"]] == ["insufficient"] * 3
    assert "no verdict at 10% after 90s" in str(err.value)
    assert bed.routed() == {"chat-00001": 100}


def test_prometheus_down_fails_clearly_and_never_promotes(bed: Bed, fake_clock: Any) -> None:
    traffic = setup(bed, {"MODEL_VERSION": "2"})
    down = PrometheusProvider("http://127.0.0.1:9", timeout=2)
    with pytest.raises(CanaryFailed) as err:
        run_canary(traffic, down, CONFIG, bake=baker(bed), clock=fake_clock)
    assert err.value.reason == "metrics-unavailable"
    assert "Prometheus at http://127.0.0.1:9 is not reachable" in str(err.value)
    assert err.value.record["outcome"] == "rolled-back"
    assert bed.routed() == {"chat-00001": 100}
