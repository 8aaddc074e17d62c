"""Kubelet and scheduler details a first deploy meets: missing Secret/ConfigMap references,
QoS classes, and PodGroups owned by (and removed with) their workload."""

from __future__ import annotations

from kubernetes import client

from inference_sandbox.config import KaiQueue
from inference_sandbox.controllers.podrefs import container_config_error, qos_class
from inference_sandbox.testing import wait_for
from tests.sandbox.util import LWS, Clients, lws

PG = ("scheduling.run.ai", "v2alpha2", "podgroups")


def _pod(name: str, container: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox:1", **container}]}}


def _waiting(k: Clients, name: str) -> dict | None:
    pod = k.core.read_namespaced_pod(name, "default")
    for status in pod.status.container_statuses or []:
        if status.state and status.state.waiting:
            return {"reason": status.state.waiting.reason,
                    "message": status.state.waiting.message}
    return None


def test_missing_secret_is_create_container_config_error_until_the_secret_exists(sandbox):
    k = Clients(sandbox)
    k.core.create_namespaced_pod("default", _pod("needs-token", {"env": [
        {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-credentials",
                                                            "key": "token"}}}]}))
    waiting = wait_for(lambda: (w := _waiting(k, "needs-token")) and
                       w["reason"] == "CreateContainerConfigError" and w,
                       what="CreateContainerConfigError")
    assert waiting["message"] == 'secret "hf-credentials" not found'
    pod = k.core.read_namespaced_pod("needs-token", "default")
    assert pod.status.phase == "Pending"
    events = wait_for(lambda: [e for e in k.events(reason="Failed")
                               if e.involved_object.name == "needs-token"], what="event")
    assert events[0].message == 'Error: secret "hf-credentials" not found'
    assert events[0].type == "Warning"
    k.core.create_namespaced_secret("default", client.V1Secret(
        metadata=client.V1ObjectMeta(name="hf-credentials"), string_data={"other": "x"}))
    waiting = wait_for(lambda: (w := _waiting(k, "needs-token")) and
                       w["message"].startswith("couldn't find key") and w, what="missing key")
    assert waiting["message"] == "couldn't find key token in Secret default/hf-credentials"
    k.core.patch_namespaced_secret("hf-credentials", "default", {"stringData": {"token": "t"}})
    wait_for(lambda: k.core.read_namespaced_pod("needs-token", "default").status.phase
             == "Running", what="Running once the key exists")


def test_optional_and_configmap_references():
    present = {("ConfigMap", "cfg"): {"data": {"a": "1"}}}

    def lookup(kind: str, name: str) -> dict | None:
        return present.get((kind, name))

    assert container_config_error({"envFrom": [{"configMapRef": {"name": "nope"}}]}, "ns",
                                  lookup) == 'configmap "nope" not found'
    assert container_config_error({"envFrom": [{"secretRef": {"name": "nope",
                                                              "optional": True}}]},
                                  "ns", lookup) is None
    assert container_config_error({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {
        "name": "cfg", "key": "a"}}}]}, "ns", lookup) is None
    assert container_config_error({"env": [{"name": "A", "valueFrom": {"configMapKeyRef": {
        "name": "cfg", "key": "b"}}}]}, "ns", lookup) == \
        "couldn't find key b in ConfigMap ns/cfg"


def test_qos_class_follows_requests_and_limits(sandbox):
    k = Clients(sandbox)
    cases = {
        "best-effort": {},
        "burstable": {"resources": {"requests": {"cpu": "100m"}}},
        "gpu-only": {"resources": {"limits": {"nvidia.com/gpu": "1"}}},
        "guaranteed": {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
        "guaranteed-eq": {"resources": {"requests": {"cpu": "1000m", "memory": "1Gi"},
                                        "limits": {"cpu": "1", "memory": "1Gi"}}},
        "unequal": {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                                  "limits": {"cpu": "1", "memory": "1Gi"}}},
    }
    expected = {"best-effort": "BestEffort", "burstable": "Burstable", "gpu-only": "BestEffort",
                "guaranteed": "Guaranteed", "guaranteed-eq": "Guaranteed",
                "unequal": "Burstable"}
    for name, container in cases.items():
        created = k.core.create_namespaced_pod("default", _pod(name, container))
        assert created.status.qos_class == expected[name], name
    two = {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}},
                          {"name": "b"}]}
    assert qos_class(two) == "Burstable"


def test_podgroup_is_owned_by_its_leaderworkerset_and_goes_with_it(sandbox_factory):
    sb = sandbox_factory(queues=[KaiQueue("team-a", gpu_quota=-1, gpu_limit=-1)])
    k = Clients(sb)
    body = lws("dist", size=2, gpus=1)
    template = body["spec"]["leaderWorkerTemplate"]["workerTemplate"]
    template["metadata"] = {"labels": {"kai.scheduler/queue": "team-a"}}
    template["spec"]["schedulerName"] = "kai-scheduler"
    created = k.create(LWS, body)

    def groups() -> list[dict]:
        return k.custom.list_namespaced_custom_object(*PG[:2], "default", PG[2])["items"]

    (group,) = wait_for(groups, what="PodGroup")
    (owner,) = group["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == \
        ("LeaderWorkerSet", "dist", created["metadata"]["uid"])
    k.custom.delete_namespaced_custom_object(*LWS[:2], "default", LWS[2], "dist")
    wait_for(lambda: groups() == [], what="PodGroup garbage-collected")
