"""The canary with a real Prometheus (Debian's package) scraping the fake vLLM servers through
file-based service discovery: PromQL over HTTP decides, as in production."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inference_core.analysis.canary import CanaryConfig, run_canary
from inference_core.analysis.errors import CanaryFailed
from inference_core.analysis.gates import Thresholds
from inference_core.analysis.load import LoadGenerator
from inference_core.analysis.prometheus import PrometheusProvider
from inference_core.analysis.traffic import KnativeTraffic
from inference_sandbox.dataplane.prometheus import LocalPrometheus, prometheus_binary
from tests.helpers import require_real
from tests.promotion.cluster import HOST, MODEL, PROJECT, URL, Bed

pytestmark = pytest.mark.real
CONFIG = CanaryConfig(steps=(25, 50, 100), bake_s=5, max_wait_s=15,
                      thresholds=Thresholds(min_requests=10))


@pytest.fixture
def prom(bed: Bed) -> Iterator[LocalPrometheus]:
    require_real("prometheus", prometheus_binary())
    with LocalPrometheus(bed.sd_file, scrape_interval="1s").running() as p:
        yield p


def scraped(provider: PrometheusProvider, bed: Bed, revisions: list[str]) -> bool:
    """Prometheus's latest samples equal what each server counted."""
    import time

    for rev in revisions:
        server = bed.plane.server(PROJECT, rev)
        assert server is not None
        up = provider.query(f'sum(up{{revision="{rev}"}})', time.time())
        got = provider.query(f'sum(http_requests_total{{namespace="{PROJECT}",'
                             f'revision="{rev}"}}) or vector(0)', time.time())
        if up != 1 or got is None or int(got) != server.requests:
            return False
    return True


def wait_scraped(provider: PrometheusProvider, bed: Bed, revisions: list[str]) -> None:
    from inference_sandbox.testing import wait_for

    wait_for(lambda: scraped(provider, bed, revisions), timeout=60, interval=0.2,
             what="Prometheus to scrape the servers' latest counters")


def canary(bed: Bed, prom: LocalPrometheus, fake_clock: Any,
           candidate_env: dict[str, str]) -> Any:
    bed.deploy({"FAKE_TTFT_MS": "15"})
    bed.deploy({"FAKE_TTFT_MS": "15", **candidate_env}, candidate_tag="candidate",
               rollout_id="c1")
    traffic = KnativeTraffic(bed.engine, "chat", PROJECT, rollout_id="c1", timeout_s=60)
    revisions = [traffic.stable.revision, traffic.candidate.revision]
    provider = PrometheusProvider(prom.url)
    wait_scraped(provider, bed, revisions)  # both targets discovered and scraped
    load = LoadGenerator(URL, model=MODEL, connect_to=bed.plane.connect_to, rate=10_000)

    def bake(seconds: float, percent: int) -> None:
        bed.wait_routes(HOST, bed.routed())
        load.run(120, requests=200)
        wait_scraped(provider, bed, revisions)

    return run_canary(traffic, provider, CONFIG, bake=bake, clock=fake_clock)


def test_equal_candidate_promoted_on_promql(bed: Bed, prom: LocalPrometheus,
                                            fake_clock: Any) -> None:
    record = canary(bed, prom, fake_clock, {"MODEL_VERSION": "2"})
    assert record.outcome == "promoted" and record.provider == "prometheus"
    assert all(s.verdict == "pass" for s in record.steps), [s.to_dict() for s in record.steps]
    assert bed.routed() == {"chat-00002": 100}


def test_slow_candidate_rolled_back_on_promql(bed: Bed, prom: LocalPrometheus,
                                              fake_clock: Any) -> None:
    with pytest.raises(CanaryFailed) as err:
        canary(bed, prom, fake_clock, {"FAKE_TTFT_MS": "45"})
    record = err.value.record
    assert err.value.reason == "breach" and [s["percent"] for s in record["steps"]] == [25]
    checks = {c["name"]: c for c in record["steps"][0]["checks"]}
    assert checks["ttft_p95_ratio"]["verdict"] == "fail"
    assert checks["ttft_p95_ratio"]["value"] > 2
    assert bed.routed() == {"chat-00001": 100}


def test_prometheus_stopped_fails_without_promotion(bed: Bed, prom: LocalPrometheus,
                                                    fake_clock: Any) -> None:
    bed.deploy({"FAKE_TTFT_MS": "15"})
    bed.deploy({"MODEL_VERSION": "2"}, candidate_tag="candidate", rollout_id="c1")
    traffic = KnativeTraffic(bed.engine, "chat", PROJECT, rollout_id="c1", timeout_s=60)
    provider = PrometheusProvider(prom.url, timeout=5)
    prom.stop()
    with pytest.raises(CanaryFailed) as err:
        run_canary(traffic, provider, CONFIG, clock=fake_clock)
    assert err.value.reason == "metrics-unavailable"
    assert "is not reachable" in str(err.value)
    assert bed.routed() == {"chat-00001": 100}
