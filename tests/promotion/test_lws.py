"""LeaderWorkerSets through the data plane: the leader Service routes to the ready leader
pods, pooled per template revision and weighted by groups; the smoke test's group endpoint."""

from __future__ import annotations

from inference_core.smoke.checks import SmokeCheck
from inference_core.smoke.runner import run_smoke
from inference_core.smoke.target import served_model, smoke_url
from inference_core.spec.loader import parse_spec
from tests.promotion.cluster import PROJECT, Bed

HOST = f"big-leader.{PROJECT}.svc.cluster.local"


def lws_spec(replicas: int) -> object:
    return parse_spec({
        "apiVersion": "inference-stacks/v1alpha1", "kind": "DistributedInference",
        "metadata": {"name": "big", "project": PROJECT},
        "spec": {"model": {"id": "acme/big-70b", "servedModelName": "big"},
                 "multiNode": "native", "leader": {"compute": {"gpuDevices": 1}},
                 "workers": {"count": 1, "compute": {"gpuDevices": 1}},
                 "replicas": replicas}})


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
