"""The public entry points: :func:`evaluate` and :func:`pod_selector`, dispatching on
apiVersion/kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from inference_core.readiness.accessors import as_str, metadata, path
from inference_core.readiness.knative import (
    REVISION_LABEL,
    SERVICE_LABEL,
    evaluate_revision,
    evaluate_service,
)
from inference_core.readiness.lws import HASH_LABEL, NAME_LABEL, evaluate_lws
from inference_core.readiness.model import Readiness, UnsupportedObject

KNATIVE_GROUP = "serving.knative.dev"
LWS_GROUP = "leaderworkerset.x-k8s.io"
SUPPORTED = "serving.knative.dev Service/Revision, leaderworkerset.x-k8s.io LeaderWorkerSet"


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(obj, Mapping):
        raise UnsupportedObject(
            f"readiness needs a Kubernetes object dict, got {type(obj).__name__}; "
            f"supported: {SUPPORTED}"
        )
    api_version = as_str(obj.get("apiVersion")) or ""
    return api_version.split("/", 1)[0], as_str(obj.get("kind")) or ""


def _unsupported(obj: Mapping[str, Any], what: str) -> UnsupportedObject:
    name = as_str(metadata(obj).get("name")) or "<unnamed>"
    return UnsupportedObject(
        f"{what}: {obj.get('apiVersion')!r} kind {obj.get('kind')!r} (object {name!r}) is not "
        f"supported; supported: {SUPPORTED}"
    )


def evaluate(
    obj: Mapping[str, Any],
    *,
    pods: Sequence[Mapping[str, Any]] = (),
    events: Sequence[Mapping[str, Any]] = (),
    revisions: Sequence[Mapping[str, Any]] = (),
    expected_generation: int | None = None,
    expected_revision: str | None = None,
    now: datetime | None = None,
) -> Readiness:
    """Judge a serving object as the API server returned it.

    ``pods``: the pods matching :func:`pod_selector` (others are filtered out by label).
    ``events``: core/v1 or events.k8s.io Events of the namespace (or of those pods); KAI
    PodGroups may be included (``kind: PodGroup``). ``revisions``: Knative Revision objects
    (the target one is used for its conditions); PodGroups are accepted here too.
    ``expected_generation``: the ``metadata.generation`` your own write returned; status for
    an older generation never counts. ``expected_revision``: the Knative revision name (or
    LWS ``template-revision-hash``) this rollout created. ``now``: the current time, used
    only to age repeated image-pull failures (no clock is read otherwise).

    Never raises on odd status shapes; raises :class:`UnsupportedObject` for other kinds.
    """
    group, kind = _group_kind(obj)
    common: dict[str, Any] = {
        "pods": pods, "events": events, "revisions": revisions,
        "expected_generation": expected_generation, "now": now,
    }
    if group == KNATIVE_GROUP and kind == "Service":
        return evaluate_service(obj, expected_revision=expected_revision, **common)
    if group == KNATIVE_GROUP and kind == "Revision":
        return evaluate_revision(obj, **common)
    if group == LWS_GROUP and kind == "LeaderWorkerSet":
        return evaluate_lws(obj, expected_revision=expected_revision, **common)
    raise _unsupported(obj, "cannot judge readiness")


def pod_selector(obj: Mapping[str, Any], revision: str | None = None) -> str:
    """Label selector (``k=v[,k=v]``) for the pods whose state matters for ``obj``.

    Knative Service: the pods of ``revision`` (default ``status.latestCreatedRevisionName``;
    all the Service's pods when no revision exists yet). Revision: its own pods.
    LeaderWorkerSet: all pods of the set, narrowed to ``revision`` (a
    ``template-revision-hash``) when given.
    """
    group, kind = _group_kind(obj)
    name = as_str(metadata(obj).get("name"))
    if name is None:
        raise _unsupported(obj, "cannot build a pod selector without metadata.name")
    if group == KNATIVE_GROUP and kind == "Service":
        target = revision or as_str(path(obj, "status", "latestCreatedRevisionName"))
        return f"{REVISION_LABEL}={target}" if target else f"{SERVICE_LABEL}={name}"
    if group == KNATIVE_GROUP and kind == "Revision":
        return f"{REVISION_LABEL}={name}"
    if group == LWS_GROUP and kind == "LeaderWorkerSet":
        selector = f"{NAME_LABEL}={name}"
        return f"{selector},{HASH_LABEL}={revision}" if revision else selector
    raise _unsupported(obj, "cannot build a pod selector")
