"""Fail-fast pod and event inspection, run through both Knative and LWS evaluation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from inference_core.readiness import State, evaluate
from tests.readiness import fixtures as f

NOW = datetime(2025, 3, 1, 10, 0, 40, tzinfo=UTC)  # 40 s after the first pull failure (T0)


def _svc() -> dict[str, Any]:
    return f.ksvc(created="llm-00002", ready="llm-00001",
                  conditions=f.settling_conditions("RevisionMissing", "waiting"))


def _lws() -> dict[str, Any]:
    return f.lws(replicas=1, ready=0, updated=1, conditions=f.lws_progressing())


def _kpod_with(**kw: Any) -> dict[str, Any]:
    return f.kpod(**kw)


def _lpod_with(**kw: Any) -> dict[str, Any]:
    return f.lpod(0, **kw)


POD = "llm-00002-deployment-6d4b9c7f8-x2x9q"
W = f.waiting

# (pod kwargs, events (for the Knative pod name), now, state, reason, fragments)
POD_CASES: dict[str, tuple[dict[str, Any], list[dict[str, Any]], datetime | None, State, str | None,
                           tuple[str, ...]]] = {
    "imagepullbackoff": ({"containers": [W("c", "ImagePullBackOff", f.MSG_BACKOFF_PULL)]}, [],
                         None, State.FAILED, "ImagePullBackOff", (f.BAD_IMAGE,)),
    "errimagepull-not-found": ({"containers": [W("c", "ErrImagePull", f.MSG_PULL_NOT_FOUND)]},
                               [], None, State.FAILED, "ErrImagePull", (": not found",)),
    "errimagepull-transient-first": (
        {"containers": [W("c", "ErrImagePull", f.MSG_PULL_TRANSIENT)]}, [], None,
        State.PROGRESSING, None, ("ErrImagePull", "429 Too Many Requests")),
    "errimagepull-transient-young": (
        {"containers": [W("c", "ErrImagePull", f.MSG_PULL_TRANSIENT)]},
        [f.event("Failed", f"Failed to pull image \"{f.GOOD_IMAGE}\": {f.MSG_PULL_TRANSIENT}",
                 "POD")], NOW, State.PROGRESSING, None, ("ErrImagePull",)),
    "errimagepull-repeated": (
        {"containers": [W("c", "ErrImagePull", f.MSG_PULL_TRANSIENT)]},
        [f.event("Failed", f"Failed to pull image \"{f.GOOD_IMAGE}\": {f.MSG_PULL_TRANSIENT}",
                 "POD", count=2)], None, State.FAILED, "ErrImagePull", ("pull failed 2 times",)),
    "errimagepull-old": (
        {"containers": [W("c", "ErrImagePull", f.MSG_PULL_TRANSIENT)]},
        [f.event("Failed", f"Failed to pull image \"{f.GOOD_IMAGE}\": {f.MSG_PULL_TRANSIENT}",
                 "POD")], datetime(2025, 3, 1, 10, 1, 5, tzinfo=UTC), State.FAILED,
        "ErrImagePull", ("failing for 65s",)),
    "invalid-image-name": ({"containers": [W("c", "InvalidImageName", f.MSG_INVALID_NAME)]}, [],
                           None, State.FAILED, "InvalidImageName", ("invalid reference format",)),
    "err-image-never-pull": ({"containers": [W("c", "ErrImageNeverPull", "never pull")]}, [],
                             None, State.FAILED, "ErrImageNeverPull", ()),
    "create-container-config-error": (
        {"containers": [W("c", "CreateContainerConfigError", f.MSG_SECRET_MISSING)]}, [], None,
        State.FAILED, "CreateContainerConfigError", ('secret "hf-token" not found',)),
    "crashloop-exit-1": (
        {"phase": "Running", "containers": [f.crashlooping(
            "c", exit_code=1, message="ValueError: max_model_len (131072) is too large")]},
        [], None, State.FAILED, "CrashLoopBackOff",
        ("exit code 1", "reason Error", "max_model_len (131072)", '"c"')),
    "crashloop-oom": ({"phase": "Running", "containers": [f.crashlooping(
        "c", exit_code=137, reason="OOMKilled")]}, [], None, State.FAILED, "CrashLoopBackOff",
        ("exit code 137", "OOMKilled")),
    "init-container-crashloop": (
        {"init_containers": [f.crashlooping("download-model", exit_code=2)],
         "containers": [W("c", "PodInitializing")]}, [], None, State.FAILED, "CrashLoopBackOff",
        ('init container "download-model"', "exit code 2")),
    "unschedulable": ({"scheduled": False, "unschedulable_message": f.MSG_UNSCHEDULABLE}, [],
                      None, State.FAILED, "Unschedulable", ("4 Insufficient nvidia.com/gpu",)),
    "unschedulable-autoscaler-scaling-up": (
        {"scheduled": False, "unschedulable_message": f.MSG_UNSCHEDULABLE},
        [f.event("TriggeredScaleUp", "pod triggered scale-up: [{gpu-pool 1->2 (max: 4)}]",
                 "POD", etype="Normal")], None, State.PROGRESSING, None,
        ("TriggeredScaleUp", "waiting for new nodes")),
    "unschedulable-autoscaler-gave-up": (
        {"scheduled": False, "unschedulable_message": f.MSG_UNSCHEDULABLE},
        [f.event("TriggeredScaleUp", "pod triggered scale-up", "POD", last=f.T0),
         f.event("NotTriggerScaleUp", "pod didn't trigger scale-up: 1 max node group size "
                 "reached", "POD", last=f.T2)], None, State.FAILED, "Unschedulable", ()),
    "container-creating-is-progress": ({"containers": [W("c", "ContainerCreating")]}, [], None,
                                       State.PROGRESSING, None, ("1 pod(s): 0 ready",)),
    "create-container-error-is-hint": (
        {"containers": [W("c", "CreateContainerError", "context deadline exceeded")]}, [], None,
        State.PROGRESSING, None, ("CreateContainerError: context deadline exceeded",)),
    "restarting-is-hint": (
        {"phase": "Running", "containers": [dict(f.running("c", ready=False), restartCount=1,
                                                 lastState={"terminated": {"exitCode": 1}})]},
        [], None, State.PROGRESSING, None, ("ContainerRestarting", "exit code 1")),
    "terminating-pod-ignored": ({"terminating": True, "containers": [f.crashlooping("c")]}, [],
                                None, State.PROGRESSING, None, ()),
}


def _rename(events: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    out = []
    for e in events:
        e = dict(e, involvedObject=dict(e["involvedObject"], name=name, uid=f"uid-{name}"))
        out.append(e)
    return out


@pytest.mark.parametrize("target", ["knative", "lws"])
@pytest.mark.parametrize(
    ("pod_kw", "events", "now", "state", "reason", "fragments"),
    POD_CASES.values(), ids=POD_CASES.keys(),
)
def test_pod_failures(
    target: str, pod_kw: dict[str, Any], events: list[dict[str, Any]], now: datetime | None,
    state: State, reason: str | None, fragments: tuple[str, ...],
) -> None:
    if target == "knative":
        obj, pod = _svc(), _kpod_with(**pod_kw)
    else:
        obj, pod = _lws(), _lpod_with(**pod_kw)
    events = _rename(events, pod["metadata"]["name"])
    result = evaluate(obj, pods=[pod], events=events, now=now)
    assert result.state is state, result.message
    if reason is not None:
        assert result.reason == reason
    for fragment in fragments:
        assert fragment in result.message
    if state is State.FAILED:
        assert f'pod "{pod["metadata"]["name"]}"' in result.message


def test_several_failing_pods_report_image_first_and_count_others() -> None:
    pods = [
        f.kpod(suffix="a", scheduled=False, unschedulable_message=f.MSG_UNSCHEDULABLE),
        f.kpod(suffix="b", containers=[f.crashlooping("c")]),
        f.kpod(suffix="c", containers=[W("c", "ImagePullBackOff", f.MSG_BACKOFF_PULL)]),
    ]
    for order in (pods, pods[::-1]):
        result = evaluate(_svc(), pods=order)
        assert result.reason == "ImagePullBackOff"
        assert "(+2 more failing)" in result.message
        assert "llm-00002-deployment-c" in result.message


# Events alone (pods listed but not explaining, or not listed at all).
EVENT_CASES: dict[str, tuple[str, str, State, str | None]] = {
    "backoff-pulling": ("BackOff", f.MSG_BACKOFF_PULL, State.FAILED, "ImagePullBackOff"),
    "backoff-restarting": ("BackOff", "Back-off restarting failed container vllm in pod x",
                           State.FAILED, "CrashLoopBackOff"),
    "error-imagepullbackoff": ("Failed", "Error: ImagePullBackOff", State.FAILED,
                               "ImagePullBackOff"),
    "error-secret-missing": ("Failed", 'Error: secret "hf-token" not found', State.FAILED,
                             "CreateContainerConfigError"),
    "inspect-failed": ("InspectFailed", f.MSG_INVALID_NAME, State.FAILED, "InvalidImageName"),
    "pull-not-found": ("Failed", f'Failed to pull image "{f.BAD_IMAGE}": {f.MSG_PULL_NOT_FOUND}',
                       State.FAILED, "ErrImagePull"),
    "failed-scheduling": ("FailedScheduling", f.MSG_UNSCHEDULABLE, State.FAILED, "Unschedulable"),
    "kai-unschedulable": ("Unschedulable", "Not enough resources for the job", State.FAILED,
                          "Unschedulable"),
    "failed-mount-is-hint": ("FailedMount", 'MountVolume.SetUp failed for volume "cache" : '
                             'persistentvolumeclaim "models" not found', State.PROGRESSING, None),
    "normal-pulling-ignored": ("Pulling", f'Pulling image "{f.GOOD_IMAGE}"', State.PROGRESSING,
                               None),
}


@pytest.mark.parametrize("with_pod", [False, True])
@pytest.mark.parametrize(("reason", "message", "state", "expected"), EVENT_CASES.values(),
                         ids=EVENT_CASES.keys())
def test_event_cases(
    with_pod: bool, reason: str, message: str, state: State, expected: str | None
) -> None:
    pods = [f.kpod(scheduled=False)] if with_pod else []
    result = evaluate(_svc(), pods=pods, events=[f.event(reason, message, POD)])
    assert result.state is state, result.message
    if expected is not None:
        assert result.reason == expected
        assert message.split(":")[0] in result.message
    if reason == "FailedMount":
        assert "FailedMount" in result.message


def test_events_k8s_io_format() -> None:
    event = {
        "apiVersion": "events.k8s.io/v1", "kind": "Event", "reason": "BackOff",
        "note": f.MSG_BACKOFF_PULL, "type": "Warning",
        "regarding": {"kind": "Pod", "name": POD, "namespace": f.NS},
        "eventTime": "2025-03-01T10:00:05.123456Z",
        "series": {"count": 4, "lastObservedTime": "2025-03-01T10:01:00.000000Z"},
    }
    result = evaluate(_svc(), events=[event])
    assert result.failed and result.reason == "ImagePullBackOff"


def test_failed_scheduling_ignored_once_pod_is_scheduled() -> None:
    pods = [f.kpod(containers=[W("c", "ContainerCreating")])]
    events = [f.event("FailedScheduling", f.MSG_UNSCHEDULABLE, POD)]
    assert evaluate(_svc(), pods=pods, events=events).state is State.PROGRESSING


def test_failed_scheduling_ignored_after_scheduled_event_when_pod_not_listed() -> None:
    events = [f.event("FailedScheduling", f.MSG_UNSCHEDULABLE, POD, last=f.T0),
              f.event("Scheduled", "Successfully assigned team-a/x to gpu-node-2", POD,
                      etype="Normal", last=f.T1)]
    assert evaluate(_svc(), events=events).state is State.PROGRESSING


def test_events_of_previous_pod_with_same_name_ignored() -> None:
    """LWS pods keep their names across recreation; the uid tells incarnations apart."""
    pods = [f.lpod(0, uid="new-uid", containers=[W("vllm", "ContainerCreating")])]
    events = [f.event("BackOff", "Back-off restarting failed container vllm", "dist-0",
                      uid="old-uid")]
    assert evaluate(_lws(), pods=pods, events=events).state is State.PROGRESSING
    events[0]["involvedObject"]["uid"] = "new-uid"
    assert evaluate(_lws(), pods=pods, events=events).failed


def test_events_of_pods_no_longer_listed_ignored() -> None:
    pods = [f.kpod(suffix="new", containers=[W("c", "ContainerCreating")])]
    events = [f.event("BackOff", f.MSG_BACKOFF_PULL, POD)]
    assert evaluate(_svc(), pods=pods, events=events).state is State.PROGRESSING


def test_ready_pod_events_ignored() -> None:
    pods = [f.kpod(phase="Running", ready=True, containers=[f.running("c")])]
    events = [f.event("BackOff", f.MSG_BACKOFF_PULL, POD)]
    assert evaluate(_svc(), pods=pods, events=events).state is State.PROGRESSING


def test_stale_failed_create_is_only_a_hint_when_pods_exist() -> None:
    pods = [f.kpod(created=f.T2, containers=[W("c", "ContainerCreating")])]
    events = [f.event("FailedCreate", "pods is forbidden: exceeded quota",
                      "llm-00002-deployment-6d4b9c7f8", kind="ReplicaSet", last=f.T1)]
    result = evaluate(_svc(), pods=pods, events=events)
    assert result.state is State.PROGRESSING and "FailedCreate" in result.message
