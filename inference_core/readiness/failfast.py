"""Combine pod, event and PodGroup inspection into one fail-fast verdict for a workload."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from inference_core.readiness import kai
from inference_core.readiness.accessors import (
    EPOCH,
    as_str,
    aware,
    metadata,
    name_of,
    parse_time,
)
from inference_core.readiness.events import (
    EventInfo,
    normalize,
    owner_event_finding,
    pod_event_finding,
)
from inference_core.readiness.findings import Finding, pick
from inference_core.readiness.pods import (
    inspect_pod,
    is_ready,
    is_scheduled,
    is_terminating,
    summarize,
)

POD_KINDS = frozenset({"Pod"})
OWNER_KINDS = frozenset({"ReplicaSet", "Deployment", "StatefulSet"})


@dataclass(frozen=True)
class Inspection:
    """Result of :func:`inspect`: the failure to report (if any), how many more failures,
    the best progress hint, and a one-line pod summary."""

    failure: Finding | None
    more_failures: int
    hint: Finding | None
    summary: str

    def failure_text(self) -> str:
        """The failure as text, with ``(+N more)`` when several pods fail."""
        if self.failure is None:
            return ""
        text = self.failure.text()
        if self.more_failures:
            text += f" (+{self.more_failures} more failing)"
        return text


def _split(events: Sequence[Mapping[str, Any]]) -> tuple[list[EventInfo], list[Mapping[str, Any]]]:
    infos: list[EventInfo] = []
    groups: list[Mapping[str, Any]] = []
    for raw in events:
        if not isinstance(raw, Mapping):
            continue
        if kai.is_podgroup(raw):
            groups.append(raw)
            continue
        info = normalize(raw)
        if info is not None:
            infos.append(info)
    return infos, groups


def _events_of(pod: Mapping[str, Any], infos: Sequence[EventInfo]) -> list[EventInfo]:
    name = name_of(pod)
    uid = as_str(metadata(pod).get("uid"))
    return [
        e for e in infos
        if e.kind in POD_KINDS and e.name == name and (uid is None or e.uid in (None, uid))
    ]


def inspect(
    pods: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    *,
    pod_matches: Callable[[str], bool],
    owner_matches: Callable[[str], bool],
    podgroups: Sequence[Mapping[str, Any]] = (),
    since: datetime | None = None,
    now: datetime | None = None,
) -> Inspection:
    """Inspect the pods that matter (already filtered by the caller) and their events.

    ``pod_matches``/``owner_matches`` decide whether an event about a pod/owner that is not
    in ``pods`` belongs to this workload (used only when ``pods`` is empty: once pods are
    listed, events of pods no longer listed are stale). Events last seen before ``since``
    (the revision's creation) are ignored. KAI PodGroups may come in ``podgroups`` or
    inside ``events``.
    """
    now = aware(now)
    infos, extra_groups = _split(events)
    if since is not None:
        infos = [e for e in infos if e.last is None or e.last >= since]
    live = sorted(
        (p for p in pods if isinstance(p, Mapping) and not is_terminating(p)),
        key=lambda p: name_of(p) or "",
    )
    findings: list[Finding] = []
    for pod in live:
        findings.extend(inspect_pod(pod, _events_of(pod, infos), now))
    if not any(f.failed for f in findings):
        findings.extend(_event_findings(live, infos, pod_matches, owner_matches, now))
    groups = kai.relevant_podgroups([*podgroups, *extra_groups], live)
    unscheduled = not live or any(not is_scheduled(p) for p in live)
    why_pending = next((t for t in map(kai.explain, groups) if t), None) if unscheduled else None
    failure, more = pick([f for f in findings if f.failed])
    if failure is not None and failure.reason == "Unschedulable" and why_pending:
        failure = replace(failure, message=f"{failure.message}; {why_pending}".lstrip("; "))
    elif failure is None and why_pending:
        failure, more = Finding(True, "Unschedulable", why_pending), 0
    hint, _ = pick([f for f in findings if not f.failed])
    return Inspection(failure, more, hint, summarize(live))


def _event_findings(
    live: Sequence[Mapping[str, Any]],
    infos: Sequence[EventInfo],
    pod_matches: Callable[[str], bool],
    owner_matches: Callable[[str], bool],
    now: datetime | None,
) -> list[Finding]:
    by_name = {name_of(p): p for p in live}
    out: list[Finding] = []
    for event in infos:
        finding: Finding | None = None
        if event.kind in POD_KINDS:
            pod = by_name.get(event.name)
            if pod is None and (live or not pod_matches(event.name)):
                continue
            if pod is not None:
                uid = as_str(metadata(pod).get("uid"))
                if (uid and event.uid and uid != event.uid) or is_ready(pod):
                    continue
                pod_events = _events_of(pod, infos)
                scheduled = is_scheduled(pod)
            else:
                pod_events = [e for e in infos if e.kind in POD_KINDS and e.name == event.name]
                scheduled = _scheduled_later(event, pod_events)
            finding = pod_event_finding(event, pod_events, now, scheduled=scheduled)
        elif event.kind in OWNER_KINDS and owner_matches(event.name):
            finding = owner_event_finding(event)
            if finding is not None and live and not _after_all_pods(event, live):
                finding = replace(finding, failed=False)
        if finding is not None:
            out.append(finding)
    return out


def _scheduled_later(event: EventInfo, pod_events: Sequence[EventInfo]) -> bool:
    """True when a ``Scheduled`` event for the same pod is not older than ``event``."""
    when = event.last or EPOCH
    return any(e.reason == "Scheduled" and (e.last or EPOCH) >= when for e in pod_events)


def _after_all_pods(event: EventInfo, live: Sequence[Mapping[str, Any]]) -> bool:
    """True when ``event`` happened after every listed pod was created (so it is current)."""
    if event.last is None:
        return False
    created = [parse_time(metadata(p).get("creationTimestamp")) for p in live]
    return all(c is not None and event.last >= c for c in created)
