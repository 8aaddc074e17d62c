"""The simulated Knative controllers: revisions, pods, conditions, traffic, failures."""

from __future__ import annotations

import pytest

from inference_sandbox.testing import condition, condition_status, wait_for
from tests.sandbox.util import KSVC, Clients, ksvc

REV = ("serving.knative.dev", "v1", "revisions")
IMAGE_V2 = "ghcr.io/acme/server:2.0"


@pytest.fixture
def k(sandbox):
    return Clients(sandbox)


def _image_patch(image):
    return {"spec": {"template": {"spec": {"containers": [
        {"image": image, "ports": [{"containerPort": 8000}]}]}}}}


def test_happy_path_status_follows_knative(k):
    k.create(KSVC, ksvc("llm", template_annotations={"autoscaling.knative.dev/min-scale": "1"}))
    svc = k.wait_condition(KSVC, "llm", "Ready", "True")
    status = svc["status"]
    assert status["observedGeneration"] == svc["metadata"]["generation"] == 1
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "ConfigurationsReady": "True", "Ready": "True", "RoutesReady": "True"}
    assert status["latestCreatedRevisionName"] == status["latestReadyRevisionName"] == \
        "llm-00001"
    assert status["url"] == "http://llm.default.example.com"
    assert status["address"]["url"] == "http://llm.default.svc.cluster.local"
    assert status["traffic"] == [{"configurationName": "llm", "revisionName": "llm-00001",
                                  "latestRevision": True, "percent": 100}]
    rev = k.get(REV, "llm-00001")
    assert {c["type"]: c["status"] for c in rev["status"]["conditions"]} == {
        "Active": "True", "ContainerHealthy": "True", "Ready": "True",
        "ResourcesAvailable": "True"}
    assert rev["status"]["actualReplicas"] == 1
    (pod,) = k.pods("serving.knative.dev/revision=llm-00001")
    labels = pod.metadata.labels
    assert labels["serving.knative.dev/service"] == "llm"
    assert labels["serving.knative.dev/configuration"] == "llm"
    assert labels["app"] == "llm-00001"
    assert not any(a.startswith("autoscaling.knative.dev/") for a in pod.metadata.annotations)
    user = pod.spec.containers[0]
    assert {e.name: e.value for e in user.env}["K_REVISION"] == "llm-00001"
    assert [c.name for c in pod.spec.containers] == ["user-container", "queue-proxy"]
    assert pod.status.phase == "Running"
    for kind in ("configurations", "routes"):
        child = k.custom.get_namespaced_custom_object("serving.knative.dev", "v1", "default",
                                                      kind, "llm")
        assert condition_status(child, "Ready") == "True"


def test_template_change_makes_a_new_revision_and_moves_traffic(k, sandbox):
    k.create(KSVC, ksvc("llm"))
    k.wait_condition(KSVC, "llm", "Ready", "True")
    k.patch(KSVC, "llm", {"metadata": {"labels": {"owner": "x"}}})  # not a template change
    k.patch(KSVC, "llm", _image_patch(IMAGE_V2))
    svc = wait_for(lambda: (s := k.get(KSVC, "llm"))["status"].get(
        "latestReadyRevisionName") == "llm-00002" and s, what="llm-00002 ready")
    assert svc["metadata"]["generation"] == 2  # the label change did not count
    assert svc["status"]["traffic"][0]["revisionName"] == "llm-00002"
    assert sorted(r["metadata"]["name"] for r in k.custom.list_namespaced_custom_object(
        "serving.knative.dev", "v1", "default", "revisions")["items"]) == [
        "llm-00001", "llm-00002"]
    sandbox.advance(120)  # the old revision gets no traffic: scaled to zero
    wait_for(lambda: not k.pods("serving.knative.dev/revision=llm-00001"),
             what="old revision scaled to zero")


def test_failed_update_keeps_traffic_on_the_previous_revision(k, sandbox):
    k.create(KSVC, ksvc("llm", template_annotations={
        "serving.knative.dev/progress-deadline": "900s",
        "autoscaling.knative.dev/min-scale": "1"}))
    k.wait_condition(KSVC, "llm", "Ready", "True")
    k.patch(KSVC, "llm", _image_patch("ghcr.io/acme/does-not-exist:9"))
    wait_for(lambda: k.get(KSVC, "llm")["status"]["latestCreatedRevisionName"] == "llm-00002")
    sandbox.advance(901)
    svc = k.wait_condition(KSVC, "llm", "Ready", "False")
    status = svc["status"]
    assert status["latestCreatedRevisionName"] == "llm-00002"
    assert status["latestReadyRevisionName"] == "llm-00001"
    assert status["traffic"] == [{"configurationName": "llm", "revisionName": "llm-00001",
                                  "latestRevision": True, "percent": 100}]
    configs = condition(svc, "ConfigurationsReady")
    assert configs["reason"] == "RevisionFailed"
    assert configs["message"] == ('Revision "llm-00002" failed with message: Back-off pulling '
                                  'image "ghcr.io/acme/does-not-exist:9".')
    assert condition_status(svc, "RoutesReady") == "True"


def test_image_pull_backoff_surfaces_only_after_the_progress_deadline(k, sandbox):
    k.create(KSVC, ksvc("bad", image="ghcr.io/acme/does-not-exist:1"))
    wait_for(lambda: any(
        cs.state.waiting and cs.state.waiting.reason == "ImagePullBackOff"
        for p in k.pods("serving.knative.dev/service=bad")
        for cs in p.status.container_statuses or []), what="pod in ImagePullBackOff")
    rev = k.get(REV, "bad-00001")
    assert condition(rev, "ResourcesAvailable")["status"] == "Unknown"
    assert condition_status(k.get(KSVC, "bad"), "Ready") == "Unknown"
    assert condition(k.get(KSVC, "bad"), "Ready")["reason"] == "RevisionMissing"
    sandbox.advance(600)
    rev = k.wait_condition(REV, "bad-00001", "ResourcesAvailable", "False")
    cond = condition(rev, "ResourcesAvailable")
    assert cond["reason"] == "ImagePullBackOff"
    assert cond["message"] == 'Back-off pulling image "ghcr.io/acme/does-not-exist:1"'
    svc = k.wait_condition(KSVC, "bad", "Ready", "False", reason="RevisionFailed")
    assert condition(svc, "RoutesReady")["message"] == \
        'Configuration "bad" does not have any ready Revision.'
    reasons = {e.reason for e in k.events()}
    assert {"Failed", "BackOff", "Pulling"} <= reasons


def test_unschedulable_fails_at_once(k):
    k.create(KSVC, ksvc("big", gpus=9))
    rev = k.wait_condition(REV, "big-00001", "ResourcesAvailable", "False")
    cond = condition(rev, "ResourcesAvailable")
    assert cond["reason"] == "Unschedulable"
    assert cond["message"] == "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."
    (pod,) = k.pods("serving.knative.dev/service=big")
    scheduled = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
    events = k.events(**{"involvedObject.name": pod.metadata.name, "reason": "FailedScheduling"})
    assert events[0].type == "Warning"
    assert events[0].message == "0/2 nodes are available: 2 Insufficient nvidia.com/gpu."
    k.wait_condition(KSVC, "big", "Ready", "False", reason="RevisionFailed")


def test_crash_loop_is_reported_as_exit_code(k):
    k.create(KSVC, ksvc("crash", image="ghcr.io/acme/crashloop:1"))
    rev = k.wait_condition(REV, "crash-00001", "ContainerHealthy", "False")
    cond = condition(rev, "ContainerHealthy")
    assert cond["reason"] == "ExitCode1"
    assert cond["message"] == ("Container failed with: simulated crash of image "
                               "ghcr.io/acme/crashloop:1: exit code 1")
    (pod,) = k.pods("serving.knative.dev/service=crash")
    status = pod.status.container_statuses[0]
    assert status.last_state.terminated.exit_code == 1
    assert status.restart_count >= 1
    wait_for(lambda: any(
        cs.state.waiting and cs.state.waiting.reason == "CrashLoopBackOff"
        for p in k.pods("serving.knative.dev/service=crash")
        for cs in p.status.container_statuses), what="CrashLoopBackOff")


def test_never_ready_exceeds_the_progress_deadline(k, sandbox):
    k.create(KSVC, ksvc("slow", image="ghcr.io/acme/never-ready:1"))
    wait_for(lambda: k.pods("serving.knative.dev/service=slow"), what="pod")
    sandbox.advance(601)
    rev = k.wait_condition(REV, "slow-00001", "ResourcesAvailable", "False")
    cond = condition(rev, "ResourcesAvailable")
    assert (cond["reason"], cond["message"]) == ("ProgressDeadlineExceeded",
                                                 "Initial scale was never achieved")


def test_traffic_split_with_tags_and_own_revision_names(k):
    first = ksvc("app")
    first["spec"]["template"]["metadata"] = {"name": "app-v1"}
    k.create(KSVC, first)
    k.wait_condition(KSVC, "app", "Ready", "True")
    k.patch(KSVC, "app", {"spec": {
        "template": {"metadata": {"name": "app-v2"},
                     "spec": {"containers": [{"image": IMAGE_V2,
                                              "ports": [{"containerPort": 8000}]}]}},
        "traffic": [{"revisionName": "app-v1", "percent": 90},
                    {"revisionName": "app-v2", "percent": 10, "tag": "canary"},
                    {"latestRevision": True, "percent": 0, "tag": "latest"}]}})
    svc = wait_for(lambda: (s := k.get(KSVC, "app"))["status"].get(
        "latestReadyRevisionName") == "app-v2" and condition_status(s, "Ready") == "True"
        and s, what="app-v2 ready")
    assert svc["status"]["traffic"] == [
        {"revisionName": "app-v1", "latestRevision": False, "percent": 90},
        {"tag": "canary", "revisionName": "app-v2", "latestRevision": False, "percent": 10,
         "url": "http://canary-app.default.example.com"},
        {"tag": "latest", "configurationName": "app", "revisionName": "app-v2",
         "latestRevision": True, "percent": 0, "url": "http://latest-app.default.example.com"}]


def test_missing_pinned_revision_is_revision_missing(k):
    body = ksvc("pin")
    body["spec"]["traffic"] = [{"revisionName": "pin-00009", "percent": 100}]
    k.create(KSVC, body)
    svc = k.wait_condition(KSVC, "pin", "RoutesReady", "False")
    cond = condition(svc, "RoutesReady")
    assert cond["reason"] == "RevisionMissing"
    assert cond["message"] == 'Revision "pin-00009" referenced in traffic not found.'


def test_cluster_local_visibility_changes_the_url(k):
    body = ksvc("internal")
    body["metadata"]["labels"] = {"networking.knative.dev/visibility": "cluster-local"}
    k.create(KSVC, body)
    svc = k.wait_condition(KSVC, "internal", "Ready", "True")
    assert svc["status"]["url"] == "http://internal.default.svc.cluster.local"


def test_scale_to_zero_keeps_the_revision_ready(k, sandbox):
    k.create(KSVC, ksvc("idle"))
    k.wait_condition(KSVC, "idle", "Ready", "True")
    sandbox.advance(100)
    rev = k.wait_condition(REV, "idle-00001", "Active", "False")
    assert condition(rev, "Active")["reason"] == "NoTraffic"
    assert condition_status(rev, "Ready") == "True"
    assert rev["status"]["actualReplicas"] == 0
    wait_for(lambda: not k.pods("serving.knative.dev/service=idle"), what="no pods")
    assert condition_status(k.get(KSVC, "idle"), "Ready") == "True"


def test_min_scale_keeps_pods_and_initial_scale(k, sandbox):
    k.create(KSVC, ksvc("warm", template_annotations={"autoscaling.knative.dev/min-scale": "2"}))
    k.wait_condition(KSVC, "warm", "Ready", "True")
    sandbox.advance(200)
    wait_for(lambda: len(k.pods("serving.knative.dev/service=warm")) == 2, what="two pods")
    assert k.get(REV, "warm-00001")["status"]["desiredReplicas"] == 2


def test_deleting_the_service_removes_everything(k, sandbox):
    k.create(KSVC, ksvc("gone"))
    k.wait_condition(KSVC, "gone", "Ready", "True")
    k.custom.delete_namespaced_custom_object("serving.knative.dev", "v1", "default",
                                             "services", "gone")
    assert k.custom.list_namespaced_custom_object("serving.knative.dev", "v1", "default",
                                                  "revisions")["items"] == []
    assert k.pods("serving.knative.dev/service=gone") == []
