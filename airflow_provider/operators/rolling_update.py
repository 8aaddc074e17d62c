"""``RollingUpdateInferenceOperator``: change a running workload and wait for the new revision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider.links import InferenceEndpointLink
from airflow_provider.operators import lifecycle, rollout
from airflow_provider.operators.base import InferenceBaseOperator, rollout_id_of
from airflow_provider.operators.deploy import _ref_fields
from airflow_provider.operators.lifecycle import ServingRef
from inference_core.errors import DeployError, ReadinessTimeout, RolloutFailed, WorkloadFailed


class RollingUpdateInferenceOperator(InferenceBaseOperator):
    """Roll a running workload forward: image, command/args, env, compute, replicas, scaling.

    The new spec is ``spec`` with ``changes`` deep-merged into its ``spec`` section
    (camelCase, lists replace), validated after templating, rendered and applied
    (server-side apply: the latest update wins). The task waits for the new Knative
    revision, or for the LWS groups updated at the new generation, within the spec's
    initialization timeout. If they do not become ready the task fails with the reason;
    Knative keeps serving the previous revision meanwhile. With ``rollback_on_failure=True``
    the core's rollback runs first: back to the last good tuple recorded in the workload's
    history before this rollout (Knative: traffic pinned to its revision when it still
    exists, else its recorded template re-applied; LWS: its template re-applied), writing
    only fields we own. The rollout id ``dag_id/run_id/task_id`` makes retries plan the
    same update and the same rollback target; a retry after the rollback reports the
    failure without applying the failed spec again.

    :param spec: the workload's spec (dict, YAML path/text, or XCom) (templated).
    :param changes: camelCase changes, e.g. ``{"image": "repo/app:v2"}`` (templated).
    :param spec_name: document to pick from a multi-document YAML (templated).
    :param profile: cluster profile (templated).
    :param rollback_on_failure: re-apply the previous spec if the update fails.
    :param preflight: check the model and the queue's GPUs for the update's peak first
        (default on); refuses an update that cannot complete, with the numbers.
    :param allow_capacity_dip: when the peak does not fit, update a LeaderWorkerSet group by
        group instead (``maxSurge: 0, maxUnavailable: 1``; capacity dips meanwhile).
    :param force: take over fields owned by other field managers (default False).
    :param hf_token_conn_id: connection whose password is the Hugging Face token, put into
        the spec at run time as in the deploy operator (so an update keeps ``HF_TOKEN``).
    :param timeout: seconds to wait; default the spec's initialization timeout.
    """

    template_fields: Sequence[str] = ("spec", "changes", "spec_name", "profile")
    template_fields_renderers = {"spec": "json", "changes": "json", "profile": "json"}
    operator_extra_links = (InferenceEndpointLink(),)

    def __init__(
        self, *, spec: Any, changes: Mapping[str, Any] | None = None,
        spec_name: str | None = None, profile: Any = None,
        rollback_on_failure: bool = False, force: bool = False,
        timeout: float | None = None, preflight: bool = True,
        allow_capacity_dip: bool = False, hf_token_conn_id: str | None = None,
        **kwargs: Any,
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
        self.hf_token_conn_id = hf_token_conn_id

    def execute(self, context: Any) -> Any:
        """Validate the changed spec, plan and apply the update (recorded in the history
        under this task's rollout id), wait for the new revision/generation."""
        spec = lifecycle.load_spec(self.spec, name=self.spec_name, profile=self.profile)
        if self.changes:
            if not isinstance(self.changes, Mapping):
                raise lifecycle.usage_error("changes", type(self.changes).__name__,
                                            "a mapping of camelCase spec fields")
            spec = lifecycle.with_changes(spec, self.changes)
        if self.hf_token_conn_id:
            spec = lifecycle.with_token_from_connection(spec, self.hf_token_conn_id)
        lifecycle.mask_spec_secrets(spec)
        if self.preflight:
            spec = lifecycle.run_preflight(spec, self.profile, self.hook,
                                           allow_capacity_dip=self.allow_capacity_dip)
        rid = rollout_id_of(context)
        ref = lifecycle.serving_ref_of(spec, self.profile)
        if not self.hook.get(ref.api_version, ref.kind, ref.name, ref.namespace):
            raise DeployError("does not exist; deploy it first (DeployInferenceOperator)",
                              ref=ref.object_ref())
        done = rollout.rolled_back(self.hook, ref, rid)
        if done is not None:  # a retry after this rollout already failed and rolled back
            raise RolloutFailed(f"rolling update did not become ready: {done}",
                                ref=ref.object_ref())
        applied = rollout.apply_spec(self.hook, spec, profile=self.profile, rollout_id=rid,
                                     action="update", force=self.force, keep_traffic=True)
        self.log.info("Rolling update of %s %s/%s: generation %s, history revision %s",
                      ref.kind, ref.namespace, ref.name, applied.generation,
                      applied.history_revision)
        return self.wait_until_ready(
            context, applied.ref, timeout=self.timeout or lifecycle.init_timeout(spec),
            expected_generation=applied.generation, expected_revision=applied.expected_revision,
            finish_kwargs={"workload_kind": spec.kind, "generation": applied.generation,
                           "rollout_id": rid},
        )

    def _finish(self, context: Any, event: Mapping[str, Any], **kwargs: Any) -> Any:
        """Record the outcome; on failure roll back (if asked) to the recorded good tuple.
        Safe to run again: record and rollback are keyed by the rollout id."""
        ref = ServingRef(*_ref_fields(event))
        rid = kwargs.get("rollout_id") or rollout_id_of(context)
        ready = event.get("status") == "ready"
        if kwargs.get("rollout_id"):  # else nothing was recorded under this id
            rollout.record(self.hook, ref, rid, good=ready,
                           reason=None if ready else str(event.get("message")),
                           knative_revision=event.get("revision") if ready else None)
        try:
            r = lifecycle.raise_for_event(event)
        except (WorkloadFailed, ReadinessTimeout) as e:
            raise self._failed(event, ref, rid) from e
        summary = lifecycle.summarize(r, workload_kind=kwargs.get("workload_kind"),
                                      generation=kwargs.get("generation"))
        summary["rollout_id"] = rid
        return summary

    def _failed(self, event: Mapping[str, Any], ref: ServingRef, rid: str) -> RolloutFailed:
        message = f"rolling update did not become ready: {event.get('message')}"
        if self.rollback_on_failure:
            message += "; " + rollout.rollback(self.hook, ref, rid)
        elif ref.is_knative:
            message += "; Knative keeps serving the last ready revision"
        self.log.error("%s", message)
        return RolloutFailed(message, ref=ref.object_ref(), revision=event.get("revision"),
                             reason=event.get("reason"))
