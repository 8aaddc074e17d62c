"""Revision objects, traffic parsing, pod selectors, the Readiness value type and dispatch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from inference_core.errors import InferenceStacksError
from inference_core.readiness import (
    Readiness,
    State,
    TrafficTarget,
    UnsupportedObject,
    evaluate,
    parse_traffic,
    pod_selector,
    revision_failure,
)
from tests.readiness import fixtures as f

REVISION_CASES: dict[str, tuple[dict[str, Any], State, str]] = {
    "ready": (f.revision(), State.READY, "Ready"),
    "container-missing": (f.revision_failed("llm-00002", "ContainerHealthy", "ContainerMissing",
                                            f.MSG_CONTAINER_MISSING), State.FAILED,
                          "ContainerMissing"),
    "exit-code-3": (f.revision_failed("llm-00002", "ContainerHealthy", "ExitCode3",
                                      "Container failed with: boom"), State.FAILED, "ExitCode3"),
    "unschedulable": (f.revision_failed("llm-00002", "ResourcesAvailable", "Unschedulable",
                                        f.MSG_UNSCHEDULABLE), State.FAILED, "Unschedulable"),
    "imagepullbackoff": (f.revision_failed("llm-00002", "ResourcesAvailable", "ImagePullBackOff",
                                           f.MSG_BACKOFF_PULL), State.FAILED, "ImagePullBackOff"),
    "progress-deadline": (f.revision_failed("llm-00002", "ResourcesAvailable",
                                            "ProgressDeadlineExceeded",
                                            "Initial scale was never achieved"), State.FAILED,
                          "ProgressDeadlineExceeded"),
    "not-owned": (f.revision_failed("llm-00002", "ResourcesAvailable", "NotOwned", "not ours"),
                  State.FAILED, "NotOwned"),
    "resolving-digests": (f.revision("llm-00002", [
        f.cond("ResourcesAvailable", "Unknown", "ResolvingDigests"),
        f.cond("ContainerHealthy", "Unknown", "Deploying"),
        f.cond("Ready", "Unknown", "ResolvingDigests")]), State.PROGRESSING, "ResolvingDigests"),
    "ready-while-scaled-to-zero": (f.revision("llm-00002", [
        f.cond("Active", "False", "NoTraffic", "The target is not receiving traffic."),
        f.cond("ContainerHealthy", "True"), f.cond("ResourcesAvailable", "True"),
        f.cond("Ready", "True")]), State.READY, "Ready"),
}


@pytest.mark.parametrize(("obj", "state", "reason"), REVISION_CASES.values(),
                         ids=REVISION_CASES.keys())
def test_revision_cases(obj: dict[str, Any], state: State, reason: str) -> None:
    result = evaluate(obj)
    assert (result.state, result.reason) == (state, reason), result.message
    assert result.message.startswith("Revision team-a/llm-00002")
    assert result.revision == "llm-00002"


def test_revision_pods_fail_fast() -> None:
    obj = f.revision("llm-00002", [f.cond("Ready", "Unknown", "Deploying")])
    pods = [f.kpod(containers=[f.waiting("c", "ImagePullBackOff", f.MSG_BACKOFF_PULL)])]
    result = evaluate(obj, pods=pods)
    assert result.failed and result.reason == "ImagePullBackOff"


def test_revision_failure_prefers_container_health() -> None:
    obj = f.revision("r", [f.cond("ResourcesAvailable", "False", "ProgressDeadlineExceeded"),
                           f.cond("ContainerHealthy", "False", "ExitCode1", "Container failed"),
                           f.cond("Ready", "False", "ExitCode1")])
    finding = revision_failure(obj)
    assert finding is not None and finding.reason == "ExitCode1"
    assert revision_failure(f.revision()) is None


def test_parse_traffic_defaults_and_tags() -> None:
    entries: list[Any] = [
        {"revisionName": "llm-v1", "percent": 90},
        {"revisionName": "llm-v2", "percent": 10, "tag": "canary",
         "url": "https://canary-llm.team-a.example.com"},
        {"revisionName": "llm-v2", "tag": "candidate", "latestRevision": True},
        {"percent": "bad"}, "garbage",
    ]
    obj = f.ksvc(traffic=entries)
    assert parse_traffic(obj) == (
        TrafficTarget("llm-v1", 90),
        TrafficTarget("llm-v2", 10, "canary", "https://canary-llm.team-a.example.com"),
        TrafficTarget("llm-v2", 0, "candidate", None, True),
        TrafficTarget(None, 0),
    )


SELECTORS: dict[str, tuple[dict[str, Any], str | None, str]] = {
    "ksvc-latest-created": (f.ksvc(), None, "serving.knative.dev/revision=llm-00002"),
    "ksvc-explicit": (f.ksvc(), "llm-v9", "serving.knative.dev/revision=llm-v9"),
    "ksvc-no-revision": (f.ksvc(created=None, ready=None), None,
                         "serving.knative.dev/service=llm"),
    "revision": (f.revision(), None, "serving.knative.dev/revision=llm-00002"),
    "lws": (f.lws(), None, "leaderworkerset.sigs.k8s.io/name=dist"),
    "lws-hash": (f.lws(), "5f8d9c7b6", "leaderworkerset.sigs.k8s.io/name=dist,"
                 "leaderworkerset.sigs.k8s.io/template-revision-hash=5f8d9c7b6"),
}


@pytest.mark.parametrize(("obj", "revision", "expected"), SELECTORS.values(),
                         ids=SELECTORS.keys())
def test_pod_selector(obj: dict[str, Any], revision: str | None, expected: str) -> None:
    assert pod_selector(obj, revision) == expected


@pytest.mark.parametrize("obj", [
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}},
    {"apiVersion": "serving.knative.dev/v1", "kind": "Route", "metadata": {"name": "x"}},
    {},
])
def test_unsupported_objects_raise_typed_error(obj: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedObject, match=r"supported: serving\.knative\.dev") as info:
        evaluate(obj)
    assert isinstance(info.value, InferenceStacksError)
    with pytest.raises(UnsupportedObject):
        pod_selector(obj)


def test_to_dict_is_json_and_round_trips() -> None:
    result = evaluate(f.ksvc(traffic=[
        {"revisionName": "llm-00002", "percent": 100, "latestRevision": True, "tag": "live"}]))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["state"] == "ready" and data["traffic"][0]["tag"] == "live"
    assert Readiness.from_dict(data) == result


def test_state_flags() -> None:
    base: dict[str, Any] = {
        "reason": "r", "message": "m", "kind": "Service", "namespace": None, "name": "n",
    }
    flags = {s: (Readiness(state=s, **base).ready, Readiness(state=s, **base).failed,
                 Readiness(state=s, **base).terminal) for s in State}
    assert flags == {State.READY: (True, False, True), State.FAILED: (False, True, True),
                     State.PROGRESSING: (False, False, False)}
    assert str(Readiness(state=State.READY, **base).ref) == "Service n"
