"""core/v1 (and events.k8s.io/v1) Events: normalisation and what each one means.

Events explain what pods alone do not: a pod that was already replaced, a ReplicaSet or
StatefulSet that could not create pods at all (quota, admission webhook), the scheduler's
message for a pod not yet listed. Only Warning-style reasons the kubelet, scheduler and
controllers emit are interpreted; everything else is ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inference_core.readiness.accessors import as_int, as_map, as_str, parse_time, shorten
from inference_core.readiness.findings import Finding

PERMANENT_PULL_ERRORS: tuple[str, ...] = (
    "not found",
    "manifest unknown",
    "name unknown",
    "invalid reference format",
    "pull access denied",
    "repository does not exist",
    "unauthorized",
    "authentication required",
    "access denied",
    "requested access to the resource is denied",
    "403 forbidden",
    "no match for platform",
)
"""Lower-case fragments of an ``ErrImagePull`` message that retrying cannot fix."""

PULL_REPEAT_THRESHOLD = 2
"""Pull failures of one pod (summed event counts) after which ``ErrImagePull`` fails."""

PULL_GRACE = timedelta(seconds=60)
"""Age of the first pull failure after which ``ErrImagePull`` fails (needs ``now``)."""

ERROR_PREFIX_FAILS: frozenset[str] = frozenset(
    {"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CrashLoopBackOff",
     "CreateContainerConfigError"}
)


@dataclass(frozen=True)
class EventInfo:
    """The fields of one Event that readiness uses, from either Event API."""

    reason: str
    message: str
    kind: str
    name: str
    uid: str | None
    count: int
    first: datetime | None
    last: datetime | None


def normalize(event: Mapping[str, Any]) -> EventInfo | None:
    """An :class:`EventInfo`, or None when the dict lacks a reason or an involved object."""
    involved = as_map(event.get("involvedObject")) or as_map(event.get("regarding"))
    reason = as_str(event.get("reason"))
    name = as_str(involved.get("name"))
    if reason is None or name is None:
        return None
    series = as_map(event.get("series"))
    count = as_int(event.get("count")) or as_int(series.get("count"))
    count = count or as_int(event.get("deprecatedCount")) or 1
    first = (
        parse_time(event.get("firstTimestamp"))
        or parse_time(event.get("deprecatedFirstTimestamp"))
        or parse_time(event.get("eventTime"))
    )
    last = (
        parse_time(event.get("lastTimestamp"))
        or parse_time(series.get("lastObservedTime"))
        or parse_time(event.get("deprecatedLastTimestamp"))
        or parse_time(event.get("eventTime"))
        or first
    )
    return EventInfo(
        reason=reason,
        message=as_str(event.get("message")) or as_str(event.get("note")) or "",
        kind=as_str(involved.get("kind")) or "",
        name=name,
        uid=as_str(involved.get("uid")),
        count=max(count, 1),
        first=first or last,
        last=last,
    )


def _pull_failures(events: Sequence[EventInfo]) -> tuple[int, datetime | None]:
    total = 0
    first: datetime | None = None
    for event in events:
        if event.reason == "Failed" and "failed to pull image" in event.message.lower():
            total += event.count
            if event.first is not None and (first is None or event.first < first):
                first = event.first
    return total, first


def pull_is_permanent(message: str) -> bool:
    """True when an image-pull error message says retrying cannot help."""
    lowered = message.lower()
    return any(fragment in lowered for fragment in PERMANENT_PULL_ERRORS)


def errimagepull(
    subject: str, message: str, pod_events: Sequence[EventInfo], now: datetime | None
) -> Finding:
    """Decide whether an ``ErrImagePull`` is already terminal (see ``pods`` module doc)."""
    count, first = _pull_failures(pod_events)
    if pull_is_permanent(message):
        return Finding(True, "ErrImagePull", message, subject)
    if count >= PULL_REPEAT_THRESHOLD:
        return Finding(True, "ErrImagePull", f"{message} (pull failed {count} times)", subject)
    if now is not None and first is not None and now - first >= PULL_GRACE:
        age = int((now - first).total_seconds())
        return Finding(True, "ErrImagePull", f"{message} (failing for {age}s)", subject)
    return Finding(False, "ErrImagePull", message, subject)


def _error_reason(message: str) -> str | None:
    """``Error: ImagePullBackOff`` → ``ImagePullBackOff``; missing Secret/ConfigMap too."""
    if not message.startswith("Error: "):
        return None
    rest = message[len("Error: "):].strip()
    if rest in ERROR_PREFIX_FAILS:
        return rest
    lowered = rest.lower()
    if ("secret" in lowered or "configmap" in lowered or "couldn't find key" in lowered) and (
        "not found" in lowered or "couldn't find key" in lowered
    ):
        return "CreateContainerConfigError"
    return None


def pod_event_finding(
    event: EventInfo,
    pod_events: Sequence[EventInfo],
    now: datetime | None,
    *,
    scheduled: bool,
) -> Finding | None:
    """What one event about a pod means (``pod_events``: all events of that pod)."""
    subject = f'pod "{event.name}"'
    message = shorten(event.message)
    if event.reason in ("FailedScheduling", "Unschedulable"):
        if scheduled:
            return None
        return Finding(True, "Unschedulable", message, subject)
    if event.reason == "BackOff":
        lowered = message.lower()
        if "pulling image" in lowered:
            return Finding(True, "ImagePullBackOff", message, subject)
        if "restarting failed container" in lowered:
            return Finding(True, "CrashLoopBackOff", message, subject)
        return None
    if event.reason == "InspectFailed":
        return Finding(True, "InvalidImageName", message, subject)
    if event.reason == "ErrImageNeverPull":
        return Finding(True, "ErrImageNeverPull", message, subject)
    if event.reason == "Failed":
        if "failed to pull image" in message.lower():
            return errimagepull(subject, message, pod_events, now)
        reason = _error_reason(message)
        if reason is not None:
            return Finding(True, reason, message, subject)
        return None
    if event.reason in ("FailedMount", "FailedAttachVolume", "FailedCreatePodSandBox"):
        return Finding(False, event.reason, message, subject)
    return None


def owner_event_finding(event: EventInfo) -> Finding | None:
    """What an event on a ReplicaSet/StatefulSet/Deployment/Job means."""
    if event.reason != "FailedCreate":
        return None
    message = shorten(event.message)
    subject = f'{event.kind or "owner"} "{event.name}"'
    lowered = message.lower()
    terminal = "forbidden" in lowered or "exceeded quota" in lowered or "denied" in lowered
    return Finding(terminal, "FailedCreate", message, subject)
