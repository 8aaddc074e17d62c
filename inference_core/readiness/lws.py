"""Readiness of a LeaderWorkerSet (``leaderworkerset.x-k8s.io/v1``), k8s-mapping.md §2.6.

LWS has no failure condition: a group whose pods crash or cannot be scheduled just keeps
``Progressing=True``. So:

- READY when the status is current (``observedGeneration == generation``), ``Available=True``
  (its ``observedGeneration``, when present, not older than the generation) and
  ``readyReplicas == updatedReplicas == spec.replicas`` (and ``status.replicas`` too, so a
  scale-down in flight is not ready).
- FAILED when the pods (label ``leaderworkerset.sigs.k8s.io/name=<name>``; during an update
  only pods of ``expected_revision``'s ``template-revision-hash``) or their events show a
  terminal problem (see ``pods``/``events``), or a KAI PodGroup says why the gang cannot be
  scheduled.
- PROGRESSING otherwise, with ``GroupsUpdating``/``GroupsProgressing`` as the reason.

Limitation: with ``restartPolicy: RecreateGroupOnPodRestart`` (the LWS default) a crashing
pod's whole group is deleted and recreated, so ``CrashLoopBackOff`` may never be visible;
the group then stays PROGRESSING until the caller's timeout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from inference_core.readiness import failfast, kai
from inference_core.readiness.accessors import (
    as_int,
    as_list,
    as_map,
    as_str,
    cond_message,
    cond_reason,
    cond_status,
    condition,
    describe,
    labels,
    metadata,
    path,
    shorten,
)
from inference_core.readiness.generation import GENERATION_BEHIND, generation_lag
from inference_core.readiness.model import Readiness, State
from inference_core.rollout.constants import LWS_NAME_LABEL

NAME_LABEL = LWS_NAME_LABEL
HASH_LABEL = "leaderworkerset.sigs.k8s.io/template-revision-hash"
GROUP_INDEX_LABEL = "leaderworkerset.sigs.k8s.io/group-index"


def leader_url(obj: Mapping[str, Any]) -> str | None:
    """``http://<name>-leader.<ns>.svc.cluster.local[:<port>]`` (the leader Service the
    renderer creates; port = the leader container's first ``containerPort``)."""
    meta = metadata(obj)
    name, ns = as_str(meta.get("name")), as_str(meta.get("namespace"))
    if name is None or ns is None:
        return None
    template = as_map(path(obj, "spec", "leaderWorkerTemplate", "leaderTemplate")) or as_map(
        path(obj, "spec", "leaderWorkerTemplate", "workerTemplate")
    )
    port: int | None = None
    for container in as_list(path(template, "spec", "containers")):
        for entry in as_list(container.get("ports")):
            port = as_int(entry.get("containerPort"))
            if port is not None:
                break
        if port is not None:
            break
    suffix = f":{port}" if port is not None else ""
    return f"http://{name}-leader.{ns}.svc.cluster.local{suffix}"


def _group_pods(
    pods: Sequence[Mapping[str, Any]], name: str, expected_revision: str | None
) -> list[Mapping[str, Any]]:
    out = []
    for pod in pods:
        if not isinstance(pod, Mapping):
            continue
        pod_labels = labels(pod)
        if pod_labels.get(NAME_LABEL) not in (None, name):
            continue
        if expected_revision is not None and pod_labels.get(HASH_LABEL) not in (
            None, expected_revision,
        ):
            continue
        out.append(pod)
    return out


def _pod_name_matcher(name: str) -> Callable[[str], bool]:
    def matches(pod_name: str) -> bool:
        if not pod_name.startswith(name + "-"):
            return False
        rest = pod_name[len(name) + 1:]
        return bool(rest) and all(part.isdigit() for part in rest.split("-"))

    return matches


def _revision_of(pods: Sequence[Mapping[str, Any]], expected: str | None) -> str | None:
    if expected is not None:
        return expected
    hashes = {as_str(labels(p).get(HASH_LABEL)) for p in pods}
    hashes.discard(None)
    return hashes.pop() if len(hashes) == 1 else None


def evaluate_lws(
    obj: Mapping[str, Any],
    *,
    pods: Sequence[Mapping[str, Any]] = (),
    events: Sequence[Mapping[str, Any]] = (),
    revisions: Sequence[Mapping[str, Any]] = (),
    expected_generation: int | None = None,
    expected_revision: str | None = None,
    now: datetime | None = None,
) -> Readiness:
    """Readiness of a LeaderWorkerSet (see the module docstring for the rules)."""
    meta = metadata(obj)
    ns, name = as_str(meta.get("namespace")), as_str(meta.get("name")) or "<unnamed>"
    who = describe("LeaderWorkerSet", ns, name)
    status = as_map(obj.get("status"))
    generation = as_int(meta.get("generation"))
    desired = as_int(path(obj, "spec", "replicas"))
    desired = 1 if desired is None else desired
    ready_n = as_int(status.get("readyReplicas")) or 0
    updated_n = as_int(status.get("updatedReplicas")) or 0
    total_n = as_int(status.get("replicas"))
    relevant = _group_pods(pods, name, expected_revision)

    def verdict(state: State, reason: str, message: str) -> Readiness:
        return Readiness(
            state=state, reason=reason, message=message, kind="LeaderWorkerSet",
            namespace=ns, name=name, revision=_revision_of(relevant, expected_revision),
            url=leader_url(obj), observed_generation=as_int(status.get("observedGeneration")),
        )

    counts = f"{ready_n}/{desired} groups ready, {updated_n}/{desired} updated"
    lag = generation_lag(obj, expected_generation)
    if lag is not None:
        return verdict(State.PROGRESSING, GENERATION_BEHIND, f"{who}: {lag}")
    available = condition(obj, "Available")
    avail_gen = as_int(available.get("observedGeneration")) if available else None
    available_now = cond_status(available) == "True" and (
        avail_gen is None or generation is None or avail_gen >= generation
    )
    if (
        (available_now or desired == 0)
        and ready_n == updated_n == desired
        and (total_n is None or total_n == desired)
    ):
        return verdict(
            State.READY, cond_reason(available) or "AllGroupsReady",
            f"{who} is ready: {counts}; leader at {leader_url(obj) or 'unknown address'}",
        )
    insp = failfast.inspect(
        relevant,
        events,
        pod_matches=_pod_name_matcher(name),
        owner_matches=lambda n: n == name or _pod_name_matcher(name)(n),
        podgroups=[g for g in revisions if isinstance(g, Mapping) and kai.is_podgroup(g)],
        now=now,
    )
    if insp.failure is not None:
        return verdict(
            State.FAILED, insp.failure.reason,
            f"{who} failed: {insp.failure_text()}; {counts}",
        )
    updating = condition(obj, "UpdateInProgress")
    progressing = condition(obj, "Progressing")
    if cond_status(updating) == "True":
        reason, detail = cond_reason(updating) or "GroupsUpdating", cond_message(updating)
    elif cond_status(progressing) == "True":
        reason, detail = cond_reason(progressing) or "GroupsProgressing", cond_message(progressing)
    elif cond_status(available) == "True" and not available_now:
        reason, detail = GENERATION_BEHIND, "Available condition is for an older generation"
    else:
        reason, detail = "GroupsProgressing", None
    parts = [f"{who} is not ready yet: {counts}"]
    if detail:
        parts.append(shorten(detail))
    if insp.summary:
        parts.append(insp.summary)
    if insp.hint is not None:
        parts.append(insp.hint.text())
    return verdict(State.PROGRESSING, reason, "; ".join(parts))
