"""End to end: the rolling-update operator's capacity preflight, through ``dag.test()`` of
the DAGs in ``e2e_dags/e2e_capacity.py``, against a sandbox scheduling with KAI whose queue
holds the running workload but not the surge of its update.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from inference_core.profile import load_profile
from inference_sandbox.config import KaiQueue
from tests.airflow.conftest import connection_env
from tests.airflow.test_e2e_faults import failure, run

NS = "capacity"  # project, namespace and KAI queue
LWS = ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
KSVC = ("serving.knative.dev/v1", "Service")
REVISION = ("serving.knative.dev/v1", "Revision")
OLD, NEW = "registry.example.com/acme/ranker:1", "registry.example.com/acme/ranker:2"

pytestmark = pytest.mark.timeout(120)


def kai_sandbox(sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch, gpu_quota: int) -> Any:
    """A sandbox with the ``kai`` profile's Knative features and one queue (no over-quota)."""
    sb = sandbox_factory(namespaces=[NS], features=load_profile("kai").knative.features,
                         queues=[KaiQueue(NS, gpu_quota=gpu_quota, gpu_limit=0)])
    monkeypatch.setenv("AIRFLOW_CONN_KUBERNETES_DEFAULT", connection_env(sb.kubeconfig_path))
    return sb


@pytest.fixture
def lws_cluster(airflow_db: float, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch
                ) -> Iterator[Any]:
    """Quota 4 GPUs: the LWS (2 groups x 2 pods x 1 GPU) fits, its one-group surge does not."""
    sb = kai_sandbox(sandbox_factory, monkeypatch, gpu_quota=4)
    assert run("e2e_capacity_lws_deploy").succeeded
    yield sb


def images(lws: dict[str, Any]) -> set[str]:
    template = lws["spec"]["leaderWorkerTemplate"]
    return {c["image"] for part in ("leaderTemplate", "workerTemplate")
            for c in template[part]["spec"]["containers"]}


def lws_applies(sb: Any, name: str) -> list[Any]:
    return [r for r in sb.requests.find("patch", resource="leaderworkersets", name=name)
            if r.is_apply]


def test_lws_update_refused_when_the_surge_does_not_fit(lws_cluster: Any) -> None:
    before = lws_cluster.store.get(LWS, NS, "ranker")
    assert images(before) == {OLD}
    lws_cluster.requests.clear()
    result = run("e2e_capacity_lws_update")
    error = failure(result, "rolling_update")
    assert error.error_type == "InsufficientQuota"
    assert (
        "queue 'capacity': the update of 'ranker' needs 6 GPUs at its peak (4 running + 2 "
        "surge), but only 4 in-quota GPUs are available to it (quota 4, limit none beyond "
        "quota, 4 used by the project's pods, 4 of them by this workload); short by 2. "
        "The update would hang with its surge pods pending. Allow a capacity dip to roll with "
        "maxSurge 0, maxUnavailable 1"
    ) in error.message
    # The preflight read the queue and refused before anything was applied.
    assert lws_cluster.requests.find("get", path=f"/apis/scheduling.run.ai/v2/queues/{NS}")
    assert lws_applies(lws_cluster, "ranker") == []
    after = lws_cluster.store.get(LWS, NS, "ranker")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"] and images(after) == {OLD}


def test_lws_update_with_a_capacity_dip_rolls_in_place(
    lws_cluster: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    before = lws_cluster.store.get(LWS, NS, "ranker")
    caplog.set_level(logging.INFO, logger="airflow_provider")
    result = run("e2e_capacity_lws_update_dip")
    assert result.succeeded, (result.task_states, result.errors)
    summary = result.returns["rolling_update"]
    assert (summary["kind"], summary["name"], summary["state"]) == \
        ("LeaderWorkerSet", "ranker", "ready")
    after = lws_cluster.store.get(LWS, NS, "ranker")
    assert after["metadata"]["generation"] == before["metadata"]["generation"] + 1
    assert summary["generation"] == after["metadata"]["generation"]
    assert images(after) == {NEW}
    assert after["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"] == \
        {"maxSurge": 0, "maxUnavailable": 1, "partition": 0}
    applied = lws_applies(lws_cluster, "ranker")[-1].body
    assert applied["spec"]["rolloutStrategy"]["rollingUpdateConfiguration"]["maxSurge"] == 0
    dip = [r.getMessage() for r in caplog.records
           if "capacity will dip during the update of 'ranker'" in r.getMessage()]
    assert dip and "maxSurge 0, maxUnavailable 1" in dip[0], dip
    assert "up to 1 of 2 replica(s) will be down at a time" in dip[0]


def test_knative_update_refused_on_quota(airflow_db: float, sandbox_factory: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    sb = kai_sandbox(sandbox_factory, monkeypatch, gpu_quota=1)
    deployed = run("e2e_capacity_knative_deploy")
    assert deployed.succeeded, (deployed.task_states, deployed.errors)
    before = sb.store.get(KSVC, NS, "solo")
    revisions = {r["metadata"]["name"] for r in sb.store.list(REVISION, NS)}
    expected = (
        "queue 'capacity': the update of 'solo' needs 2 GPUs at its peak (1 running + 1 "
        "surge), but only 1 in-quota GPUs are available to it (quota 1, limit none beyond "
        "quota, 1 used by the project's pods, 1 of them by this workload); short by 1. "
        "A Knative revision starts its new pods before the old ones stop, so the update "
        "needs both at once; there is no in-place rollout."
    )
    # A capacity dip does not help Knative: its update is refused either way.
    for dag_id in ("e2e_capacity_knative_update", "e2e_capacity_knative_update_dip"):
        error = failure(run(dag_id), "rolling_update")
        assert error.error_type == "InsufficientQuota"
        assert expected in error.message, error.message
    after = sb.store.get(KSVC, NS, "solo")
    assert after["metadata"]["generation"] == before["metadata"]["generation"]
    assert after["spec"] == before["spec"]
    assert {r["metadata"]["name"] for r in sb.store.list(REVISION, NS)} == revisions
