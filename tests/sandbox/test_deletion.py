"""Deletion like the API server: grace periods, finalizers, owner GC, propagation, preconditions."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from kubernetes.client import ApiException, V1DeleteOptions, V1Preconditions

from inference_sandbox.testing import wait_for
from tests.helpers import require_shared
from tests.sandbox.util import Clients, ksvc

POD = ("v1", "Pod")
CM = ("v1", "ConfigMap")


def _pod(name: str, *, node: str | None = "gpu-node-0", owner: dict | None = None,
         grace: int | None = None) -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "busybox:1"}]}
    if node:
        spec["nodeName"] = node
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    md: dict = {"name": name}
    if owner:
        md["ownerReferences"] = [owner]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec}


def _owner_ref(obj, *, block: bool = False) -> dict:
    return {"apiVersion": "v1", "kind": obj.kind or "ConfigMap", "name": obj.metadata.name,
            "uid": obj.metadata.uid, "blockOwnerDeletion": block}


@pytest.fixture
def quiet(sandbox_factory):
    """A sandbox without controllers: nothing but this test deletes pods."""
    return Clients(sandbox_factory(controllers=False))


def _seconds(a: str, b: str) -> float:
    parse = datetime.fromisoformat
    return (parse(a.replace("Z", "+00:00")) - parse(b.replace("Z", "+00:00"))).total_seconds()


def test_bound_pod_terminates_for_its_grace_period(quiet):
    quiet.core.create_namespaced_pod("default", _pod("p", grace=45))
    deleted = quiet.core.delete_namespaced_pod("p", "default")
    assert deleted.metadata.deletion_grace_period_seconds == 45
    live = quiet.sb.store.get(POD, "default", "p")
    assert live["metadata"]["deletionGracePeriodSeconds"] == 45
    ahead = _seconds(live["metadata"]["deletionTimestamp"], live["metadata"]["creationTimestamp"])
    assert 44 <= ahead <= 45 + 120  # now + grace (timestamps are whole seconds)
    # A second delete with a longer grace period changes nothing; a shorter one shortens it.
    quiet.core.delete_namespaced_pod("p", "default", grace_period_seconds=60)
    assert quiet.sb.store.get(POD, "default", "p")["metadata"][
        "deletionGracePeriodSeconds"] == 45
    quiet.core.delete_namespaced_pod("p", "default", grace_period_seconds=0)
    assert quiet.sb.store.get(POD, "default", "p") is None


def test_unscheduled_pods_and_zero_grace_go_at_once(quiet):
    quiet.core.create_namespaced_pod("default", _pod("pending", node=None))
    quiet.core.delete_namespaced_pod("pending", "default")
    assert quiet.sb.store.get(POD, "default", "pending") is None
    quiet.core.create_namespaced_pod("default", _pod("forced"))
    quiet.core.delete_namespaced_pod("forced", "default",
                                     body=V1DeleteOptions(grace_period_seconds=0))
    assert quiet.sb.store.get(POD, "default", "forced") is None


def test_the_kubelet_finishes_a_terminating_pod(sandbox):
    k = Clients(sandbox)
    k.core.create_namespaced_pod("default", _pod("p", node=None))
    wait_for(lambda: (sandbox.store.get(POD, "default", "p") or {}).get("spec", {}).get(
        "nodeName"), timeout=60, what="the pod to be scheduled")
    k.core.delete_namespaced_pod("p", "default")
    wait_for(lambda: sandbox.store.get(POD, "default", "p") is None, timeout=60,
             what="the kubelet to remove the pod")


def test_finalizers_hold_the_object_until_removed(quiet):
    quiet.core.create_namespaced_config_map("default", {
        "metadata": {"name": "held", "finalizers": ["example.com/cleanup"]}})
    quiet.core.delete_namespaced_config_map("held", "default")
    held = quiet.core.read_namespaced_config_map("held", "default")
    assert held.metadata.deletion_timestamp is not None
    assert held.metadata.finalizers == ["example.com/cleanup"]
    quiet.core.patch_namespaced_config_map("held", "default",
                                           {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as err:
        quiet.core.read_namespaced_config_map("held", "default")
    assert err.value.status == 404


def test_background_deletion_collects_dependents(quiet):
    owner = quiet.core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    quiet.core.create_namespaced_config_map("default", {
        "metadata": {"name": "child", "ownerReferences": [_owner_ref(owner)]}})
    quiet.core.create_namespaced_pod("default", _pod("worker", node=None,
                                                     owner=_owner_ref(owner)))
    quiet.core.delete_namespaced_config_map("owner", "default")
    assert quiet.sb.store.get(CM, "default", "child") is None
    assert quiet.sb.store.get(POD, "default", "worker") is None


def test_orphan_propagation_keeps_dependents_without_the_reference(quiet):
    owner = quiet.core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    quiet.core.create_namespaced_config_map("default", {
        "metadata": {"name": "child", "ownerReferences": [_owner_ref(owner)]}})
    quiet.core.delete_namespaced_config_map("owner", "default",
                                            propagation_policy="Orphan")
    child = quiet.sb.store.get(CM, "default", "child")
    assert child is not None and "ownerReferences" not in child["metadata"]


def test_foreground_deletion_waits_for_blocking_dependents(quiet):
    owner = quiet.core.create_namespaced_config_map("default", {"metadata": {"name": "owner"}})
    quiet.core.create_namespaced_pod("default", _pod("worker",
                                                     owner=_owner_ref(owner, block=True)))
    quiet.core.delete_namespaced_config_map(
        "owner", "default", body=V1DeleteOptions(propagation_policy="Foreground"))
    waiting = quiet.sb.store.get(CM, "default", "owner")
    assert waiting["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert waiting["metadata"]["deletionTimestamp"]
    worker = quiet.sb.store.get(POD, "default", "worker")
    assert worker["metadata"]["deletionTimestamp"]  # terminating, grace period running
    quiet.core.delete_namespaced_pod("worker", "default", grace_period_seconds=0)
    assert quiet.sb.store.get(POD, "default", "worker") is None
    assert quiet.sb.store.get(CM, "default", "owner") is None


def test_preconditions_and_bad_options_are_refused(quiet):
    created = quiet.core.create_namespaced_config_map("default", {"metadata": {"name": "c"}})
    for pre in (V1Preconditions(uid="not-the-uid"),
                V1Preconditions(resource_version=str(int(created.metadata.resource_version)
                                                     + 100))):
        with pytest.raises(ApiException) as err:
            quiet.core.delete_namespaced_config_map("c", "default",
                                                    body=V1DeleteOptions(preconditions=pre))
        assert err.value.status == 409
        assert "Precondition failed" in json.loads(err.value.body)["message"]
    with pytest.raises(ApiException) as bad:
        quiet.core.delete_namespaced_config_map("c", "default", propagation_policy="Sometimes")
    assert bad.value.status == 400
    quiet.core.delete_namespaced_config_map(
        "c", "default", body=V1DeleteOptions(preconditions=V1Preconditions(
            uid=created.metadata.uid)))
    assert quiet.sb.store.get(CM, "default", "c") is None


def test_podgroups_go_with_their_workload(quiet):
    owner = quiet.core.create_namespaced_config_map("default", {"metadata": {"name": "wl"}})
    quiet.custom.create_namespaced_custom_object(
        "scheduling.run.ai", "v2alpha2", "default", "podgroups", {
            "apiVersion": "scheduling.run.ai/v2alpha2", "kind": "PodGroup",
            "metadata": {"name": "pg-wl", "ownerReferences": [_owner_ref(owner)]},
            "spec": {"minMember": 1, "queue": "default"}})
    quiet.core.delete_namespaced_config_map("wl", "default")
    assert quiet.sb.store.get(("scheduling.run.ai/v2alpha2", "PodGroup"), "default",
                              "pg-wl") is None


def test_namespace_terminates_until_its_content_is_gone(quiet):
    quiet.core.create_namespace({"metadata": {"name": "team-x"}})
    quiet.core.create_namespaced_config_map("team-x", {"metadata": {"name": "c"}})
    quiet.core.create_namespaced_pod("team-x", _pod("p"))
    quiet.core.delete_namespace("team-x")
    ns = quiet.core.read_namespace("team-x")
    assert ns.status.phase == "Terminating" and ns.metadata.deletion_timestamp is not None
    assert quiet.sb.store.get(CM, "team-x", "c") is None
    assert quiet.sb.store.get(POD, "team-x", "p")["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiException) as refused:
        quiet.core.create_namespaced_config_map("team-x", {"metadata": {"name": "late"}})
    assert refused.value.status == 403
    assert json.loads(refused.value.body)["message"] == (
        'configmaps "late" is forbidden: unable to create new content in namespace team-x '
        "because it is being terminated")
    quiet.core.delete_namespaced_pod("p", "team-x", grace_period_seconds=0)  # the kubelet
    with pytest.raises(ApiException) as gone:
        quiet.core.read_namespace("team-x")
    assert gone.value.status == 404
    quiet.core.create_namespace({"metadata": {"name": "team-x"}})  # the name is free again


def test_empty_namespace_goes_at_once(quiet):
    quiet.core.create_namespace({"metadata": {"name": "empty"}})
    quiet.core.delete_namespace("empty")
    assert not quiet.sb.store.namespace_exists("empty")


def test_namespace_with_a_running_service_is_emptied_by_the_controllers(sandbox_factory):
    require_shared()
    sb = sandbox_factory(namespaces=("team-a",))
    k = Clients(sb)
    k.create(("serving.knative.dev", "v1", "services"), ksvc("web", namespace="team-a"),
             namespace="team-a")
    wait_for(lambda: sb.store.list(POD, "team-a"), timeout=60, what="a pod")
    k.core.delete_namespace("team-a")
    wait_for(lambda: not sb.store.namespace_exists("team-a"), timeout=60,
             what="the namespace to go once the kubelet removed its pods")
    assert sb.store.list(POD, "team-a") == []
