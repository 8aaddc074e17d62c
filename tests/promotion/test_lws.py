"""LeaderWorkerSets through the data plane: the leader Service routes to the ready leader
pods, pooled per template revision and weighted by groups; the smoke test's group endpoint."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.analysis.canary import CanaryConfig, run_canary
from inference_core.analysis.errors import CanaryFailed
from inference_core.analysis.gates import Thresholds
from inference_core.analysis.load import LoadGenerator
from inference_core.analysis.lws_traffic import LwsPartitionTraffic
from inference_core.analysis.scrape import DirectScrapeProvider, file_sd_targets
from inference_core.smoke.checks import SmokeCheck
from inference_core.smoke.runner import run_smoke
from inference_core.smoke.target import served_model, smoke_url
from inference_core.spec.loader import parse_spec
from tests.promotion.cluster import PROJECT, Bed

HOST = f"big-leader.{PROJECT}.svc.cluster.local"


def lws_spec(replicas: int, env: dict[str, str] | None = None, partition: int = 0) -> Any:
    return parse_spec({
        "apiVersion": "inference-stacks/v1alpha1", "kind": "DistributedInference",
        "metadata": {"name": "big", "project": PROJECT},
        "spec": {"model": {"id": "acme/big-70b", "servedModelName": "big"},
                 "multiNode": "native",
                 "leader": {"compute": {"gpuDevices": 1},
                            "env": [{"name": k, "value": v} for k, v in (env or {}).items()]},
                 "workers": {"count": 1, "compute": {"gpuDevices": 1}},
                 "replicas": replicas, "rollout": {"partition": partition}}})


def test_leader_service_routes_groups_and_the_smoke_test_passes(bed: Bed) -> None:
    bed.engine.deploy(lws_spec(2), wait=True, timeout_s=90)
    live = bed.client.get("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "big", PROJECT)
    assert live is not None
    url = smoke_url(live)
    assert url.startswith(f"http://{HOST}:")
    assert bed.plane.wait_until(lambda p: sum(p.routes(HOST).values()) == 2, 60), \
        bed.plane.routes(HOST)
    [(revision, groups)] = bed.plane.routes(HOST).items()  # one template revision, 2 groups
    assert groups == 2 and bed.plane.server(PROJECT, revision) is not None
    assert served_model(live) == "big"
    report = run_smoke(url, SmokeCheck(model="big", expect_contains="Paris", attempts=2,
                                       retry_delay_s=0.5), connect_to=bed.plane.connect_to)
    assert report.ok


def staged(bed: Bed, candidate_env: dict[str, str]) -> LwsPartitionTraffic:
    """Stable on 4 groups; the candidate applied with partition 4 (no group updated)."""
    bed.engine.deploy(lws_spec(4, {"FAKE_TTFT_MS": "15"}), wait=True, timeout_s=120)
    bed.engine.deploy(lws_spec(4, {"FAKE_TTFT_MS": "15", **candidate_env}, partition=4),
                      rollout_id="lws-c1")
    return LwsPartitionTraffic(bed.engine, "big", PROJECT, rollout_id="lws-c1", timeout_s=120,
                               poll_s=0.05)


def lws_canary(bed: Bed, traffic: LwsPartitionTraffic, fake_clock: Any) -> Any:
    live = bed.client.get("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet", "big", PROJECT)
    load = LoadGenerator(smoke_url(live), model="big", connect_to=bed.plane.connect_to,
                         rate=10_000)

    def bake(seconds: float, percent: int) -> None:
        groups = traffic.current()
        assert bed.plane.wait_until(lambda p: p.routes(HOST) == {
            h: round(n * 4 / 100) for h, n in groups.items()}, 60), bed.plane.routes(HOST)
        load.run(120, requests=300)

    config = CanaryConfig(steps=(25, 50, 100), bake_s=30, max_wait_s=60,
                          thresholds=Thresholds(min_requests=20))
    return run_canary(traffic, DirectScrapeProvider(file_sd_targets(bed.sd_file)), config,
                      bake=bake, clock=fake_clock)


def test_partitioned_canary_promotes_an_equal_candidate(bed: Bed, fake_clock: Any) -> None:
    traffic = staged(bed, {"MODEL_VERSION": "2"})
    stable = traffic.stable.revision
    record = lws_canary(bed, traffic, fake_clock)
    assert record.outcome == "promoted"
    assert [s.percent for s in record.steps] == [25, 50]
    assert record.candidate != stable and traffic.current() == {record.candidate: 100}


def test_partitioned_canary_rolls_back_a_slow_candidate(bed: Bed, fake_clock: Any) -> None:
    traffic = staged(bed, {"FAKE_TTFT_MS": "45"})
    stable = traffic.stable.revision
    with pytest.raises(CanaryFailed) as err:
        lws_canary(bed, traffic, fake_clock)
    record = err.value.record
    assert err.value.reason == "breach" and [s["percent"] for s in record["steps"]] == [25]
    checks = {c["name"]: c for c in record["steps"][0]["checks"]}
    assert checks["ttft_p95_ratio"]["verdict"] == "fail"
    assert traffic.current() == {stable: 100}


def test_canary_cli_walks_an_lws_partition_and_promotes(bed: Bed) -> None:
    import json

    from tests.promotion.test_cli import cli

    traffic = staged(bed, {"MODEL_VERSION": "2"})
    result = cli(bed, "canary", "big", "--targets-file", str(bed.sd_file), "--steps", "50",
                 "--bake", "1", "--max-wait", "20", "--min-requests", "5", "--load-rps", "200",
                 "--rollout-id", "lws-c1", "-o", "json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["outcome"] == "promoted" and record["stable"] == traffic.stable.revision
    assert traffic.current() == {record["candidate"]: 100}
