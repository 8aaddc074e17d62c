"""``ShiftTrafficOperator`` (Knative): tag a candidate, split, promote, or roll back."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider.hooks.resources import KNATIVE_SERVICE
from airflow_provider.links import InferenceEndpointLink
from airflow_provider.operators import lifecycle, traffic_plan
from airflow_provider.operators.base import InferenceBaseOperator, rollout_id_of
from airflow_provider.operators.lifecycle import ServingRef
from inference_core.errors import DeployError, ReadinessTimeout


class ShiftTrafficOperator(InferenceBaseOperator):
    """Change where a Knative Service sends its traffic, then wait until the route has it.

    :param name: the Service (workload) name (templated).
    :param namespace: its namespace (templated).
    :param action: ``tag`` (0 % with its own URL), ``split`` (``percent`` to the
        candidate, the rest to the stable revision), ``promote`` (100 % to the
        candidate) or ``rollback`` (100 % back to the stable revision) (templated).
    :param percent: candidate share for ``split``, 0..100 (templated).
    :param tag: the candidate's tag (default ``candidate``) (templated).
    :param revision: candidate revision; default the tagged or latest created one.
    :param stable_revision: stable revision; default the pinned one or the recorded one.
    :param timeout: seconds to wait for the route (default 300).

    Returns ``{"action", "stable", "candidate", "traffic", "url", "tag_urls", ...}``.
    """

    template_fields: Sequence[str] = ("name", "namespace", "action", "percent", "tag",
                                      "revision", "stable_revision")
    operator_extra_links = (InferenceEndpointLink(),)

    def __init__(
        self, *, name: str, namespace: str, action: str, percent: int | str | None = None,
        tag: str = "candidate", revision: str | None = None,
        stable_revision: str | None = None, timeout: float = 300.0, **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.namespace = namespace
        self.action = action
        self.percent = percent
        self.tag = tag
        self.revision = revision
        self.stable_revision = stable_revision
        self.timeout = timeout

    def execute(self, context: Any) -> Any:
        """Plan (validates), patch ``spec.traffic``, then wait for the route."""
        percent = _as_percent(self.percent)
        ref = ServingRef(KNATIVE_SERVICE.api_version, "Service", self.namespace, self.name)
        live = self.hook.get(ref.api_version, ref.kind, ref.name, ref.namespace)
        if live is None:
            raise DeployError("does not exist; deploy it first", ref=ref.object_ref())
        step = traffic_plan.plan(live, self.action, tag=self.tag, percent=percent,
                                 revision=self.revision, stable_revision=self.stable_revision)
        self.log.info("Traffic %s for %s/%s: %s", step.action, ref.namespace, ref.name,
                      step.traffic)
        stored = self._apply_traffic(ref, step, rollout_id_of(context))
        generation = int((stored.get("metadata") or {}).get("generation") or 0) or None
        extra = {"action": step.action, "stable": step.stable, "candidate": step.candidate,
                 "wanted": step.traffic, "generation": generation}
        if step.action == "rollback":
            return self._confirm_route(ref, extra)
        return self.wait_until_ready(context, ref, timeout=self.timeout,
                                     expected_generation=generation, finish_kwargs=extra)

    def _apply_traffic(self, ref: ServingRef, step: traffic_plan.TrafficPlan,
                       rollout_id: str) -> dict[str, Any]:
        """Server-side apply of the Service as recorded in its history, with the new
        ``spec.traffic`` and the stable/candidate annotations, under our one field manager
        (the recorded manifest keeps every field we own, so none is dropped)."""
        import copy

        from inference_core.rollout.engine import execute, read_history
        from inference_core.rollout.plan import Apply, Plan

        client = self.hook.client
        history = read_history(client, ref.name, ref.namespace)
        entry = history.latest
        if entry is None or entry.manifest.get("kind") != "Service":
            raise DeployError("has no recorded Knative rollout: traffic steps need a Service "
                              "deployed by inference-stacks (its history ConfigMap "
                              f"{ref.name}-history is missing)", ref=ref.object_ref())
        manifest = copy.deepcopy(entry.manifest)
        manifest.setdefault("spec", {})["traffic"] = step.traffic
        annotations = manifest.setdefault("metadata", {}).setdefault("annotations", {})
        annotations.update(step.annotations())
        hist = history.with_manifest(entry.revision, manifest)
        plan = Plan("traffic", rollout_id, (Apply(hist.to_configmap()), Apply(manifest)),
                    hist, hist.by_revision(entry.revision))
        return execute(client, plan).stored[-1]

    def _confirm_route(self, ref: ServingRef, extra: dict[str, Any]) -> dict[str, Any]:
        # A rollback usually leaves a failed latest revision behind, so the Service never
        # turns Ready; what matters is that the route carries the wanted traffic.
        deadline = time.monotonic() + min(self.timeout, 60.0)
        live: Mapping[str, Any] | None = None
        while time.monotonic() < deadline and not self._killed:
            live = self.hook.get(ref.api_version, ref.kind, ref.name, ref.namespace) or {}
            observed = int((live.get("status") or {}).get("observedGeneration") or 0)
            if observed >= int(extra["generation"] or 0) and \
                    traffic_plan.traffic_matches(live, extra["wanted"]):
                self.log.info("Rolled back %s/%s: 100%% to %s", ref.namespace, ref.name,
                              extra["stable"])
                return self._summary(live, extra)
            time.sleep(0.2)
        raise ReadinessTimeout(
            f"route did not move to {extra['wanted']} within {min(self.timeout, 60.0):.0f}s; "
            f"status.traffic is {(live or {}).get('status', {}).get('traffic')}",
            ref=ref.object_ref())

    def _finish(self, context: Any, event: Mapping[str, Any], **kwargs: Any) -> Any:
        r = lifecycle.raise_for_event(event, context=f"traffic {kwargs.get('action')}: ")
        summary = lifecycle.summarize(r)
        summary.update({k: kwargs.get(k) for k in ("action", "stable", "candidate")})
        self.log.info("Traffic now %s", summary["traffic"])
        return summary

    @staticmethod
    def _summary(live: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
        status = live.get("status") or {}
        meta = live.get("metadata") or {}
        traffic = status.get("traffic") or []
        return {
            "kind": "Service", "namespace": meta.get("namespace"), "name": meta.get("name"),
            "revision": status.get("latestReadyRevisionName"), "url": status.get("url"),
            "tag_urls": {t["tag"]: t.get("url") for t in traffic if t.get("tag")},
            "traffic": [{"revision": t.get("revisionName"), "percent": t.get("percent"),
                         "tag": t.get("tag")} for t in traffic],
            "action": extra["action"], "stable": extra["stable"],
            "candidate": extra["candidate"],
        }


def _as_percent(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise lifecycle.usage_error("percent", value, "an integer 0..100") from None
