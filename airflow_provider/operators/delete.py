"""``DeleteInferenceOperator``: remove every object a deploy created."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider.operators import lifecycle
from airflow_provider.operators.base import InferenceBaseOperator
from airflow_provider.operators.lifecycle import ServingRef
from inference_core.errors import KubeApiError

WORKLOAD_LABEL = "inference-stacks.io/workload"
MANAGED_BY = "app.kubernetes.io/managed-by=inference-stacks"
#: Kinds searched by label when no spec is given (namespaced kinds a render can emit).
LABELLED_KINDS = (
    ("serving.knative.dev/v1", "Service"), ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet"),
    ("v1", "Service"), ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "PersistentVolumeClaim"),
    ("security.istio.io/v1", "AuthorizationPolicy"),
    ("security.istio.io/v1", "RequestAuthentication"),
)
WHEN = ("now", "auto_deletion")


class DeleteInferenceOperator(InferenceBaseOperator):
    """Delete a workload's objects (serving object, leader Service, Secrets, ...).

    Give ``spec`` (the objects are those it renders), or ``name`` + ``namespace`` (objects
    labelled ``inference-stacks.io/workload=<name>`` and managed by inference-stacks).

    :param when: ``now`` (default) or ``auto_deletion``: delete only a *failed* workload,
        and only once the spec's ``general.autoDeletionAfter`` has passed since it failed
        (the task defers until then); a healthy workload is left alone.
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
            wait = (due - datetime.now(UTC)).total_seconds()
            if wait > 0:
                from airflow.providers.standard.triggers.temporal import DateTimeTrigger

                self.log.info("Failed workload; auto-deletion due at %s", due.isoformat())
                self.defer(trigger=DateTimeTrigger(moment=due), method_name="delete_now",
                           timeout=timedelta(seconds=wait + 600))
        return self.delete_now(context, targets=targets)

    def delete_now(self, context: Any, event: Any = None, targets: Any = None) -> Any:
        """Delete the targets (resolved again after a deferral)."""
        if targets is None:
            targets, _, _ = self._targets()
        deleted, absent = [], []
        for api_version, kind, namespace, name in targets:
            gone = self.hook.delete(api_version, kind, name, namespace)
            label = f"{kind} {namespace}/{name}"
            (deleted if gone else absent).append(label)
        self.log.info("Deleted %s; already absent %s", deleted, absent)
        return {"deleted": deleted, "absent": absent, "skipped": None}

    def _targets(self) -> tuple[list[tuple[str, str, str, str]], int | None, ServingRef | None]:
        if self.spec is not None:
            spec = lifecycle.load_spec(self.spec, name=self.spec_name)
            manifests = lifecycle.render_objects(spec, self.profile)
            ref = ServingRef.of(lifecycle.serving_manifest(manifests))
            general = getattr(spec.spec, "general", None)
            after = getattr(general, "auto_deletion_after", None)
            items = [(m["apiVersion"], m["kind"], (m.get("metadata") or {}).get("namespace"),
                      m["metadata"]["name"]) for m in reversed(manifests)]
            return items, after, ref
        if not self.name or not self.namespace:
            raise lifecycle.usage_error("name", self.name, "name and namespace, or a spec")
        selector = f"{WORKLOAD_LABEL}={self.name},{MANAGED_BY}"
        found: list[tuple[str, str, str, str]] = []
        ref = None
        for api_version, kind in LABELLED_KINDS:
            try:
                items = self.hook.list(api_version, kind, self.namespace, label_selector=selector)
            except KubeApiError as e:
                if e.status == 404:  # the CRD is not installed
                    continue
                raise
            for obj in items:
                found.append((api_version, kind, self.namespace, obj["metadata"]["name"]))
                if (api_version, kind) in (LABELLED_KINDS[0], LABELLED_KINDS[1]) and ref is None:
                    ref = ServingRef(api_version, kind, self.namespace, obj["metadata"]["name"])
        return found, None, ref

    def _auto_deletion_due(self, ref: ServingRef | None, after: int | None) -> datetime | str:
        if ref is None:
            return "no serving object found"
        if after is None:
            return f"{ref.kind} {ref.namespace}/{ref.name}: the spec sets no autoDeletionAfter"
        r = lifecycle.check_once(self.hook, ref)
        if not r.failed:
            return f"{ref.kind} {ref.namespace}/{ref.name} is {r.state}, not failed"
        obj = self.hook.get(ref.api_version, ref.kind, ref.name, ref.namespace) or {}
        failed_at = _failed_since(obj) or datetime.now(UTC)
        return failed_at + timedelta(seconds=int(after))


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
