"""Knative traffic plans (pure): stable and candidate revisions, the ``spec.traffic`` to write.

A Service's ``spec.traffic`` must add up to 100 %, a tag may appear once, and
``latestRevision: true`` may not name a revision (k8s-mapping §1.9). The plan records
the stable and candidate revisions in annotations so that a later rollback knows where
to go back even after a promotion moved all traffic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inference_core.errors import FieldIssue, SpecError

STABLE_ANNOTATION = "inference-stacks.io/stable-revision"
CANDIDATE_ANNOTATION = "inference-stacks.io/candidate-revision"
ACTIONS = ("tag", "split", "promote", "rollback")


@dataclass(frozen=True)
class TrafficPlan:
    """The traffic to write and the revisions it was planned from."""

    action: str
    traffic: list[dict[str, Any]]
    stable: str | None
    candidate: str | None

    def annotations(self) -> dict[str, str]:
        """The stable/candidate revision annotations to write with the traffic."""
        annotations = {STABLE_ANNOTATION: self.stable, CANDIDATE_ANNOTATION: self.candidate}
        return {k: v for k, v in annotations.items() if v}


def _get(obj: Mapping[str, Any] | None, *keys: str) -> Any:
    cur: Any = obj
    for key in keys:
        cur = cur.get(key) if isinstance(cur, Mapping) else None
    return cur


def candidate_traffic(live: Mapping[str, Any] | None, tag: str) -> list[dict[str, Any]]:
    """Traffic for deploying a candidate: stay on the serving revision, tag the new one.

    Retry-safe: when a previous attempt already pinned the stable revision next to our
    tag, the same stable revision is kept (not the candidate that may be ready by now).
    """
    spec_traffic = _get(live, "spec", "traffic") or []
    tagged_latest = any(t.get("tag") == tag and t.get("latestRevision") for t in spec_traffic)
    pinned = [t["revisionName"] for t in spec_traffic
              if t.get("revisionName") and int(t.get("percent") or 0) > 0]
    if tagged_latest and pinned:
        stable = pinned[0]
    else:
        stable = _get(live, "status", "latestReadyRevisionName")
    if not stable:
        return [{"latestRevision": True, "percent": 100, "tag": tag}]
    return [{"revisionName": stable, "percent": 100},
            {"latestRevision": True, "percent": 0, "tag": tag}]


def resolve_candidate(live: Mapping[str, Any], tag: str, revision: str | None) -> str | None:
    """The candidate revision: explicit, else the tag's, else annotation, else latest created."""
    if revision:
        return revision
    for entry in _get(live, "spec", "traffic") or []:
        if entry.get("tag") == tag:
            if entry.get("revisionName"):
                return str(entry["revisionName"])
            if entry.get("latestRevision"):
                return _str(_get(live, "status", "latestCreatedRevisionName"))
    ann = _get(live, "metadata", "annotations") or {}
    return _str(ann.get(CANDIDATE_ANNOTATION) or
                _get(live, "status", "latestCreatedRevisionName"))


def _str(value: Any) -> str | None:
    return str(value) if value else None


def resolve_stable(live: Mapping[str, Any], candidate: str | None,
                   stable_revision: str | None) -> str | None:
    """The stable revision: explicit, else pinned non-candidate traffic, else annotation."""
    if stable_revision:
        return stable_revision
    for entry in _get(live, "spec", "traffic") or []:
        name = entry.get("revisionName")
        if name and name != candidate and int(entry.get("percent") or 0) > 0:
            return str(name)
    ann = _get(live, "metadata", "annotations") or {}
    stable = ann.get(STABLE_ANNOTATION)
    return str(stable) if stable and stable != candidate else None


def plan(
    live: Mapping[str, Any], action: str, *, tag: str = "candidate", percent: int | None = None,
    revision: str | None = None, stable_revision: str | None = None,
) -> TrafficPlan:
    """Plan one traffic step; raises ``SpecError`` naming what is missing or wrong."""
    if action not in ACTIONS:
        raise _bad("action", action, " | ".join(ACTIONS))
    candidate = resolve_candidate(live, tag, revision)
    stable = resolve_stable(live, candidate, stable_revision)
    if action in ("tag", "split", "promote") and not candidate:
        raise _bad("revision", None, "a candidate revision (none is tagged or created yet)")
    if action == "tag":
        base = [e for e in (_get(live, "spec", "traffic") or []) if e.get("tag") != tag] or \
            [{"latestRevision": True, "percent": 100}]
        traffic = [*base, {"revisionName": candidate, "percent": 0, "tag": tag}]
    elif action == "split":
        if percent is None or not 0 <= int(percent) <= 100:
            raise _bad("percent", percent, "an integer 0..100 for action 'split'")
        if not stable:
            raise _bad("stable_revision", None, "a stable revision distinct from the "
                       f"candidate {candidate!r} (pin one or pass stable_revision)")
        traffic = [{"revisionName": stable, "percent": 100 - int(percent)},
                   {"revisionName": candidate, "percent": int(percent), "tag": tag}]
    elif action == "promote":
        traffic = [{"revisionName": candidate, "percent": 100}]
    else:
        if not stable:
            raise _bad("stable_revision", None, "a previous revision to roll back to "
                       "(none recorded; pass stable_revision)")
        traffic = [{"revisionName": stable, "percent": 100}]
    return TrafficPlan(action, traffic, stable, candidate)


def traffic_matches(live: Mapping[str, Any], wanted: list[dict[str, Any]]) -> bool:
    """True when ``status.traffic`` routes the wanted percentages to the pinned revisions."""
    status = [(t.get("revisionName"), int(t.get("percent") or 0))
              for t in _get(live, "status", "traffic") or [] if int(t.get("percent") or 0)]
    want = [(t.get("revisionName"), int(t.get("percent") or 0))
            for t in wanted if int(t.get("percent") or 0)]
    return sorted(status, key=str) == sorted(want, key=str)


def _bad(field: str, value: Any, allowed: str) -> SpecError:
    return SpecError([FieldIssue(field, "cannot plan the traffic step", value=value,
                                 allowed=allowed)])
