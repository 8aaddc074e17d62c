"""``DeleteInferenceOperator``: remove every object a deploy created.

``when="auto_deletion"`` follows the spec's ``general.autoDeletionAfter`` (Run:ai's
auto-deletion option): only a *failed* workload is deleted, and only once that long has
passed since it failed; until then the task defers, and it looks again when it resumes
(a workload that recovered meanwhile is kept).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider.operators import lifecycle
from airflow_provider.operators.base import InferenceBaseOperator
from airflow_provider.operators.lifecycle import ServingRef
from inference_core.errors import KubeApiError

WORKLOAD_LABEL = "inference-stacks.io/workload"
MANAGED_BY = "app.kubernetes.io/managed-by=inference-stacks"
#: The annotation the renderer puts on the serving object for ``general.autoDeletionAfter``.
AUTO_DELETE_ANNOTATION = "inference-stacks.io/auto-delete-after"
#: Kinds searched by label when no spec is given (namespaced kinds a render can emit).
LABELLED_KINDS = (
    ("serving.knative.dev/v1", "Service"), ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"),
    ("v1", "Service"), ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "PersistentVolumeClaim"),
    ("security.istio.io/v1", "AuthorizationPolicy"),
    ("security.istio.io/v1", "RequestAuthentication"),
)
SERVING_KINDS = LABELLED_KINDS[:2]
WHEN = ("now", "auto_deletion")
#: Extra time Airflow allows the wait for the auto-deletion moment.
DEFER_SLACK_S = 600

Target = tuple[str, str, str | None, str]  # apiVersion, kind, namespace, name


@dataclass(frozen=True)
class _Due:
    """A failed workload and the moment its auto-deletion is due."""

    at: datetime
    failed_since: datetime
    reason: str

    def remaining_s(self, now: datetime) -> float:
        return (self.at - now).total_seconds()


class DeleteInferenceOperator(InferenceBaseOperator):
    """Delete a workload's objects (serving object, leader Service, Secrets, PVCs, ...).

    Give ``spec`` (the objects are those it renders), or ``name`` + ``namespace`` (objects
    labelled ``inference-stacks.io/workload=<name>`` and managed by inference-stacks).

    :param when: ``now`` (default) or ``auto_deletion``: delete only a *failed* workload,
        and only once ``general.autoDeletionAfter`` has passed since it failed (the task
        defers until then and checks again when it resumes); a healthy workload is kept.
        Without a spec the time is read from the serving object's
        ``inference-stacks.io/auto-delete-after`` annotation.
    :param spec: the deployed spec (templated).
    :param spec_name: document in a multi-document YAML (templated).
    :param profile: cluster profile (templated).
    :param name: workload name when no spec is given (templated).
    :param namespace: its namespace (templated).

    Returns ``{"deleted": [...], "absent": [...], "skipped": reason or None}``.
    """

    template_fields: Sequence[str] = ("spec", "spec_name", "profile", "name", "namespace",
                                      "when")

    def __init__(
        self, *, spec: Any = None, spec_name: str | None = None, profile: Any = None,
        name: str | None = None, namespace: str | None = None, when: str = "now",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.spec_name = spec_name
        self.profile = profile
        self.name = name
        self.namespace = namespace
        self.when = when

    def execute(self, context: Any) -> Any:
        """Resolve targets, honour ``when``, delete in reverse apply order."""
        if self.when not in WHEN:
            raise lifecycle.usage_error("when", self.when, " | ".join(WHEN))
        targets, auto_after, ref = self._targets()
        if self.when == "auto_deletion":
            due = self._auto_deletion_due(ref, auto_after)
            if isinstance(due, str):
                self.log.info("Not deleting: %s", due)
                return {"deleted": [], "absent": [], "skipped": due}
            wait = due.remaining_s(datetime.now(UTC))
            if wait > 0:
                from airflow.providers.standard.triggers.temporal import DateTimeTrigger

                self.log.info(
                    "Keeping the failed workload for now (%s since %s): auto-deletion after "
                    "%ss is due at %s, in %s; deferring until then", due.reason,
                    due.failed_since.isoformat(), auto_after, due.at.isoformat(),
                    _human(wait))
                self.defer(trigger=DateTimeTrigger(moment=due.at), method_name="resume",
                           timeout=timedelta(seconds=wait + DEFER_SLACK_S))
            self.log.info("Failed workload (%s since %s): auto-deletion after %ss was due "
                          "at %s", due.reason, due.failed_since.isoformat(), auto_after,
                          due.at.isoformat())
        return self.delete_now(context, targets=targets)

    def resume(self, context: Any, event: Any = None) -> Any:
        """After waiting for the auto-deletion moment: judge again (the workload may have
        recovered, or failed anew later), then delete, skip or wait again."""
        return self.execute(context)

    def delete_now(self, context: Any, event: Any = None, targets: Any = None) -> Any:
        """Delete the targets (resolved again when not given)."""
        if targets is None:
            targets, _, _ = self._targets()
        deleted: list[str] = []
        absent: list[str] = []
        for api_version, kind, namespace, name in targets:
            gone = self.hook.delete(api_version, kind, name, namespace)
            label = f"{kind} {namespace}/{name}"
            (deleted if gone else absent).append(label)
        self.log.info("Deleted %s; already absent %s", deleted, absent)
        return {"deleted": deleted, "absent": absent, "skipped": None}

    def _targets(self) -> tuple[list[Target], int | None, ServingRef | None]:
        if self.spec is not None:
            spec = lifecycle.load_spec(self.spec, name=self.spec_name)
            manifests = lifecycle.render_objects(spec, self.profile)
            ref = ServingRef.of(lifecycle.serving_manifest(manifests))
            general = getattr(spec.spec, "general", None)
            after = getattr(general, "auto_deletion_after", None)
            rendered: list[Target] = [
                (str(m["apiVersion"]), str(m["kind"]), m["metadata"].get("namespace"),
                 str(m["metadata"]["name"])) for m in reversed(manifests)]
            return rendered, after, ref
        if not self.name or not self.namespace:
            raise lifecycle.usage_error("name", self.name, "name and namespace, or a spec")
        selector = f"{WORKLOAD_LABEL}={self.name},{MANAGED_BY}"
        found: list[Target] = []
        serving: ServingRef | None = None
        annotated: int | None = None
        for api_version, kind in LABELLED_KINDS:
            try:
                items = self.hook.list(api_version, kind, self.namespace, label_selector=selector)
            except KubeApiError as e:
                if e.status == 404:  # the CRD is not installed
                    continue
                raise
            for obj in items:
                found.append((api_version, kind, self.namespace, obj["metadata"]["name"]))
                if (api_version, kind) in SERVING_KINDS and serving is None:
                    serving = ServingRef(api_version, kind, self.namespace,
                                         obj["metadata"]["name"])
                    annotated = _annotated_after(obj)
        # The serving object first (its pods stop before their Secrets and volumes go).
        found.sort(key=lambda t: (t[0], t[1]) in SERVING_KINDS, reverse=True)
        return found, annotated, serving

    def _auto_deletion_due(self, ref: ServingRef | None, after: int | None) -> _Due | str:
        if ref is None:
            return "no serving object found"
        what = f"{ref.kind} {ref.namespace}/{ref.name}"
        if after is None:
            return f"{what}: the spec sets no autoDeletionAfter"
        r = lifecycle.check_once(self.hook, ref)
        if not r.failed:
            return f"{what} is {r.state} ({r.reason}), not failed: kept"
        obj = self.hook.get(ref.api_version, ref.kind, ref.name, ref.namespace) or {}
        failed_at = _failed_since(obj) or datetime.now(UTC)
        return _Due(failed_at + timedelta(seconds=int(after)), failed_at, r.reason)


def _annotated_after(obj: Mapping[str, Any]) -> int | None:
    """``autoDeletionAfter`` (seconds) from the serving object's annotation, if any."""
    from inference_core.spec.quantities import parse_duration

    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(AUTO_DELETE_ANNOTATION)
    if value is None:
        return None
    try:
        return parse_duration(str(value))
    except ValueError:
        return None


def _failed_since(obj: Mapping[str, Any]) -> datetime | None:
    """Latest transition of a False/Progressing condition (when the failure began)."""
    times = []
    for cond in (obj.get("status") or {}).get("conditions") or []:
        stamp = cond.get("lastTransitionTime")
        if stamp and (cond.get("status") != "True" or cond.get("type") == "Progressing"):
            try:
                times.append(datetime.fromisoformat(str(stamp).replace("Z", "+00:00")))
            except ValueError:
                continue
    return max(times) if times else None


def _human(seconds: float) -> str:
    """``1h2m3s``-style text of a positive duration (whole seconds, rounded up)."""
    total = max(0, int(-(-seconds // 1)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v) or "0s"
