"""LeaderWorkerSet readiness (k8s-mapping.md §2.4, §2.6): no failure condition, so pods decide."""

from __future__ import annotations

from typing import Any

import pytest

from inference_core.readiness import State, evaluate, leader_url
from tests.readiness import fixtures as f

NEW, OLD = "5f8d9c7b6", "7c9f5d6b4"


def _healthy_group(group: int, hash_: str = OLD) -> list[dict[str, Any]]:
    return [f.lpod(group, w, hash_=hash_, phase="Running", ready=True,
                   containers=[f.running("vllm")]) for w in (0, 1)]


CASES: dict[str, tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any], State, str,
                       tuple[str, ...]]] = {
    "all-groups-ready": (f.lws(), [], {}, State.READY, "AllGroupsReady",
                         ("2/2 groups ready", "dist-leader.team-a.svc.cluster.local:8000")),
    "partial-groups": (f.lws(ready=1, conditions=f.lws_progressing()),
                       [*_healthy_group(0),
                        f.lpod(1, phase="Pending", containers=[f.running("vllm", ready=False)])],
                       {}, State.PROGRESSING, "GroupsProgressing",
                       ("1/2 groups ready", "Replicas are progressing")),
    "update-in-progress": (f.lws(generation=2, observed=2, ready=2, updated=1,
                                 conditions=f.lws_updating(2)),
                           _healthy_group(0, NEW) + _healthy_group(1, OLD), {},
                           State.PROGRESSING, "GroupsUpdating",
                           ("1/2 updated", "Rolling Upgrade is in progress")),
    "observed-generation-behind": (f.lws(generation=2, observed=1), [], {}, State.PROGRESSING,
                                   "ObservedGenerationBehind", ("observedGeneration 1",)),
    "available-condition-for-old-generation": (
        f.lws(generation=2, observed=2, conditions=f.lws_available(1)), [], {},
        State.PROGRESSING, "ObservedGenerationBehind", ("older generation",)),
    "scale-down-in-flight": (f.lws(replicas=1, ready=1, updated=1, total=2), [], {},
                             State.PROGRESSING, "GroupsProgressing", ("1/1 groups ready",)),
    "stale-read": (f.lws(generation=1), [], {"expected_generation": 2}, State.PROGRESSING,
                   "ObservedGenerationBehind", ("stale read",)),
    "worker-unschedulable": (
        f.lws(ready=1, conditions=f.lws_progressing()),
        [*_healthy_group(0),
         f.lpod(1, phase="Running", containers=[f.running("vllm", ready=False)]),
         f.lpod(1, 1, phase="Pending", scheduled=False,
                unschedulable_message=f.MSG_UNSCHEDULABLE)],
        {}, State.FAILED, "Unschedulable",
        ('pod "dist-1-1"', "Insufficient nvidia.com/gpu", "1/2 groups ready")),
    "leader-crashloop-oom": (
        f.lws(ready=0, conditions=f.lws_progressing()),
        [f.lpod(0, phase="Running", containers=[f.crashlooping(
            "vllm-leader", exit_code=137, reason="OOMKilled")])],
        {}, State.FAILED, "CrashLoopBackOff", ("exit code 137", "OOMKilled", "3 restarts")),
    "bad-image-new-revision-only": (
        f.lws(generation=2, observed=2, ready=1, updated=1, conditions=f.lws_updating(2)),
        [*_healthy_group(0, OLD), f.lpod(1, hash_=NEW, containers=[
            f.waiting("vllm-leader", "ImagePullBackOff", f.MSG_BACKOFF_PULL)])],
        {"expected_revision": NEW}, State.FAILED, "ImagePullBackOff",
        (f.BAD_IMAGE, 'pod "dist-1"')),
    "old-revision-pod-failing-ignored-during-update": (
        f.lws(generation=2, observed=2, ready=1, updated=1, conditions=f.lws_updating(2)),
        [*_healthy_group(0, NEW), f.lpod(1, hash_=OLD, containers=[f.crashlooping("vllm")])],
        {"expected_revision": NEW}, State.PROGRESSING, "GroupsUpdating", ()),
    "other-lws-pods-ignored": (
        f.lws(ready=1, conditions=f.lws_progressing()),
        [f.lpod(0, lws_name="other", containers=[f.crashlooping("vllm")])],
        {}, State.PROGRESSING, "GroupsProgressing", ()),
}


@pytest.mark.parametrize(
    ("obj", "pods", "kwargs", "state", "reason", "fragments"), CASES.values(), ids=CASES.keys()
)
def test_lws_cases(
    obj: dict[str, Any], pods: list[dict[str, Any]], kwargs: dict[str, Any], state: State,
    reason: str, fragments: tuple[str, ...],
) -> None:
    result = evaluate(obj, pods=pods, **kwargs)
    assert (result.state, result.reason) == (state, reason), result.message
    assert result.message.startswith("LeaderWorkerSet team-a/dist")
    for fragment in fragments:
        assert fragment in result.message
    assert result.traffic == ()


def test_revision_is_template_hash() -> None:
    assert evaluate(f.lws(), pods=_healthy_group(0) + _healthy_group(1)).revision == OLD
    mixed = _healthy_group(0, NEW) + _healthy_group(1, OLD)
    assert evaluate(f.lws(), pods=mixed).revision is None
    assert evaluate(f.lws(), pods=mixed, expected_revision=NEW).revision == NEW


def test_zero_replicas_is_ready_without_available() -> None:
    obj = f.lws(replicas=0, ready=0, updated=0, conditions=[])
    assert evaluate(obj).ready


def test_pending_groups_explained_by_kai_podgroup() -> None:
    obj = f.lws(ready=0, updated=2, conditions=f.lws_progressing())
    pods = [f.lpod(g, w, scheduled=False, annotations={"pod-group-name": "pg-dist-0a1b"})
            for g in (0, 1) for w in (0, 1)]
    group = f.podgroup("pg-dist-0a1b", reasons=[
        ("OverLimit", "queue 'team-a' requested 8 GPUs, limit is 4")])
    result = evaluate(obj, pods=pods, events=[group])
    assert result.failed and result.reason == "Unschedulable"
    assert 'KAI PodGroup "pg-dist-0a1b" (queue "team-a")' in result.message
    assert "OverLimit: queue 'team-a' requested 8 GPUs" in result.message


def test_kai_explanation_added_to_unschedulable_pod() -> None:
    obj = f.lws(ready=0, conditions=f.lws_progressing())
    pods = [f.lpod(0, scheduled=False, unschedulable_message="0/2 nodes are available")]
    group = f.podgroup("pg-dist-0a1b", reasons=[("NonPreemptibleOverQuota", "over quota")])
    result = evaluate(obj, pods=pods, revisions=[group])
    assert result.reason == "Unschedulable"
    assert "0/2 nodes are available; KAI PodGroup" in result.message


def test_kai_podgroup_ignored_once_pods_are_scheduled() -> None:
    obj = f.lws(ready=0, conditions=f.lws_progressing())
    pods = [f.lpod(0, phase="Running", containers=[f.running("vllm", ready=False)])]
    group = f.podgroup("pg-dist-0a1b", reasons=[("OverLimit", "x")])
    assert evaluate(obj, pods=pods, events=[group]).state is State.PROGRESSING


def test_statefulset_failed_create_is_failure() -> None:
    obj = f.lws(ready=0, conditions=f.lws_progressing())
    events = [f.event("FailedCreate", 'create Pod dist-0-1 in StatefulSet dist-0 failed error: '
                      'admission webhook "validate.kai" denied the request: no queue',
                      "dist-0", kind="StatefulSet")]
    result = evaluate(obj, events=events)
    assert result.failed and result.reason == "FailedCreate"


def test_leader_url() -> None:
    assert leader_url(f.lws()) == "http://dist-leader.team-a.svc.cluster.local:8000"
    bare = f.lws()
    bare["spec"]["leaderWorkerTemplate"]["leaderTemplate"]["spec"]["containers"][0].pop("ports")
    assert leader_url(bare) == "http://dist-leader.team-a.svc.cluster.local"
    del bare["metadata"]["namespace"]
    assert leader_url(bare) is None
