"""Readiness of Knative Services and Revisions (``serving.knative.dev/v1``).

Rules (k8s-mapping.md §1.7-§1.9):

- READY only when the status is current (``observedGeneration == generation``, and the
  generation is at least the one the caller wrote), ``Ready=True`` and
  ``latestReadyRevisionName == latestCreatedRevisionName`` (== ``expected_revision``).
- ``Ready=False`` while an older revision is ready means "still serving the old revision":
  when the latest created revision failed, the verdict is FAILED with the revision's own
  reason and a message saying where traffic stays; ``revision`` is the serving one.
- The target revision's pods and events are inspected so a bad image or a crash fails in
  seconds instead of after Knative's 600 s progress deadline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
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
    name_of,
    parse_time,
    path,
    shorten,
)
from inference_core.readiness.findings import Finding
from inference_core.readiness.generation import GENERATION_BEHIND, generation_lag
from inference_core.readiness.model import Readiness, State, TrafficTarget
from inference_core.rollout.constants import KNATIVE_REVISION_LABEL, KNATIVE_SERVICE_LABEL

REVISION_LABEL = KNATIVE_REVISION_LABEL
SERVICE_LABEL = KNATIVE_SERVICE_LABEL

GENERIC_REASONS = frozenset({"ProgressDeadlineExceeded", "RevisionFailed", "Deploying"})
"""Revision reasons that a pod-level reason (``ImagePullBackOff`` ...) explains better."""

SETTLING_DEFAULT = "Deploying"


def parse_traffic(obj: Mapping[str, Any]) -> tuple[TrafficTarget, ...]:
    """``status.traffic[]`` of a Service (or Route) as :class:`TrafficTarget` values."""
    out = []
    for entry in as_list(path(obj, "status", "traffic")):
        out.append(
            TrafficTarget(
                revision=as_str(entry.get("revisionName")),
                percent=as_int(entry.get("percent")) or 0,
                tag=as_str(entry.get("tag")),
                url=as_str(entry.get("url")),
                latest_revision=entry.get("latestRevision") is True,
            )
        )
    return tuple(out)


def revision_failure(revision: Mapping[str, Any]) -> Finding | None:
    """The failure a Revision reports in its conditions, or None.

    ``ContainerHealthy=False`` (``ExitCode<N>``, ``ContainerMissing``) is preferred over
    ``ResourcesAvailable=False`` (``Unschedulable``, ``ImagePullBackOff``,
    ``ProgressDeadlineExceeded``, ``NotOwned``), then ``Ready=False``.
    """
    for ctype in ("ContainerHealthy", "ResourcesAvailable", "Ready"):
        cond = condition(revision, ctype)
        if cond_status(cond) == "False":
            reason = cond_reason(cond) or "RevisionFailed"
            message = shorten(cond_message(cond) or f"{ctype}=False").rstrip(".")
            return Finding(True, reason, message)
    return None


def _traffic_note(
    target: str | None, ready_rev: str | None, traffic: Sequence[TrafficTarget]
) -> str:
    if not ready_rev:
        return "no earlier revision is ready, so nothing serves traffic"
    if ready_rev == target:
        return f'revision "{ready_rev}" was ready before and still receives the traffic'
    serving = [t for t in traffic if t.revision and t.percent > 0]
    if len(serving) > 1:
        listed = ", ".join(f'"{t.revision}" ({t.percent}%)' for t in serving)
        return f"traffic stays on {listed}"
    only = serving[0].revision if serving else ready_rev
    return f'traffic stays on "{only}"'


def _traffic_text(traffic: Sequence[TrafficTarget]) -> str:
    parts = []
    for t in traffic:
        tag = f" tag {t.tag!r}" if t.tag else ""
        parts.append(f"{t.revision or '?'} {t.percent}%{tag}")
    return ", ".join(parts)


def _target_pods(pods: Sequence[Mapping[str, Any]], target: str) -> list[Mapping[str, Any]]:
    """Pods of ``target`` (pods without the revision label are taken as given)."""
    return [
        p for p in pods
        if isinstance(p, Mapping) and labels(p).get(REVISION_LABEL) in (None, target)
    ]


def _find_revision(revisions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    for rev in revisions:
        if isinstance(rev, Mapping) and name_of(rev) == name and not kai.is_podgroup(rev):
            return rev
    return None


def inspect_revision(
    target: str,
    *,
    pods: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
    revisions: Sequence[Mapping[str, Any]],
    now: datetime | None,
) -> tuple[Finding | None, failfast.Inspection]:
    """The failure of revision ``target`` (from its Revision object, pods, events), if any."""
    rev_obj = _find_revision(revisions, target)
    rev_finding = revision_failure(rev_obj) if rev_obj is not None else None
    since = parse_time(metadata(rev_obj).get("creationTimestamp")) if rev_obj else None
    prefix = f"{target}-deployment"
    insp = failfast.inspect(
        _target_pods(pods, target),
        events,
        pod_matches=lambda n: n.startswith(prefix + "-"),
        owner_matches=lambda n: n == prefix or n.startswith(prefix + "-"),
        podgroups=[g for g in revisions if isinstance(g, Mapping) and kai.is_podgroup(g)],
        since=since,
        now=now,
    )
    if rev_finding is not None and rev_finding.reason not in GENERIC_REASONS:
        return rev_finding, insp
    if insp.failure is not None:
        more = f" (+{insp.more_failures} more failing)" if insp.more_failures else ""
        return replace(insp.failure, message=insp.failure.message + more), insp
    return rev_finding, insp


def _strip_revision_prefix(message: str, revision: str) -> str:
    """``Revision "x" failed with message: Back-off ...`` → ``Back-off ...``."""
    prefix = f'Revision "{revision}" failed with message: '
    text = message[len(prefix):] if message.startswith(prefix) else message
    return shorten(text).rstrip(".")


def _revision_progress(revisions: Sequence[Mapping[str, Any]], name: str) -> str | None:
    """``revision "x": ResolvingDigests: ...`` while the Revision itself is settling."""
    rev = _find_revision(revisions, name)
    if rev is None:
        return None
    reason, message = _settling_reason(
        condition(rev, "ResourcesAvailable"), condition(rev, "ContainerHealthy"),
        condition(rev, "Ready"),
    )
    if reason is None:
        return None
    tail = f": {shorten(message, 200)}" if message else ""
    return f'revision "{name}": {reason}{tail}'


def _settling_reason(*conds: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    for cond in conds:
        if cond is not None and cond_status(cond) != "True" and cond_reason(cond):
            return cond_reason(cond), cond_message(cond)
    return None, None


def evaluate_service(
    obj: Mapping[str, Any],
    *,
    pods: Sequence[Mapping[str, Any]] = (),
    events: Sequence[Mapping[str, Any]] = (),
    revisions: Sequence[Mapping[str, Any]] = (),
    expected_generation: int | None = None,
    expected_revision: str | None = None,
    now: datetime | None = None,
) -> Readiness:
    """Readiness of a Knative Service (see the module docstring for the rules)."""
    meta = metadata(obj)
    ns, name = as_str(meta.get("namespace")), as_str(meta.get("name")) or "<unnamed>"
    who = describe("Service", ns, name)
    status = as_map(obj.get("status"))
    traffic = parse_traffic(obj)
    created = as_str(status.get("latestCreatedRevisionName"))
    ready_rev = as_str(status.get("latestReadyRevisionName"))

    def verdict(state: State, reason: str, message: str) -> Readiness:
        return Readiness(
            state=state, reason=reason, message=message, kind="Service", namespace=ns,
            name=name, revision=ready_rev,
            url=as_str(status.get("url")) or as_str(path(status, "address", "url")),
            observed_generation=as_int(status.get("observedGeneration")), traffic=traffic,
        )

    lag = generation_lag(obj, expected_generation)
    if lag is not None:
        return verdict(State.PROGRESSING, GENERATION_BEHIND, f"{who}: {lag}")
    ready_c = condition(obj, "Ready")
    config_c = condition(obj, "ConfigurationsReady")
    routes_c = condition(obj, "RoutesReady")
    target = expected_revision or created
    if (
        cond_status(ready_c) == "True"
        and created is not None
        and ready_rev == created
        and target == created
    ):
        split = f"; traffic: {_traffic_text(traffic)}" if len(traffic) > 1 else ""
        url = as_str(status.get("url")) or "no URL yet"
        return verdict(
            State.READY, "Ready", f'{who} is ready: revision "{ready_rev}" at {url}{split}'
        )
    if expected_revision is not None and created != expected_revision:
        note = _traffic_note(expected_revision, ready_rev, traffic)
        if cond_status(config_c) == "False":
            detail = shorten(cond_message(config_c) or "ConfigurationsReady=False")
            return verdict(
                State.FAILED, cond_reason(config_c) or "RevisionFailed",
                f'{who}: revision "{expected_revision}" was not created: {detail}; {note}',
            )
        return verdict(
            State.PROGRESSING, "RevisionNotCreated",
            f'{who}: waiting for revision "{expected_revision}" to be created '
            f'(latest created is "{created}"); {note}',
        )
    if target is None:
        early, message = _settling_reason(ready_c, config_c, routes_c)
        return verdict(
            State.PROGRESSING, early or SETTLING_DEFAULT,
            f"{who}: no revision created yet" + (f" ({message})" if message else ""),
        )
    failure, insp = inspect_revision(
        target, pods=pods, events=events, revisions=revisions, now=now
    )
    if failure is None and cond_status(config_c) == "False":
        failure = Finding(
            True, cond_reason(config_c) or "RevisionFailed",
            _strip_revision_prefix(cond_message(config_c) or "ConfigurationsReady=False", target),
        )
    if failure is not None:
        note = _traffic_note(target, ready_rev, traffic)
        return verdict(
            State.FAILED, failure.reason,
            f'{who}: revision "{target}" failed: {failure.text()}; {note}',
        )
    reason, message = _settling_reason(ready_c, config_c, routes_c)
    if reason is None and ready_rev != target:
        reason = insp.hint.reason if insp.hint else SETTLING_DEFAULT
    parts = [f'{who}: waiting for revision "{target}" to become ready']
    if message:
        parts.append(f"{reason}: {shorten(message).rstrip('.')}")
    if ready_rev and ready_rev != target:
        parts.append(f'revision "{ready_rev}" still serves traffic')
    rev_progress = _revision_progress(revisions, target)
    if rev_progress:
        parts.append(rev_progress)
    if insp.summary:
        parts.append(insp.summary)
    if insp.hint is not None:
        parts.append(insp.hint.text())
    return verdict(State.PROGRESSING, reason or SETTLING_DEFAULT, "; ".join(parts))


def evaluate_revision(
    obj: Mapping[str, Any],
    *,
    pods: Sequence[Mapping[str, Any]] = (),
    events: Sequence[Mapping[str, Any]] = (),
    revisions: Sequence[Mapping[str, Any]] = (),
    expected_generation: int | None = None,
    now: datetime | None = None,
) -> Readiness:
    """Readiness of one Knative Revision (``Ready``; failures as in :func:`revision_failure`)."""
    meta = metadata(obj)
    ns, name = as_str(meta.get("namespace")), as_str(meta.get("name")) or "<unnamed>"
    who = describe("Revision", ns, name)

    def verdict(state: State, reason: str, message: str) -> Readiness:
        return Readiness(
            state=state, reason=reason, message=message, kind="Revision", namespace=ns,
            name=name, revision=name,
            observed_generation=as_int(path(obj, "status", "observedGeneration")),
        )

    lag = generation_lag(obj, expected_generation)
    if lag is not None:
        return verdict(State.PROGRESSING, GENERATION_BEHIND, f"{who}: {lag}")
    ready_c = condition(obj, "Ready")
    if cond_status(ready_c) == "True":
        return verdict(State.READY, "Ready", f"{who} is ready")
    failure, insp = inspect_revision(
        name, pods=pods, events=events, revisions=[obj, *revisions], now=now
    )
    if failure is not None:
        return verdict(State.FAILED, failure.reason, f"{who} failed: {failure.text()}")
    reason, message = _settling_reason(
        condition(obj, "ResourcesAvailable"), condition(obj, "ContainerHealthy"), ready_c
    )
    parts = [f"{who} is not ready yet"]
    if message:
        parts.append(f"{reason}: {shorten(message).rstrip('.')}")
    if insp.summary:
        parts.append(insp.summary)
    if insp.hint is not None:
        parts.append(insp.hint.text())
    reason = reason or (insp.hint.reason if insp.hint else SETTLING_DEFAULT)
    return verdict(State.PROGRESSING, reason, "; ".join(parts))
