"""``DeployInferenceOperator``: validate, preflight, apply, wait; idempotent on retry.

The writes are planned by the core's rollout engine and recorded in the workload's history
(ConfigMap ``<name>-history``) under the rollout id ``dag_id/run_id/task_id``: a retry
re-applies the same entry, and the outcome (good with its revision, or failed with the
reason) is recorded when the wait ends, so later rollbacks know the last good tuple.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider.links import InferenceEndpointLink
from airflow_provider.operators import lifecycle, rollout
from airflow_provider.operators.base import InferenceBaseOperator, rollout_id_of
from airflow_provider.operators.lifecycle import ServingRef


class DeployInferenceOperator(InferenceBaseOperator):
    """Deploy one inference workload (create or update every object), then wait for it.

    :param spec: the inference spec: a dict, a spec object, a YAML path, YAML text, or an
        upstream XCom holding one of those (templated).
    :param spec_name: the document to pick from a multi-document YAML (templated).
    :param profile: cluster profile: a builtin name, a YAML path or a dict (templated).
    :param preflight: run the core's preflight checks before applying (default True).
    :param wait_for_ready: wait until the workload serves (default True).
    :param candidate_tag: Knative only: keep traffic on the revision serving now and give
        the new revision this tag (0 %, its own URL) for smoke tests (templated).
    :param force: take over fields another field manager owns (default False: a
        conflict fails naming the other manager and the fields).
    :param timeout: seconds to wait; default the spec's initialization timeout.
    :param create_namespace: apply the workload's Namespace first (default False: the
        project's namespace normally exists already).
    :param hf_token_conn_id: connection whose password is the Hugging Face token; it is
        put into the spec at run time, so it never sits in a template field or XCom.

    Returns ``{"kind", "namespace", "name", "revision", "url", "tag_urls", ...}``.
    """

    template_fields: Sequence[str] = ("spec", "spec_name", "profile", "candidate_tag")
    template_fields_renderers = {"spec": "json", "profile": "json"}
    operator_extra_links = (InferenceEndpointLink(),)

    def __init__(
        self,
        *,
        spec: Any,
        spec_name: str | None = None,
        profile: Any = None,
        preflight: bool = True,
        wait_for_ready: bool = True,
        candidate_tag: str | None = None,
        force: bool = False,
        timeout: float | None = None,
        hf_token_conn_id: str | None = None,
        create_namespace: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.spec_name = spec_name
        self.profile = profile
        self.preflight = preflight
        self.wait_for_ready = wait_for_ready
        self.candidate_tag = candidate_tag
        self.force = force
        self.timeout = timeout
        self.hf_token_conn_id = hf_token_conn_id
        self.create_namespace = create_namespace

    def execute(self, context: Any) -> Any:
        """Validate (after templating), preflight, plan and apply (recorded in the
        workload's history under this task's rollout id), then wait."""
        spec = lifecycle.load_spec(self.spec, name=self.spec_name, profile=self.profile)
        if self.hf_token_conn_id:
            spec = lifecycle.with_token_from_connection(spec, self.hf_token_conn_id)
        lifecycle.mask_spec_secrets(spec)
        if self.candidate_tag and spec.kind == "DistributedInference":
            raise lifecycle.usage_error(
                "candidate_tag", self.candidate_tag, "only Knative workloads "
                "(CustomInference, HuggingFaceInference) have revisions and tags")
        if self.preflight:
            spec = lifecycle.run_preflight(spec, self.profile, self.hook)
        rid = rollout_id_of(context)
        applied = rollout.apply_spec(
            self.hook, spec, profile=self.profile, rollout_id=rid, action="deploy",
            candidate_tag=self.candidate_tag, force=self.force,
            create_namespace=self.create_namespace)
        ref = applied.ref
        self.log.info("Applied %s %s/%s (generation %s, history revision %s)", spec.kind,
                      ref.namespace, ref.name, applied.generation, applied.history_revision)
        if not self.wait_for_ready:
            return {"workload_kind": spec.kind, "kind": ref.kind, "namespace": ref.namespace,
                    "name": ref.name, "generation": applied.generation, "state": "applied",
                    "rollout_id": rid}
        return self.wait_until_ready(
            context, ref, timeout=self.timeout or lifecycle.init_timeout(spec),
            expected_generation=applied.generation, expected_revision=applied.expected_revision,
            finish_kwargs={"workload_kind": spec.kind, "generation": applied.generation,
                           "rollout_id": rid},
        )

    def _finish(self, context: Any, event: Mapping[str, Any], **kwargs: Any) -> Any:
        """Record the outcome in the history (idempotent), then summary or error."""
        ref = ServingRef(*_ref_fields(event))
        rid = kwargs.get("rollout_id") or rollout_id_of(context)
        ready = event.get("status") == "ready"
        if kwargs.get("rollout_id"):  # else nothing was recorded under this id
            rollout.record(self.hook, ref, rid, good=ready,
                           reason=None if ready else str(event.get("message")),
                           knative_revision=event.get("revision") if ready else None)
        r = lifecycle.raise_for_event(event)
        summary = lifecycle.summarize(r, workload_kind=kwargs.get("workload_kind"),
                                      generation=kwargs.get("generation"))
        summary["rollout_id"] = rid
        self.log.info("%s %s/%s is ready: revision %s, url %s", r.kind, r.namespace, r.name,
                      r.revision, r.url)
        return summary


def _ref_fields(event: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """(apiVersion, kind, namespace, name) of the serving object an event is about."""
    from airflow_provider.sensors.ready import SERVING_KINDS

    kind = str(event.get("kind"))
    api_version = next(a for a, k in SERVING_KINDS.values() if k == kind)
    return api_version, kind, str(event.get("namespace")), str(event.get("name"))
