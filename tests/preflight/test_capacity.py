"""Capacity preflight arithmetic (pure) and reading queue state through a ClusterReader."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.errors import InsufficientQuota
from inference_core.preflight import (
    GpuDemand,
    QueueState,
    check_capacity,
    pod_gpus,
    read_queue_state,
)
from inference_core.preflight.cluster import gpus_in_use, pod_non_preemptible


def test_deploy_fits_in_quota() -> None:
    report = check_capacity(QueueState("team-a", quota_gpus=4, used_gpus=1),
                            GpuDemand("llama", replica_gpus=2, target_replicas=1))
    assert (report.operation, report.peak_gpus, report.free_gpus_after) == ("deploy", 2, 1)
    assert report.suggested_rollout is None and report.warnings == ()


def test_deploy_over_quota_refused_with_numbers() -> None:
    with pytest.raises(InsufficientQuota) as err:
        check_capacity(QueueState("team-a", quota_gpus=4, used_gpus=3),
                       GpuDemand("llama", replica_gpus=2, target_replicas=1))
    msg = str(err.value)
    assert ("queue 'team-a': the deploy of 'llama' needs 2 GPUs at its peak (2 new), but only 1 "
            "GPUs are available to it (quota 4, limit none beyond quota, 3 used by the project's "
            "pods, 0 of them by this workload); short by 1") in msg
    assert "Raise the quota or limit of queue 'team-a'" in msg


def test_preemptible_may_use_over_quota_up_to_limit() -> None:
    queue = QueueState("team-a", quota_gpus=2, limit_gpus=6, used_gpus=2)
    report = check_capacity(queue, GpuDemand("batch", replica_gpus=4, target_replicas=1))
    assert report.ceiling_gpus == 6 and report.free_gpus_after == 0
    unlimited = QueueState("team-a", quota_gpus=2, limit_gpus=-1, used_gpus=2)
    assert check_capacity(unlimited, GpuDemand("b", replica_gpus=64, target_replicas=1))


def test_non_preemptible_only_in_quota() -> None:
    queue = QueueState("team-a", quota_gpus=2, limit_gpus=6, used_gpus=2,
                       used_non_preemptible_gpus=2)
    with pytest.raises(InsufficientQuota) as err:
        check_capacity(queue, GpuDemand("serve", replica_gpus=1, target_replicas=1,
                                        non_preemptible=True))
    msg = str(err.value)
    assert "only 0 in-quota GPUs are available to it" in msg
    assert "Raise the quota of queue 'team-a'" in msg
    assert "Non-preemptible workloads (priority >= 100) may only use in-quota GPUs" in msg


def test_non_preemptible_counts_only_non_preemptible_usage() -> None:
    queue = QueueState("team-a", quota_gpus=4, limit_gpus=0, used_gpus=4,
                       used_non_preemptible_gpus=1)
    report = check_capacity(queue, GpuDemand("serve", replica_gpus=2, target_replicas=1,
                                             non_preemptible=True))
    assert report.free_gpus_after == 1
    assert any("may only use the queue's in-quota GPUs (4)" in n for n in report.notes)
    assert any("3 GPU(s) of preemptible workloads in the queue may be preempted" in n
               for n in report.notes)


def test_unlimited_quota() -> None:
    queue = QueueState("team-a", quota_gpus=-1, used_gpus=100)
    report = check_capacity(queue, GpuDemand("x", replica_gpus=8, target_replicas=4,
                                             non_preemptible=True))
    assert report.ceiling_gpus == float("inf")


def test_knative_update_of_one_gpu_service_refused() -> None:
    queue = QueueState("team-a", quota_gpus=1, used_gpus=1, used_non_preemptible_gpus=1)
    demand = GpuDemand("chat", replica_gpus=1, target_replicas=1, current_replicas=1,
                       rollout="blue-green", non_preemptible=True)
    for allow in (False, True):
        with pytest.raises(InsufficientQuota) as err:
            check_capacity(queue, demand, allow_capacity_dip=allow)
        msg = str(err.value)
        assert ("the update of 'chat' needs 2 GPUs at its peak (1 running + 1 surge), but only 1 "
                "in-quota GPUs are available to it") in msg
        assert "short by 1" in msg
        assert "there is no in-place rollout" in msg


def test_lws_surge_refused_or_rolled_in_place() -> None:
    queue = QueueState("team-a", quota_gpus=16, used_gpus=16)
    demand = GpuDemand("llama70b", replica_gpus=8, target_replicas=2, current_replicas=2,
                       max_surge=1)
    with pytest.raises(InsufficientQuota) as err:
        check_capacity(queue, demand)
    msg = str(err.value)
    assert "needs 24 GPUs at its peak (16 running + 8 surge)" in msg
    assert "The update would hang with its surge pods pending" in msg
    assert "Allow a capacity dip to roll with maxSurge 0, maxUnavailable 1" in msg
    report = check_capacity(queue, demand, allow_capacity_dip=True)
    assert report.suggested_rollout == {"maxSurge": 0, "maxUnavailable": 1}
    assert report.peak_gpus == 16
    assert "capacity will dip during the update of 'llama70b'" in report.warnings[0]
    assert "up to 1 of 2 replica(s) will be down at a time" in report.warnings[0]


def test_update_whose_end_state_does_not_fit_is_refused_even_with_dip() -> None:
    queue = QueueState("team-a", quota_gpus=8, used_gpus=8)
    demand = GpuDemand("llama", replica_gpus=4, target_replicas=3, current_replicas=2,
                       max_surge=1)
    with pytest.raises(InsufficientQuota, match=r"even the finished update \(12 GPUs\) does not "
                                                "fit"):
        check_capacity(queue, demand, allow_capacity_dip=True)


def test_peak_with_changing_gpus_per_replica() -> None:
    grow = GpuDemand("m", replica_gpus=2, current_replica_gpus=1, target_replicas=3,
                     current_replicas=3, max_surge=1)
    assert grow.peak_gpus() == max(3 + 2, 6 + 1)
    assert grow.peak_gpus(max_surge=0) == 6
    shrink = GpuDemand("m", replica_gpus=1, current_replica_gpus=4, target_replicas=2,
                       current_replicas=2, max_surge=2)
    assert shrink.peak_gpus() == max(8 + 2, 2 + 8)


def test_fractional_gpus() -> None:
    queue = QueueState("team-a", quota_gpus=1, used_gpus=0.5)
    assert check_capacity(queue, GpuDemand("s", replica_gpus=0.25, target_replicas=2))
    with pytest.raises(InsufficientQuota, match=r"needs 0\.75 GPUs at its peak"):
        check_capacity(queue, GpuDemand("s", replica_gpus=0.25, target_replicas=3))


# ------------------------------------------------------------------ pods and queues


def pod(name: str, *, gpus: int | str | None = None, queue: str = "team-a",
        phase: str = "Running", annotations: dict[str, str] | None = None,
        labels: dict[str, str] | None = None, spec: dict[str, Any] | None = None,
        init_gpus: int | None = None) -> dict[str, Any]:
    resources = {"limits": {"nvidia.com/gpu": str(gpus)}} if gpus is not None else {}
    body: dict[str, Any] = {"containers": [{"name": "main", "resources": resources}]}
    if init_gpus is not None:
        body["initContainers"] = [{"name": "i", "resources": {
            "requests": {"nvidia.com/gpu": init_gpus}}}]
    body.update(spec or {})
    return {"metadata": {"name": name, "labels": {"kai.scheduler/queue": queue, **(labels or {})},
                         "annotations": annotations or {}},
            "spec": body, "status": {"phase": phase}}


def test_pod_gpus_counts_whole_fraction_and_memory() -> None:
    assert pod_gpus(pod("a", gpus=2)) == 2
    assert pod_gpus(pod("b", gpus=1, init_gpus=3)) == 3
    assert pod_gpus(pod("c", annotations={"gpu-fraction": "0.5",
                                          "gpu-fraction-num-devices": "2"})) == 1.0
    mem = pod("d", annotations={"gpu-memory": "20480"})
    assert pod_gpus(mem, device_memory_mib=81920) == 0.25
    assert pod_gpus(mem) == 1  # unknown device size: conservative


def test_preemptibility_of_pods() -> None:
    assert pod_non_preemptible(pod("a", labels={"priorityClassName": "inference"}))
    assert not pod_non_preemptible(pod("b", labels={"priorityClassName": "train"}))
    assert pod_non_preemptible(pod("c", spec={"priority": 125}))
    assert not pod_non_preemptible(pod("d", labels={"kai.scheduler/preemptibility": "preemptible",
                                                    "priorityClassName": "inference"}))
    assert pod_non_preemptible(pod("e", labels={"serving.knative.dev/service": "chat"}))
    assert not pod_non_preemptible(pod("f"))


def test_gpus_in_use_skips_terminated_and_other_queues() -> None:
    pods = [pod("a", gpus=2, labels={"priorityClassName": "inference"}),
            pod("b", gpus=1, phase="Pending"),
            pod("c", gpus=4, phase="Succeeded"), pod("d", gpus=4, phase="Failed"),
            pod("e", gpus=8, queue="team-b")]
    assert gpus_in_use(pods, "team-a") == (3, 2)


class FakeReader:
    def __init__(self, queues: dict[str, dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        self.queues, self.pods = queues, pods
        self.calls: list[tuple[str, str | None]] = []

    def get_queue(self, name: str) -> dict[str, Any] | None:
        return self.queues.get(name)

    def list_pods(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        self.calls.append((namespace, label_selector))
        return self.pods


def test_read_queue_state_from_reader() -> None:
    queue = {"apiVersion": "scheduling.run.ai/v2", "kind": "Queue",
             "metadata": {"name": "team-a"},
             "spec": {"resources": {"gpu": {"quota": 4, "limit": -1, "overQuotaWeight": 1}}}}
    reader = FakeReader({"team-a": queue}, [pod("a", gpus=1, labels={
        "serving.knative.dev/service": "chat"}), pod("b", gpus=2)])
    state = read_queue_state(reader, "team-a", "runai-team-a")
    assert state == QueueState("team-a", 4, -1, 3, 1)
    assert reader.calls == [("runai-team-a", None)]


def test_read_queue_state_missing_queue() -> None:
    with pytest.raises(InsufficientQuota) as err:
        read_queue_state(FakeReader({}, []), "ghost", "ns")
    assert "queue 'ghost' does not exist (scheduling.run.ai/v2 Queue)" in str(err.value)
    assert "pods sent to it would stay pending" in str(err.value)
