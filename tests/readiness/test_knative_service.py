"""Knative Service readiness over realistic status payloads (k8s-mapping.md §1.7-§1.9)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from inference_core.readiness import State, evaluate
from tests.readiness import fixtures as f


@dataclass
class Case:
    obj: dict[str, Any]
    state: State
    reason: str
    fragments: tuple[str, ...] = ()
    revision: str | None = "__unset__"
    pods: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    revisions: list[dict[str, Any]] = field(default_factory=list)
    kwargs: dict[str, Any] = field(default_factory=dict)


OLD_SERVING: dict[str, Any] = {"created": "llm-00002", "ready": "llm-00001"}


def _failed_update(inner: str) -> dict[str, Any]:
    return f.ksvc(**OLD_SERVING, conditions=f.failed_update_conditions("llm-00002", inner))


CASES = {
    "ready": Case(f.ksvc(), State.READY, "Ready",
                  ('Service team-a/llm is ready', '"llm-00002"', "https://llm.team-a"),
                  revision="llm-00002"),
    "ready-with-expected": Case(f.ksvc(), State.READY, "Ready",
                                kwargs={"expected_generation": 2,
                                        "expected_revision": "llm-00002"}),
    "observed-generation-behind": Case(
        f.ksvc(generation=3, observed=2), State.PROGRESSING, "ObservedGenerationBehind",
        ("status.observedGeneration 2", "metadata.generation 3"), revision="llm-00002"),
    "no-status-yet": Case(
        f.ksvc(observed=None, created=None, ready=None, conditions=[]),
        State.PROGRESSING, "ObservedGenerationBehind", ("not reported status",), revision=None),
    "stale-read-older-than-our-write": Case(
        f.ksvc(generation=2), State.PROGRESSING, "ObservedGenerationBehind",
        ("stale read", "generation 3"), kwargs={"expected_generation": 3}),
    "out-of-date": Case(
        f.ksvc(created="llm-00002", ready="llm-00001", conditions=f.settling_conditions(
            "OutOfDate", "The Configuration is still working to reflect the latest desired "
            "specification.")),
        State.PROGRESSING, "OutOfDate",
        ('waiting for revision "llm-00002"', '"llm-00001" still serves traffic'),
        revision="llm-00001"),
    "traffic-not-migrated": Case(
        f.ksvc(conditions=[f.cond("ConfigurationsReady", "True"),
                           f.cond("Ready", "Unknown", "TrafficNotMigrated",
                                  "Traffic is not yet migrated to the latest revision."),
                           f.cond("RoutesReady", "Unknown", "TrafficNotMigrated",
                                  "Traffic is not yet migrated to the latest revision.")]),
        State.PROGRESSING, "TrafficNotMigrated", ("not yet migrated",)),
    "revision-missing": Case(
        f.ksvc(created="llm-00001", ready=None, generation=1, observed=1,
               conditions=[f.cond("ConfigurationsReady", "Unknown", "RevisionMissing"),
                           f.cond("Ready", "Unknown", "RevisionMissing",
                                  'Configuration "llm" is waiting for a Revision to become '
                                  "ready."),
                           f.cond("RoutesReady", "Unknown", "RevisionMissing",
                                  'Configuration "llm" is waiting for a Revision to become '
                                  "ready.")]),
        State.PROGRESSING, "RevisionMissing", ("waiting for a Revision",), revision=None),
    "ready-true-but-latest-not-ready": Case(
        f.ksvc(created="llm-00003", ready="llm-00002"), State.PROGRESSING, "Deploying",
        ('waiting for revision "llm-00003"',)),
    "expected-revision-not-created-yet": Case(
        f.ksvc(), State.PROGRESSING, "RevisionNotCreated",
        ('waiting for revision "llm-v3"', 'latest created is "llm-00002"'),
        kwargs={"expected_revision": "llm-v3"}),
    "expected-revision-creation-failed": Case(
        f.ksvc(conditions=[f.cond("ConfigurationsReady", "False", "RevisionFailed",
                                  'Revision creation failed with message: revisions.serving.'
                                  'knative.dev "llm-v3" already exists.'),
                           f.cond("Ready", "False", "RevisionFailed")]),
        State.FAILED, "RevisionFailed", ('"llm-v3" was not created', "already exists",
                                          'traffic stays on "llm-00002"'),
        kwargs={"expected_revision": "llm-v3", "expected_generation": 2}),
    # §1.8, one level up: only the Service is known.
    "revision-failed-service-only": Case(
        _failed_update(f.MSG_BACKOFF_PULL), State.FAILED, "RevisionFailed",
        ('revision "llm-00002" failed', "Back-off pulling image",
         'traffic stays on "llm-00001"'), revision="llm-00001"),
    "revision-failed-no-older-revision": Case(
        f.ksvc(created="llm-00001", ready=None, generation=1, observed=1,
               conditions=f.failed_update_conditions("llm-00001", "Container failed with: x")),
        State.FAILED, "RevisionFailed", ("nothing serves traffic",), revision=None),
    # §1.8 table, from the Revision object.
    "container-missing": Case(
        _failed_update("Unable to fetch image"), State.FAILED, "ContainerMissing",
        ("manifest unknown", 'traffic stays on "llm-00001"'),
        revisions=[f.revision_failed("llm-00002", "ContainerHealthy", "ContainerMissing",
                                     f.MSG_CONTAINER_MISSING)]),
    "exit-code": Case(
        _failed_update("Container failed with: ValueError"), State.FAILED, "ExitCode1",
        ("Container failed with: ValueError: bad --max-model-len",),
        revisions=[f.revision_failed("llm-00002", "ContainerHealthy", "ExitCode1",
                                     "Container failed with: ValueError: bad --max-model-len")]),
    "unschedulable-revision": Case(
        _failed_update(f.MSG_UNSCHEDULABLE), State.FAILED, "Unschedulable",
        ("Insufficient nvidia.com/gpu", 'traffic stays on "llm-00001"'),
        revisions=[f.revision_failed("llm-00002", "ResourcesAvailable", "Unschedulable",
                                     f.MSG_UNSCHEDULABLE)]),
    "imagepullbackoff-revision": Case(
        _failed_update(f.MSG_BACKOFF_PULL), State.FAILED, "ImagePullBackOff",
        (f.BAD_IMAGE,),
        revisions=[f.revision_failed("llm-00002", "ResourcesAvailable", "ImagePullBackOff",
                                     f.MSG_BACKOFF_PULL)]),
    "progress-deadline": Case(
        _failed_update("Initial scale was never achieved"), State.FAILED,
        "ProgressDeadlineExceeded", ("Initial scale was never achieved",),
        revisions=[f.revision_failed("llm-00002", "ResourcesAvailable",
                                     "ProgressDeadlineExceeded",
                                     "Initial scale was never achieved")]),
    "progress-deadline-explained-by-pod": Case(
        _failed_update("Initial scale was never achieved"), State.FAILED, "ImagePullBackOff",
        ("Back-off pulling image", 'pod "llm-00002-deployment-'),
        revisions=[f.revision_failed("llm-00002", "ResourcesAvailable",
                                     "ProgressDeadlineExceeded",
                                     "Initial scale was never achieved")],
        pods=[f.kpod(containers=[f.waiting("user-container", "ImagePullBackOff",
                                           f.MSG_BACKOFF_PULL)])]),
    "not-owned": Case(
        _failed_update("NotOwned"), State.FAILED, "NotOwned", ("we do not own",),
        revisions=[f.revision_failed("llm-00002", "ResourcesAvailable", "NotOwned",
                                     'There is an existing PodAutoscaler "llm-00002" that we '
                                     "do not own.")]),
    "resolving-digests-is-progress": Case(
        f.ksvc(**OLD_SERVING, conditions=f.settling_conditions("OutOfDate", "working")),
        State.PROGRESSING, "OutOfDate", (),
        revisions=[f.revision("llm-00002", [f.cond("ResourcesAvailable", "Unknown",
                                                   "ResolvingDigests"),
                                            f.cond("Ready", "Unknown", "ResolvingDigests")])]),
    # Fail fast from pods before Knative notices (Ready still Unknown).
    "fail-fast-imagepullbackoff": Case(
        f.ksvc(**OLD_SERVING, conditions=f.settling_conditions("RevisionMissing", "waiting")),
        State.FAILED, "ImagePullBackOff",
        ('Service team-a/llm: revision "llm-00002" failed: ImagePullBackOff: '
         f'Back-off pulling image "{f.BAD_IMAGE}"', 'traffic stays on "llm-00001"'),
        revision="llm-00001",
        pods=[f.kpod(containers=[f.waiting("user-container", "ImagePullBackOff",
                                           f.MSG_BACKOFF_PULL)])]),
    "fail-fast-ignores-other-revisions-pods": Case(
        f.ksvc(**OLD_SERVING, conditions=f.settling_conditions("RevisionMissing", "waiting")),
        State.PROGRESSING, "RevisionMissing",
        pods=[f.kpod("llm-00001", containers=[f.crashlooping()])]),
    "canary-old-revisions-keep-traffic": Case(
        f.ksvc(created="llm-00003", ready="llm-00002",
               conditions=f.failed_update_conditions("llm-00003", "Container failed"),
               traffic=[{"revisionName": "llm-00001", "percent": 90},
                        {"revisionName": "llm-00002", "percent": 10, "tag": "canary",
                         "latestRevision": True,
                         "url": "https://canary-llm.team-a.example.com"}]),
        State.FAILED, "RevisionFailed",
        ('traffic stays on "llm-00001" (90%), "llm-00002" (10%)',), revision="llm-00002"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_service_cases(case: Case) -> None:
    result = evaluate(case.obj, pods=case.pods, events=case.events, revisions=case.revisions,
                      **case.kwargs)
    assert (result.state, result.reason) == (case.state, case.reason), result.message
    for fragment in case.fragments:
        assert fragment in result.message
    assert "team-a/llm" in result.message
    if case.revision != "__unset__":
        assert result.revision == case.revision
    assert result.kind == "Service" and result.namespace == "team-a" and result.name == "llm"


def test_ready_reports_url_traffic_and_generation() -> None:
    obj = f.ksvc(traffic=[
        {"revisionName": "llm-00002", "percent": 100, "latestRevision": True},
        {"revisionName": "llm-00001", "percent": 0, "tag": "prev",
         "url": "https://prev-llm.team-a.example.com"},
    ])
    result = evaluate(obj)
    assert result.ready and result.terminal and not result.failed
    assert result.url == "https://llm.team-a.example.com"
    assert result.observed_generation == 2
    assert [t.revision for t in result.traffic] == ["llm-00002", "llm-00001"]
    assert result.traffic[1].tag == "prev" and result.traffic[1].percent == 0
    assert result.traffic[1].url == "https://prev-llm.team-a.example.com"
    assert result.traffic[0].latest_revision and not result.traffic[1].latest_revision
    assert "prev" in result.message


def test_address_url_used_when_no_external_url() -> None:
    obj = f.ksvc()
    del obj["status"]["url"]
    assert evaluate(obj).url == "http://llm.team-a.svc.cluster.local"


def test_rollout_waits_for_new_revision_not_old_ready_one() -> None:
    """The rolling-update operator passes the revision it created: the old, still-ready
    revision never counts as success."""
    before = f.ksvc(generation=3, observed=3, created="llm-00002", ready="llm-00002")
    result = evaluate(before, expected_generation=3, expected_revision="llm-00003")
    assert result.state is State.PROGRESSING
    after = f.ksvc(generation=3, observed=3, created="llm-00003", ready="llm-00003")
    assert evaluate(after, expected_generation=3, expected_revision="llm-00003").ready


def test_failure_of_new_revision_reports_old_one_as_serving() -> None:
    obj = _failed_update("x")
    pods = [f.kpod(containers=[f.crashlooping(exit_code=137, reason="OOMKilled")])]
    result = evaluate(obj, pods=pods, expected_revision="llm-00002", expected_generation=2)
    assert result.failed and result.reason == "CrashLoopBackOff"
    assert result.revision == "llm-00001"
    assert "exit code 137" in result.message and "OOMKilled" in result.message
    assert result.message.endswith('traffic stays on "llm-00001"')


def test_ready_service_ignores_crashing_pod_of_same_revision() -> None:
    """Ready is Knative's verdict; one crashing replica among ready ones does not fail it."""
    pods = [f.kpod(containers=[f.crashlooping()])]
    assert evaluate(f.ksvc(), pods=pods).ready


def test_events_used_when_pods_are_gone() -> None:
    obj = f.ksvc(**OLD_SERVING, conditions=f.settling_conditions("RevisionMissing", "w"))
    events = [f.event("FailedScheduling", f.MSG_UNSCHEDULABLE,
                      "llm-00002-deployment-6d4b9c7f8-x2x9q")]
    result = evaluate(obj, events=events)
    assert result.failed and result.reason == "Unschedulable"
    assert "Insufficient nvidia.com/gpu" in result.message


def test_events_of_another_revision_do_not_count() -> None:
    obj = f.ksvc(**OLD_SERVING, conditions=f.settling_conditions("RevisionMissing", "w"))
    events = [f.event("FailedScheduling", f.MSG_UNSCHEDULABLE,
                      "llm-00001-deployment-aaaaaaaaa-bbbbb")]
    assert evaluate(obj, events=events).state is State.PROGRESSING


def test_events_older_than_revision_are_stale() -> None:
    obj = f.ksvc(**OLD_SERVING, conditions=f.settling_conditions("RevisionMissing", "w"))
    rev = f.revision("llm-00002", [f.cond("Ready", "Unknown", "Deploying")],
                     created="2025-03-01T11:00:00Z")
    events = [f.event("BackOff", f.MSG_BACKOFF_PULL, "llm-00002-deployment-6d4b9c7f8-x2x9q")]
    assert evaluate(obj, events=events, revisions=[rev]).state is State.PROGRESSING


def test_replicaset_quota_failure() -> None:
    obj = f.ksvc(**OLD_SERVING, conditions=f.settling_conditions("RevisionMissing", "w"))
    events = [f.event("FailedCreate",
                      'Error creating: pods "llm-00002-deployment-6d4b9c7f8-abcde" is forbidden: '
                      "exceeded quota: gpu-quota, requested: requests.nvidia.com/gpu=1, used: "
                      "requests.nvidia.com/gpu=4, limited: requests.nvidia.com/gpu=4",
                      "llm-00002-deployment-6d4b9c7f8", kind="ReplicaSet")]
    result = evaluate(obj, events=events)
    assert result.failed and result.reason == "FailedCreate"
    assert "exceeded quota" in result.message and 'ReplicaSet "llm-00002-deployment' in (
        result.message)
