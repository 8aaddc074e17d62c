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
from airflow_provider.operators.base import InferenceBaseOperator, rollout_id_of
from airflow_provider.operators.lifecycle import ServingRef

#: The annotation the renderer puts on the serving object for ``general.autoDeletionAfter``.
AUTO_DELETE_ANNOTATION = "inference-stacks.io/auto-delete-after"
WHEN = ("now", "auto_deletion")
#: Extra time Airflow allows the wait for the auto-deletion moment.
DEFER_SLACK_S = 600



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
    :param delete_timeout: seconds to wait until every object is gone (default 300).

    Returns ``{"deleted": [...], "absent": [...], "skipped": reason or None}``.
    """

    template_fields: Sequence[str] = ("spec", "spec_name", "profile", "name", "namespace",
                                      "when")

    def __init__(
        self, *, spec: Any = None, spec_name: str | None = None, profile: Any = None,
        name: str | None = None, namespace: str | None = None, when: str = "now",
        delete_timeout: float = 300.0, **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.delete_timeout = delete_timeout
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
        """Delete the workload through the core's engine: every object the spec renders
        (or, without a spec, the serving object and the objects labelled for it — never a
        namespace-wide list of Secrets), every object its history recorded, the token Secret
        we create, then the history; the task returns once each object is gone (finalizers
        done), so an immediate redeploy never lands on a terminating object."""
        from inference_core.rollout.engine import Engine

        name, namespace, manifests = targets if targets is not None else self._targets()[0]
        result = Engine(self.hook.client, by=f"airflow {rollout_id_of(context)}").delete(
            name, namespace, manifests=manifests, timeout_s=self.delete_timeout)
        self.log.info("Deleted %s; already absent %s", result.deleted, result.absent)
        return {"deleted": result.deleted, "absent": result.absent, "skipped": None}

    def _targets(self) -> tuple[tuple[str, str, list[dict[str, Any]]], int | None,
                                ServingRef | None]:
        """((name, namespace, rendered manifests), autoDeletionAfter, serving ref)."""
        if self.spec is not None:
            spec = lifecycle.load_spec(self.spec, name=self.spec_name, profile=self.profile)
            ref = lifecycle.serving_ref_of(spec, self.profile)
            from inference_core.profile import load_profile
            from inference_core.render import render

            manifests = render(spec, load_profile(self.profile))
            general = getattr(spec.spec, "general", None)
            after = getattr(general, "auto_deletion_after", None)
            return (ref.name, ref.namespace, manifests), after, ref
        if not self.name or not self.namespace:
            raise lifecycle.usage_error("name", self.name, "name and namespace, or a spec")
        from inference_core.rollout.engine import find_serving

        key, obj = find_serving(self.hook.client, self.name, self.namespace)
        serving = None
        annotated = None
        if key is not None and obj is not None:
            serving = ServingRef(key.api_version, key.kind, self.namespace, key.name)
            annotated = _annotated_after(obj)
        return (self.name, self.namespace, []), annotated, serving

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
