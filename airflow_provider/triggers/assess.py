"""Feed ``inference_core.readiness.evaluate`` with the objects that matter.

The judgement itself lives in the core (one definition of ready/failed for every front
door). This module only picks its inputs out of what the caller already has — a shared
watch cache in the trigger, one list call in the operator's synchronous first check:
the revision being rolled out, the pods behind it (by the core's ``pod_selector``) and
the events about those objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider.hooks.index import selector_predicate
from inference_core.readiness import Readiness, State, evaluate, pod_selector

KNATIVE_API = "serving.knative.dev/v1"


def target_revision(obj: Mapping[str, Any], expected_revision: str | None) -> str | None:
    """The Knative revision whose pods decide fail-fast (None for other kinds)."""
    if obj.get("apiVersion") != KNATIVE_API or obj.get("kind") != "Service":
        return None
    if expected_revision:
        return expected_revision
    status = obj.get("status") or {}
    rev = status.get("latestCreatedRevisionName")
    return str(rev) if rev else None


def assess(
    obj: Mapping[str, Any] | None,
    *,
    ref: tuple[str, str, str | None, str],
    pods: Iterable[Mapping[str, Any]] = (),
    events: Iterable[Mapping[str, Any]] = (),
    revisions: Mapping[str, Mapping[str, Any]] | None = None,
    expected_generation: int | None = None,
    expected_revision: str | None = None,
) -> Readiness:
    """Readiness of ``obj`` (``ref`` = apiVersion, kind, namespace, name for messages).

    ``pods`` and ``events`` may hold more than needed (a whole namespace): only the
    pods matched by ``pod_selector`` and the events about them, the object or its
    revision are passed on.
    """
    _api_version, kind, namespace, name = ref
    if obj is None:
        return Readiness(
            state=State.PROGRESSING, reason="NotFound",
            message=f"{kind} {namespace}/{name} does not exist (yet)",
            kind=kind, namespace=namespace, name=name,
        )
    revision = target_revision(obj, expected_revision)
    selector = pod_selector(obj, revision)
    matches = selector_predicate(selector)
    matched = [p for p in pods if matches(_labels(p))]
    names = {name} | {str(_meta(p).get("name")) for p in matched}
    if revision:
        names.add(revision)
    related = [e for e in events if str((e.get("involvedObject") or {}).get("name")) in names]
    revs = [revisions[revision]] if revisions and revision and revision in revisions else []
    return evaluate(
        obj, pods=matched, events=related, revisions=revs,
        expected_generation=expected_generation, expected_revision=expected_revision,
    )


def interest_names(obj: Mapping[str, Any] | None, name: str, expected_revision: str | None
                   ) -> tuple[str | None, set[str]]:
    """(pod selector, names whose events matter) for the current object state."""
    if obj is None:
        return None, {name}
    revision = target_revision(obj, expected_revision)
    names = {name} | ({revision} if revision else set())
    return pod_selector(obj, revision), names


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return _meta(obj).get("labels") or {}
