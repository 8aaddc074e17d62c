"""Fail-fast inspection of pods: kubelet waiting reasons and scheduler conditions.

Knative reports ``ImagePullBackOff`` and friends only after the Deployment's progress
deadline (600 s by default); LeaderWorkerSet never reports a failure at all. The pods know
much earlier, so readiness reads them directly.

Fail-fast decisions (this docstring is their reference):

- Fail at once on the waiting reasons in :data:`FAIL_WAITING` (``ImagePullBackOff``,
  ``InvalidImageName``, ``ErrImageNeverPull``, ``CreateContainerConfigError``,
  ``CrashLoopBackOff``) and on ``PodScheduled=False`` with reason ``Unschedulable``.
- ``ErrImagePull`` is the kubelet's *first* pull failure and may be transient (registry
  hiccup, rate limit, DNS). It fails at once only when the message is clearly permanent
  (``events.PERMANENT_PULL_ERRORS``: not found, manifest unknown, access denied, bad
  reference ...); otherwise only once it repeats: pull-failure events for that pod count
  at least ``events.PULL_REPEAT_THRESHOLD`` (2), or (when ``now`` is given) the first one is
  at least ``events.PULL_GRACE`` (60 s) old. Until then it is a progress hint.
- ``Unschedulable`` is not terminal while the cluster autoscaler reports
  ``TriggeredScaleUp`` for the pod (newer than any ``NotTriggerScaleUp``).
- Terminating pods (``metadata.deletionTimestamp``) are ignored.
- Events are read only when no listed pod already shows a failure (``failfast``):
  ``FailedScheduling``/``Unschedulable`` (KAI), ``BackOff`` (pulling image / restarting
  container), ``Failed`` (``Error: <reason>``, ``Failed to pull image`` with the same
  ``ErrImagePull`` rule), ``InspectFailed`` → ``InvalidImageName``, and ``FailedCreate`` on
  the ReplicaSet/StatefulSet when forbidden/over quota/denied. Stale events are dropped:
  events of another incarnation of a pod (``involvedObject.uid``), of pods no longer listed,
  of ready pods, scheduling events of scheduled pods, and (Knative) events older than the
  target Revision. ``FailedMount``/``FailedAttachVolume`` are hints only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inference_core.readiness.accessors import (
    EPOCH,
    as_int,
    as_list,
    as_map,
    as_str,
    aware,
    metadata,
    name_of,
    path,
    shorten,
)
from inference_core.readiness.events import EventInfo, errimagepull
from inference_core.readiness.findings import Finding

FAIL_WAITING: frozenset[str] = frozenset(
    {
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CreateContainerConfigError",
        "CrashLoopBackOff",
    }
)
"""Container waiting reasons that fail the workload at once."""

HINT_WAITING: frozenset[str] = frozenset(
    {"ErrImagePull", "CreateContainerError", "RunContainerError", "PreCreateHookError",
     "PreStartHookError", "PostStartHookError"}
)
"""Waiting reasons reported as the progress reason (not failed yet)."""

def is_terminating(pod: Mapping[str, Any]) -> bool:
    """True when the pod is being deleted (its findings no longer matter)."""
    return metadata(pod).get("deletionTimestamp") is not None


def is_scheduled(pod: Mapping[str, Any]) -> bool:
    """True when the pod has a node (``spec.nodeName`` or ``PodScheduled=True``)."""
    if as_str(path(pod, "spec", "nodeName")):
        return True
    return any(
        c.get("type") == "PodScheduled" and c.get("status") == "True"
        for c in as_list(path(pod, "status", "conditions"))
    )


def is_ready(pod: Mapping[str, Any]) -> bool:
    """True when the pod's ``Ready`` condition is True."""
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in as_list(path(pod, "status", "conditions"))
    )


def _container_statuses(pod: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    status = as_map(pod.get("status"))
    out = [("init container", s) for s in as_list(status.get("initContainerStatuses"))]
    out += [("container", s) for s in as_list(status.get("containerStatuses"))]
    return out


def _last_exit(cstatus: Mapping[str, Any]) -> str:
    term = as_map(path(cstatus, "lastState", "terminated"))
    if not term:
        return ""
    parts = []
    code = as_int(term.get("exitCode"))
    if code is not None:
        parts.append(f"exit code {code}")
    reason = as_str(term.get("reason"))
    if reason:
        parts.append(f"reason {reason}")
    text = f"last termination: {', '.join(parts)}" if parts else "last termination"
    message = as_str(term.get("message"))
    if message:
        text += f", message: {shorten(message, 300)}"
    return text


def _scale_up_pending(events: Sequence[EventInfo]) -> bool:
    latest: tuple[datetime, str] | None = None
    for event in events:
        if event.reason in ("TriggeredScaleUp", "NotTriggerScaleUp"):
            key = (event.last or EPOCH, event.reason)
            if latest is None or key[0] >= latest[0]:
                latest = key
    return latest is not None and latest[1] == "TriggeredScaleUp"


def inspect_pod(
    pod: Mapping[str, Any], events: Sequence[EventInfo] = (), now: datetime | None = None
) -> list[Finding]:
    """Findings (failures and hints) for one pod; ``events`` are this pod's own events."""
    pod_name = name_of(pod) or "<unnamed>"
    findings: list[Finding] = []
    for label, cstatus in _container_statuses(pod):
        cname = as_str(cstatus.get("name")) or "?"
        subject = f'pod "{pod_name}" {label} "{cname}"'
        waiting = as_map(path(cstatus, "state", "waiting"))
        reason = as_str(waiting.get("reason"))
        message = shorten(as_str(waiting.get("message")) or "")
        if reason == "CrashLoopBackOff":
            restarts = as_int(cstatus.get("restartCount"))
            extra = [x for x in (_last_exit(cstatus),) if x]
            if restarts is not None:
                extra.append(f"{restarts} restarts")
            detail = "; ".join([message, *extra] if message else extra)
            findings.append(Finding(True, reason, detail, subject))
        elif reason in FAIL_WAITING:
            findings.append(Finding(True, reason, message, subject))
        elif reason == "ErrImagePull":
            findings.append(errimagepull(subject, message, events, aware(now)))
        elif reason in HINT_WAITING:
            findings.append(Finding(False, reason, message, subject))
        elif (as_int(cstatus.get("restartCount")) or 0) > 0 and not cstatus.get("ready"):
            last = _last_exit(cstatus) or "restarted"
            findings.append(Finding(False, "ContainerRestarting", last, subject))
    for cond in as_list(path(pod, "status", "conditions")):
        if cond.get("type") != "PodScheduled" or cond.get("status") != "False":
            continue
        reason = as_str(cond.get("reason")) or "Unschedulable"
        message = shorten(as_str(cond.get("message")) or "")
        subject = f'pod "{pod_name}"'
        if reason == "Unschedulable" and not _scale_up_pending(events):
            findings.append(Finding(True, reason, message, subject))
        elif reason == "Unschedulable":
            findings.append(
                Finding(False, "TriggeredScaleUp", f"waiting for new nodes; {message}", subject)
            )
        else:
            findings.append(Finding(False, reason, message, subject))
    return findings


def summarize(pods: Sequence[Mapping[str, Any]]) -> str:
    """``3 pod(s): 1 ready, 1 running not ready, 1 pending`` (empty when no pods)."""
    live = [p for p in pods if not is_terminating(p)]
    if not live:
        return ""
    ready = sum(1 for p in live if is_ready(p))
    running = sum(
        1 for p in live if not is_ready(p) and path(p, "status", "phase") == "Running"
    )
    pending = len(live) - ready - running
    parts = [f"{ready} ready"]
    if running:
        parts.append(f"{running} running not ready")
    if pending:
        parts.append(f"{pending} not running")
    return f"{len(live)} pod(s): {', '.join(parts)}"
