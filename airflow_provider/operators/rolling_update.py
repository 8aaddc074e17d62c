"""``RollingUpdateInferenceOperator``: change a running workload and wait for the new revision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider.links import InferenceEndpointLink
from airflow_provider.operators import lifecycle
from airflow_provider.operators.base import InferenceBaseOperator
from airflow_provider.operators.lifecycle import ServingRef
from inference_core.errors import (
    DeployError,
    ObjectRef,
    ReadinessTimeout,
    RolloutFailed,
    WorkloadFailed,
)


class RollingUpdateInferenceOperator(InferenceBaseOperator):
    """Roll a running workload forward: image, command/args, env, compute, replicas, scaling.

    The new spec is ``spec`` with ``changes`` deep-merged into its ``spec`` section
    (camelCase, lists replace), validated after templating, rendered and applied
    (server-side apply: the latest update wins). The task waits for the new Knative
    revision, or for the LWS groups updated at the new generation, within the spec's
    initialization timeout. If they do not become ready the task fails with the reason;
    Knative keeps serving the previous revision meanwhile. With
    ``rollback_on_failure=True`` the previous spec is re-applied first.

    :param spec: the workload's spec (dict, YAML path/text, or XCom) (templated).
    :param changes: camelCase changes, e.g. ``{"image": "repo/app:v2"}`` (templated).
    :param spec_name: document to pick from a multi-document YAML (templated).
    :param profile: cluster profile (templated).
    :param rollback_on_failure: re-apply the previous spec if the update fails.
    :param preflight: check the model and the queue's GPUs for the update's peak first
        (default on); refuses an update that cannot complete, with the numbers.
    :param allow_capacity_dip: when the peak does not fit, update a LeaderWorkerSet group by
        group instead (``maxSurge: 0, maxUnavailable: 1``; capacity dips meanwhile).
    :param force: take over fields owned by other field managers (default True).
    :param timeout: seconds to wait; default the spec's initialization timeout.
    """

    template_fields: Sequence[str] = ("spec", "changes", "spec_name", "profile")
    template_fields_renderers = {"spec": "json", "changes": "json", "profile": "json"}
    operator_extra_links = (InferenceEndpointLink(),)

    def __init__(
        self, *, spec: Any, changes: Mapping[str, Any] | None = None,
        spec_name: str | None = None, profile: Any = None,
        rollback_on_failure: bool = False, force: bool = True,
        timeout: float | None = None, preflight: bool = True,
        allow_capacity_dip: bool = False, **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.preflight = preflight
        self.allow_capacity_dip = allow_capacity_dip
        self.spec = spec
        self.changes = changes
        self.spec_name = spec_name
        self.profile = profile
        self.rollback_on_failure = rollback_on_failure
        self.force = force
        self.timeout = timeout

    def execute(self, context: Any) -> Any:
        """Validate the changed spec, apply it, wait for the new revision/generation."""
        spec = lifecycle.load_spec(self.spec, name=self.spec_name)
        if self.changes:
            if not isinstance(self.changes, Mapping):
                raise lifecycle.usage_error("changes", type(self.changes).__name__,
                                            "a mapping of camelCase spec fields")
            spec = lifecycle.load_spec(
                lifecycle.merge_changes(lifecycle.spec_document(spec), self.changes))
        lifecycle.mask_spec_secrets(spec)
        if self.preflight:
            spec = lifecycle.run_preflight(spec, self.profile, self.hook,
                                           allow_capacity_dip=self.allow_capacity_dip)
        manifests = lifecycle.render_objects(spec, self.profile)
        serving = lifecycle.serving_manifest(manifests)
        ref = ServingRef.of(serving)
        live = self.hook.get(ref.api_version, ref.kind, ref.name, ref.namespace)
        if live is None:
            raise DeployError("does not exist; deploy it first (DeployInferenceOperator)",
                              ref=ref.object_ref())
        previous = _previous_manifest(live)
        previous_revision = (live.get("status") or {}).get("latestReadyRevisionName")
        if ref.is_knative and (live.get("spec") or {}).get("traffic") is not None:
            # Keep a pinned/split route as it is: traffic moves with ShiftTrafficOperator.
            serving.setdefault("spec", {})["traffic"] = live["spec"]["traffic"]
        stored = self.hook.apply_all(manifests, force=self.force)
        new = next((o for o in stored if o.get("kind") == ref.kind
                    and (o.get("metadata") or {}).get("name") == ref.name), {})
        generation = (new.get("metadata") or {}).get("generation")
        self.log.info("Rolling update of %s %s/%s: generation %s -> %s", ref.kind,
                      ref.namespace, ref.name, (live.get("metadata") or {}).get("generation"),
                      generation)
        return self.wait_until_ready(
            context, ref, timeout=self.timeout or lifecycle.init_timeout(spec),
            expected_generation=int(generation) if generation is not None else None,
            expected_revision=lifecycle.template_revision_name(serving),
            finish_kwargs={
                "workload_kind": spec.kind, "generation": generation,
                "previous_revision": previous_revision,
                "previous": previous if self.rollback_on_failure else None,
            },
        )

    def _finish(self, context: Any, event: Mapping[str, Any], **kwargs: Any) -> Any:
        try:
            r = lifecycle.raise_for_event(event)
        except (WorkloadFailed, ReadinessTimeout) as e:
            raise self._failed(event, kwargs, e) from e
        return lifecycle.summarize(r, workload_kind=kwargs.get("workload_kind"),
                                   generation=kwargs.get("generation"))

    def _failed(self, event: Mapping[str, Any], kwargs: Mapping[str, Any],
                cause: Exception) -> RolloutFailed:
        ref = ObjectRef(kind=str(event.get("kind")), namespace=event.get("namespace"),
                        name=str(event.get("name")))
        message = f"rolling update did not become ready: {event.get('message')}"
        prev_rev = kwargs.get("previous_revision")
        if prev_rev and event.get("kind") == "Service":
            message += f"; traffic stays on the previous revision {prev_rev}"
        previous = kwargs.get("previous")
        if previous:
            try:
                self.hook.apply(previous, force=True)
                message += "; rolled back: the previous spec was re-applied"
            except DeployError as e:
                message += f"; rollback failed: {e}"
        self.log.error("%s", message)
        return RolloutFailed(message, ref=ref, revision=event.get("revision"),
                             reason=event.get("reason"))


def _previous_manifest(live: Mapping[str, Any]) -> dict[str, Any]:
    """What to re-apply to roll back: identity, labels, annotations and the old spec."""
    meta = dict(live.get("metadata") or {})
    keep = {k: v for k, v in meta.items() if k in ("name", "namespace", "labels", "annotations")}
    return {"apiVersion": live.get("apiVersion"), "kind": live.get("kind"),
            "metadata": keep, "spec": live.get("spec")}
