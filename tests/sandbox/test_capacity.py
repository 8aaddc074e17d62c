"""GPU capacity model: nodes, placement, KAI pod groups, gangs and queue quotas."""

from __future__ import annotations

from inference_sandbox import GpuNode, KaiQueue
from inference_sandbox.testing import wait_for
from tests.sandbox.util import KSVC, LWS, Clients, ksvc, lws

PG = ("scheduling.run.ai", "v2alpha2", "podgroups")


def _pod(name, gpus, **spec):
    return {"metadata": {"name": name, **spec.pop("meta", {})}, "spec": {
        "containers": [{"name": "c", "image": "busybox:1",
                        "resources": {"limits": {"nvidia.com/gpu": str(gpus)}}}], **spec}}


def _scheduled(k, name):
    pod = k.core.read_namespaced_pod(name, "default")
    return next((c for c in pod.status.conditions or [] if c.type == "PodScheduled"), None)


def test_nodes_expose_gpu_capacity(sandbox_factory):
    k = Clients(sandbox_factory(gpu_nodes=[GpuNode("a", gpus=4, labels={"pool": "x"})]))
    (node,) = k.core.list_node().items
    assert node.status.allocatable["nvidia.com/gpu"] == "4"
    assert node.metadata.labels["pool"] == "x"


def test_pods_fill_nodes_then_become_unschedulable(sandbox_factory):
    k = Clients(sandbox_factory(gpu_nodes=[GpuNode("a", gpus=4), GpuNode("b", gpus=4)]))
    for name in ("p1", "p2"):
        k.core.create_namespaced_pod("default", _pod(name, 4))
    k.core.create_namespaced_pod("default", _pod("p3", 1))
    cond = wait_for(lambda: (c := _scheduled(k, "p3")) and c.status == "False" and c,
                    what="p3 unschedulable")
    assert cond.reason == "Unschedulable"
    assert cond.message == "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."
    nodes = {k.core.read_namespaced_pod(n, "default").spec.node_name for n in ("p1", "p2")}
    assert nodes == {"a", "b"}
    k.core.delete_namespaced_pod("p1", "default")
    wait_for(lambda: (c := _scheduled(k, "p3")) and c.status == "True", what="p3 scheduled")


def test_taints_and_selectors_are_reported(sandbox_factory):
    k = Clients(sandbox_factory(gpu_nodes=[
        GpuNode("a", gpus=8, taints=({"key": "gpu", "value": "h100", "effect": "NoSchedule"},)),
        GpuNode("b", gpus=8, labels={"pool": "x"})]))
    k.core.create_namespaced_pod("default", _pod("p", 1, nodeSelector={"pool": "y"}))
    cond = wait_for(lambda: (c := _scheduled(k, "p")) and c.status == "False" and c)
    assert cond.message == ("0/2 nodes are available: 1 node(s) didn't match Pod's node "
                            "affinity/selector, 1 node(s) had untolerated taint {gpu: h100}.")


def test_gpu_fraction_annotation_shares_a_device(sandbox_factory):
    k = Clients(sandbox_factory(gpu_nodes=[GpuNode("a", gpus=1)]))
    for name in ("half-1", "half-2", "half-3"):
        k.core.create_namespaced_pod("default", {
            "metadata": {"name": name, "annotations": {"gpu-fraction": "0.5"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}})
    wait_for(lambda: _scheduled(k, "half-3") is not None)
    states = [_scheduled(k, n).status for n in ("half-1", "half-2", "half-3")]
    assert sorted(states) == ["False", "True", "True"]


def test_kai_queue_quota_blocks_non_preemptible_inference(sandbox_factory):
    sb = sandbox_factory(queues=[KaiQueue("team-a", gpu_quota=1, gpu_limit=0)],
                         features={"kubernetes.podspec-schedulername": "enabled"})
    k = Clients(sb)
    body = ksvc("llm", gpus=2)
    body["spec"]["template"]["metadata"] = {"labels": {"kai.scheduler/queue": "team-a"}}
    body["spec"]["template"]["spec"]["schedulerName"] = "kai-scheduler"
    k.create(KSVC, body)
    pod = wait_for(lambda: [p for p in k.pods("serving.knative.dev/service=llm")
                            if any(c.type == "PodScheduled" and c.status == "False"
                                   for c in p.status.conditions or [])], what="blocked pod")[0]
    message = next(c.message for c in pod.status.conditions if c.type == "PodScheduled")
    assert message == (
        "NonPreemptibleOverQuota: Non-preemptible workload is over quota. Workload requested 2 "
        "GPUs, but team-a quota is 1 GPUs, while 0 GPUs are already allocated for "
        "non-preemptible pods. Use a preemptible workload to go over quota.")
    groups = k.custom.list_namespaced_custom_object(*PG[:2], "default", PG[2])["items"]
    assert groups[0]["metadata"]["name"].startswith("pg-llm-00001-")
    assert groups[0]["spec"]["priorityClassName"] == "inference"
    assert groups[0]["spec"]["queue"] == "team-a"
    events = k.events(reason="Unschedulable")
    assert events and events[0].source.component == "kai-scheduler"


def test_lws_group_is_gang_scheduled(sandbox_factory):
    sb = sandbox_factory(gpu_nodes=[GpuNode("a", gpus=2)],
                         queues=[KaiQueue("team-a", gpu_quota=-1, gpu_limit=-1)])
    k = Clients(sb)
    body = lws("dist", size=3, gpus=1)
    template = body["spec"]["leaderWorkerTemplate"]["workerTemplate"]
    template["metadata"] = {"labels": {"kai.scheduler/queue": "team-a"}}
    template["spec"]["schedulerName"] = "kai-scheduler"
    k.create(LWS, body)
    pods = wait_for(lambda: (ps := k.pods("leaderworkerset.sigs.k8s.io/name=dist")) and
                    len(ps) == 3 and all(_scheduled(k, p.metadata.name) for p in ps) and ps,
                    what="three pods considered")
    assert all(p.spec.node_name is None for p in pods)  # 3 GPUs needed, 2 exist: none placed
    (group,) = k.custom.list_namespaced_custom_object(*PG[:2], "default", PG[2])["items"]
    assert group["spec"]["minMember"] == 3
    assert group["metadata"]["name"].endswith("-group-0")
    assert group["spec"]["priorityClassName"] == "train"
