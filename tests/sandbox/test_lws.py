"""The simulated LeaderWorkerSet controller: groups, env, startup, rolling updates, failures."""

from __future__ import annotations

import pytest

from inference_sandbox.testing import condition, condition_status, wait_for
from tests.sandbox.util import LWS, Clients, lws

P = "leaderworkerset.sigs.k8s.io/"
SELECTOR = f"{P}name=dist"


@pytest.fixture
def k(sandbox):
    return Clients(sandbox)


def _image(k, image, **kwargs):
    return k.patch(LWS, "dist", {"spec": {"leaderWorkerTemplate": {"workerTemplate": {"spec": {
        "containers": [{"name": "vllm", "image": image,
                        "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}}}}, **kwargs)


def _leader_deletions(sandbox):
    deleted: list[str] = []

    def listener(event):
        labels = event.obj["metadata"].get("labels") or {}
        if event.rt.kind == "Pod" and event.type == "DELETED" and \
                labels.get(P + "worker-index") == "0":
            deleted.append(event.obj["metadata"]["name"])

    sandbox.call(sandbox.store.add_listener, listener)
    return deleted


def test_groups_pods_labels_env_and_status(k):
    k.create(LWS, lws("dist", replicas=2, size=3))
    obj = k.wait_condition(LWS, "dist", "Available", "True")
    status = obj["status"]
    assert (status["replicas"], status["readyReplicas"], status["updatedReplicas"]) == (2, 2, 2)
    assert status["hpaPodSelector"] == f"{P}name=dist,{P}worker-index=0"
    available = condition(obj, "Available")
    assert (available["reason"], available["message"]) == ("AllGroupsReady",
                                                           "All replicas are ready")
    assert condition_status(obj, "Progressing") == "False"
    pods = {p.metadata.name: p for p in k.pods(SELECTOR)}
    assert sorted(pods) == ["dist-0", "dist-0-1", "dist-0-2", "dist-1", "dist-1-1", "dist-1-2"]
    worker = pods["dist-1-2"]
    assert worker.metadata.labels[P + "group-index"] == "1"
    assert worker.metadata.labels[P + "worker-index"] == "2"
    assert worker.metadata.labels[P + "group-key"] == \
        pods["dist-1"].metadata.labels[P + "group-key"]
    assert worker.metadata.annotations == {P + "size": "3", P + "leader-name": "dist-1"}
    env = [(e.name, e.value) for e in worker.spec.containers[0].env]
    assert env[:3] == [("LWS_LEADER_ADDRESS", "dist-1.dist.default"), ("LWS_GROUP_SIZE", "3"),
                       ("LWS_WORKER_INDEX", "2")]
    assert (worker.spec.hostname, worker.spec.subdomain) == ("dist-1-2", "dist")
    headless = k.core.read_namespaced_service("dist", "default")
    assert headless.spec.cluster_ip == "None"
    assert headless.spec.publish_not_ready_addresses is True
    assert headless.spec.selector == {P + "name": "dist"}
    reasons = [e.reason for e in k.events(**{"involvedObject.kind": "LeaderWorkerSet"})]
    assert "AllGroupsReady" in reasons and "GroupsProgressing" in reasons


def test_leader_ready_startup_creates_workers_after_the_leader(k, sandbox_factory):
    sb = sandbox_factory(speed=10)
    slow = Clients(sb)
    slow.create(LWS, lws("dist", size=3, startupPolicy="LeaderReady"))
    first = wait_for(lambda: slow.pods(SELECTOR), what="leader pod")
    assert [p.metadata.name for p in first] == ["dist-0"]
    wait_for(lambda: len(slow.pods(SELECTOR)) == 3, timeout=15, what="workers")
    leader = next(p for p in slow.pods(SELECTOR) if p.metadata.name == "dist-0")
    assert any(c.type == "Ready" and c.status == "True" for c in leader.status.conditions)


def test_rolling_update_goes_from_the_highest_group_down(k, sandbox):
    k.create(LWS, lws("dist", replicas=3, size=2))
    k.wait_condition(LWS, "dist", "Available", "True")
    deleted = _leader_deletions(sandbox)
    seen_updating = []
    _image(k, "vllm/vllm-openai:v1.0")
    obj = k.get(LWS, "dist")
    seen_updating.append(condition_status(obj, "UpdateInProgress"))
    obj = wait_for(lambda: (o := k.get(LWS, "dist"))["status"]["updatedReplicas"] == 3 and
                   condition_status(o, "Available") == "True" and o, what="update done")
    assert deleted == ["dist-2", "dist-1", "dist-0"]
    assert "True" in seen_updating
    assert condition_status(obj, "UpdateInProgress") == "False"
    hashes = {p.metadata.labels[P + "template-revision-hash"] for p in k.pods(SELECTOR)}
    assert len(hashes) == 1


def test_partition_keeps_lower_groups_on_the_old_template(k):
    k.create(LWS, lws("dist", replicas=3, size=1, rolloutStrategy={
        "type": "RollingUpdate", "rollingUpdateConfiguration": {"partition": 2}}))
    k.wait_condition(LWS, "dist", "Available", "True")
    before = {p.metadata.name: p.metadata.labels[P + "template-revision-hash"]
              for p in k.pods(SELECTOR)}
    _image(k, "vllm/vllm-openai:v1.0")
    wait_for(lambda: k.get(LWS, "dist")["status"]["updatedReplicas"] == 1, what="one updated")
    obj = k.wait_condition(LWS, "dist", "Available", "True")
    after = {p.metadata.name: p.metadata.labels[P + "template-revision-hash"]
             for p in k.pods(SELECTOR)}
    assert after["dist-0"] == before["dist-0"] and after["dist-1"] == before["dist-1"]
    assert after["dist-2"] != before["dist-2"]
    assert obj["status"]["updatedReplicas"] == 1


def test_max_surge_adds_a_temporary_group(k, sandbox):
    k.create(LWS, lws("dist", replicas=2, size=1, rolloutStrategy={
        "type": "RollingUpdate", "rollingUpdateConfiguration": {"maxSurge": 1,
                                                                "maxUnavailable": 0}}))
    k.wait_condition(LWS, "dist", "Available", "True")
    created: list[str] = []
    sandbox.call(sandbox.store.add_listener, lambda e: created.append(
        e.obj["metadata"]["name"]) if e.rt.kind == "Pod" and e.type == "ADDED" else None)
    _image(k, "vllm/vllm-openai:v1.0")
    wait_for(lambda: (o := k.get(LWS, "dist"))["status"]["updatedReplicas"] == 2 and
             condition_status(o, "Available") == "True" and
             sorted(p.metadata.name for p in k.pods(SELECTOR)) == ["dist-0", "dist-1"],
             what="surge finished")
    assert "dist-2" in created  # the surge group existed during the update


def test_crash_loop_shows_only_on_pods(k, sandbox):
    k.create(LWS, lws("dist", image="vllm/crashloop:1", size=2))
    first_leader = wait_for(lambda: k.pods(f"{P}name=dist,{P}worker-index=0"),
                            what="leader")[0].metadata.uid
    events = wait_for(lambda: k.events(reason="RecreateGroupOnPodRestart"), what="recreate")
    assert events[0].involved_object.kind == "LeaderWorkerSet"
    assert events[0].message.startswith("Worker pod dist-0")
    assert events[0].message.endswith("deleted leader pod dist-0 to recreate group 0")
    wait_for(lambda: any(p.metadata.uid != first_leader
                         for p in k.pods(f"{P}name=dist,{P}worker-index=0")),
             what="the group recreated")
    obj = k.get(LWS, "dist")
    types = {c["type"]: c["status"] for c in obj["status"]["conditions"]}
    assert types == {"Progressing": "True"}  # no failure condition exists
    assert obj["status"]["readyReplicas"] == 0


def test_restart_policy_none_leaves_crash_loop_backoff_on_the_pod(k):
    body = lws("dist", image="vllm/crashloop:1", size=2)
    body["spec"]["leaderWorkerTemplate"]["restartPolicy"] = "None"
    k.create(LWS, body)
    wait_for(lambda: any(
        cs.state.waiting and cs.state.waiting.reason == "CrashLoopBackOff"
        for p in k.pods(SELECTOR) for cs in p.status.container_statuses or []),
        what="CrashLoopBackOff")
    assert condition_status(k.get(LWS, "dist"), "Progressing") == "True"
    assert condition(k.get(LWS, "dist"), "Available") is None


def test_unschedulable_group_stays_progressing(k):
    k.create(LWS, lws("dist", size=2, gpus=9))
    wait_for(lambda: all(
        any(c.type == "PodScheduled" and c.reason == "Unschedulable"
            for c in p.status.conditions or []) for p in k.pods(SELECTOR)) and
        len(k.pods(SELECTOR)) == 2, what="unschedulable pods")
    assert condition_status(k.get(LWS, "dist"), "Progressing") == "True"


def test_scale_subresource_and_unique_subdomains(k):
    body = lws("dist", size=1, networkConfig={"subdomainPolicy": "UniquePerReplica"})
    k.create(LWS, body)
    k.wait_condition(LWS, "dist", "Available", "True")
    scale = k.custom.patch_namespaced_custom_object_scale(
        "leaderworkerset.x-k8s.io", "v1", "default", "leaderworkersets", "dist",
        {"spec": {"replicas": 2}})
    assert scale["spec"]["replicas"] == 2
    wait_for(lambda: len(k.pods(SELECTOR)) == 2, what="second group")
    services = {s.metadata.name for s in k.core.list_namespaced_service("default").items}
    assert {"dist-0", "dist-1"} <= services
    leader = next(p for p in k.pods(SELECTOR) if p.metadata.name == "dist-1")
    assert leader.spec.subdomain == "dist-1"
    assert leader.metadata.annotations[P + "subdomainPolicy"] == "UniquePerReplica"
