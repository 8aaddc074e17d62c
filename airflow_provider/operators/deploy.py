"""``DeployInferenceOperator``: validate, preflight, apply, wait; idempotent on retry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider.links import InferenceEndpointLink
from airflow_provider.operators import lifecycle
from airflow_provider.operators.base import InferenceBaseOperator
from airflow_provider.operators.lifecycle import ServingRef
from airflow_provider.operators.traffic_plan import candidate_traffic


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
    :param force: take over fields another field manager owns (default True).
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
        force: bool = True,
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
        """Validate (after templating), preflight, apply, then wait."""
        spec = lifecycle.load_spec(self.spec, name=self.spec_name)
        if self.hf_token_conn_id:
            spec = lifecycle.with_token_from_connection(spec, self.hf_token_conn_id)
        lifecycle.mask_spec_secrets(spec)
        if self.preflight:
            spec = lifecycle.run_preflight(spec, self.profile, self.hook)
        manifests = lifecycle.render_objects(spec, self.profile)
        serving = lifecycle.serving_manifest(manifests)
        ref = ServingRef.of(serving)
        if self.candidate_tag:
            if not ref.is_knative:
                raise lifecycle.usage_error(
                    "candidate_tag", self.candidate_tag, "only Knative workloads "
                    "(CustomInference, HuggingFaceInference) have revisions and tags")
            live = self.hook.get(ref.api_version, ref.kind, ref.name, ref.namespace)
            serving.setdefault("spec", {})["traffic"] = candidate_traffic(
                live, self.candidate_tag)
        if self.create_namespace:
            self.hook.apply({"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": ref.namespace}})
        stored = self.hook.apply_all(manifests, force=self.force)
        generation = _generation_of(stored, ref)
        self.log.info("Applied %d objects for %s %s/%s (generation %s)", len(manifests),
                      spec.kind, ref.namespace, ref.name, generation)
        expected_revision = lifecycle.template_revision_name(serving)
        if not self.wait_for_ready:
            return {"workload_kind": spec.kind, "kind": ref.kind, "namespace": ref.namespace,
                    "name": ref.name, "generation": generation, "state": "applied"}
        return self.wait_until_ready(
            context, ref, timeout=self.timeout or lifecycle.init_timeout(spec),
            expected_generation=generation, expected_revision=expected_revision,
            finish_kwargs={"workload_kind": spec.kind, "generation": generation},
        )

    def _finish(self, context: Any, event: Mapping[str, Any], **kwargs: Any) -> Any:
        r = lifecycle.raise_for_event(event)
        summary = lifecycle.summarize(r, workload_kind=kwargs.get("workload_kind"),
                                      generation=kwargs.get("generation"))
        self.log.info("%s %s/%s is ready: revision %s, url %s", r.kind, r.namespace, r.name,
                      r.revision, r.url)
        return summary


def _generation_of(stored: list[dict[str, Any]], ref: ServingRef) -> int | None:
    for obj in stored:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == ref.kind and meta.get("name") == ref.name and \
                obj.get("apiVersion") == ref.api_version:
            gen = meta.get("generation")
            return int(gen) if gen is not None else None
    return None
