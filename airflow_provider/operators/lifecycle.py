"""The lifecycle core every operator shares: spec in, manifests out, apply, judge, wait.

Operators hold intent (what to deploy, change or delete); this module holds the steps
(load and validate a spec, render it, apply with server-side apply, evaluate readiness
once, build the trigger, turn a trigger event into a summary or an error). The trigger
and the synchronous check both judge readiness with ``inference_core.readiness``.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider.hooks.resources import EVENT, KNATIVE_REVISION, POD
from inference_core.errors import (
    DeployError,
    FieldIssue,
    ObjectRef,
    ReadinessTimeout,
    SpecError,
    WorkloadFailed,
)

if TYPE_CHECKING:  # the readiness machinery loads at run time, not at DAG parse
    from airflow_provider.hooks.inference import InferenceHook
    from airflow_provider.triggers.readiness import InferenceReadyTrigger
    from inference_core.readiness import Readiness

log = logging.getLogger(__name__)

KNATIVE_API = "serving.knative.dev/v1"

#: Initialization timeouts when the spec sets none (seconds), as documented on the spec.
DEFAULT_INIT_TIMEOUT_S = {"CustomInference": 600, "HuggingFaceInference": 1800,
                          "DistributedInference": 1800}
#: Extra time Airflow's own defer timeout allows beyond the trigger's deadline.
DEFER_SLACK_S = 120


@dataclass(frozen=True)
class ServingRef:
    """Which serving object a task waits on (all primitives)."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @property
    def is_knative(self) -> bool:
        """True for a Knative Service."""
        return self.api_version == KNATIVE_API and self.kind == "Service"

    def object_ref(self) -> ObjectRef:
        """For error messages."""
        return ObjectRef(kind=self.kind, namespace=self.namespace, name=self.name)

    @classmethod
    def of(cls, manifest: Mapping[str, Any]) -> ServingRef:
        """The ref of a manifest dict."""
        meta = manifest.get("metadata") or {}
        return cls(str(manifest["apiVersion"]), str(manifest["kind"]),
                   str(meta.get("namespace")), str(meta["name"]))


# -- spec ------------------------------------------------------------------------------

def load_spec(spec: Any, *, name: str | None = None) -> Any:
    """Validate a spec given as a dict, a spec object, a YAML path or YAML text.

    A multi-document file needs ``name`` to pick one document.
    """
    from inference_core.spec import load_specs, load_specs_text, parse_spec

    if spec is None:
        raise SpecError([FieldIssue("spec", "is required", allowed="a dict, a YAML path "
                                    "or YAML text")])
    if isinstance(spec, Mapping) or hasattr(spec, "model_dump"):
        return parse_spec(spec)  # type: ignore[arg-type]
    if not isinstance(spec, str):
        raise SpecError([FieldIssue("spec", "has an unsupported type", value=type(spec).__name__,
                                    allowed="dict, YAML path or YAML text")])
    text = spec.strip()
    is_path = "\n" not in text and text.endswith((".yaml", ".yml"))
    docs = load_specs(Path(text)) if is_path else load_specs_text(text)
    if name is not None:
        docs = [d for d in docs if d.metadata.name == name]
    if len(docs) != 1:
        names = [d.metadata.name for d in docs]
        raise SpecError([FieldIssue("spec", f"holds {len(docs)} matching documents",
                                    value=names, allowed="exactly one (pass spec_name)")])
    return docs[0]


def merge_changes(spec_doc: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge camelCase ``changes`` into the document's ``spec`` (lists replace)."""
    doc = copy.deepcopy(dict(spec_doc))
    doc["spec"] = _deep_merge(dict(doc.get("spec") or {}), changes)
    return doc


def _deep_merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = _deep_merge(dict(base[key]), value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def spec_document(spec: Any) -> dict[str, Any]:
    """The camelCase dict of a validated spec, secrets kept (only in memory)."""
    data = spec.model_dump(by_alias=True, exclude_none=True, mode="python")
    token = getattr(getattr(getattr(spec, "spec", None), "model", None), "token", None)
    if token is not None:
        data["spec"]["model"]["token"] = token.get_secret_value()
    return dict(data)


def init_timeout(spec: Any) -> int:
    """The spec's initialization timeout in seconds (documented default otherwise)."""
    general = getattr(spec.spec, "general", None)
    value = getattr(general, "initialization_timeout", None)
    return int(value) if value else DEFAULT_INIT_TIMEOUT_S.get(spec.kind, 600)


def render_objects(spec: Any, profile: Any = None) -> list[dict[str, Any]]:
    """Render with secret values (they go to the API server only, never to logs/XCom)."""
    from inference_core.profile import load_profile
    from inference_core.render import render

    return render(spec, load_profile(profile), include_secret_values=True)


def serving_manifest(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The Knative Service or LeaderWorkerSet among rendered objects."""
    from inference_core.render import serving_object

    return serving_object(manifests)


def mask_spec_secrets(spec: Any) -> None:
    """Register the spec's token with Airflow's secrets masker (logs, XCom, errors)."""
    token = getattr(getattr(getattr(spec, "spec", None), "model", None), "token", None)
    if token is not None:
        from airflow.sdk.log import mask_secret

        mask_secret(token.get_secret_value())


# -- readiness -------------------------------------------------------------------------

def check_once(
    hook: InferenceHook, ref: ServingRef, *, expected_generation: int | None = None,
    expected_revision: str | None = None, fail_fast: bool = True,
) -> Readiness:
    """Judge readiness now with a few GET/LIST calls (same core functions as the trigger)."""
    from airflow_provider.triggers.assess import assess, target_revision
    from inference_core.readiness import pod_selector

    obj = hook.get(ref.api_version, ref.kind, ref.name, ref.namespace)
    pods: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    revisions: dict[str, dict[str, Any]] = {}
    if obj is not None:
        obj.setdefault("apiVersion", ref.api_version)
        obj.setdefault("kind", ref.kind)
        revision = target_revision(obj, expected_revision)
        if revision:
            rev = hook.get(KNATIVE_REVISION.api_version, "Revision", revision, ref.namespace)
            if rev is not None:
                rev.setdefault("apiVersion", KNATIVE_REVISION.api_version)
                rev.setdefault("kind", "Revision")
                revisions[revision] = rev
        if fail_fast:
            pods = hook.list(POD.api_version, "Pod", ref.namespace,
                             label_selector=pod_selector(obj, revision))
            for p in pods:
                p.setdefault("apiVersion", "v1")
                p.setdefault("kind", "Pod")
            events = hook.list(EVENT.api_version, "Event", ref.namespace)
    return assess(
        obj, ref=(ref.api_version, ref.kind, ref.namespace, ref.name), pods=pods,
        events=events, revisions=revisions, expected_generation=expected_generation,
        expected_revision=expected_revision,
    )


def make_trigger(
    hook: InferenceHook, ref: ServingRef, *, start_time: float, timeout: float,
    expected_generation: int | None, expected_revision: str | None, fail_fast: bool = True,
    resume: dict[str, Any] | None = None,
) -> InferenceReadyTrigger:
    """The trigger that waits for ``ref`` on the hook's connection (``resume``: see the
    trigger's parameter of that name)."""
    from airflow_provider.triggers.readiness import InferenceReadyTrigger

    return InferenceReadyTrigger(
        api_version=ref.api_version, kind=ref.kind, name=ref.name, namespace=ref.namespace,
        start_time=start_time, timeout=timeout, expected_generation=expected_generation,
        expected_revision=expected_revision, fail_fast=fail_fast,
        kubernetes_conn_id=hook.kubernetes_conn_id, cluster_context=hook.cluster_context,
        config_file=hook.config_file, in_cluster=hook.in_cluster, resume=resume,
    )


def run_inline(trigger: InferenceReadyTrigger) -> dict[str, Any]:
    """Run a trigger to its one event in a private event loop (``deferrable=False``)."""

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise DeployError("the readiness trigger ended without an event")

    return asyncio.run(first())


def payload_of(r: Readiness) -> dict[str, Any]:
    """The payload a synchronous check produces (same shape as the trigger's)."""
    from airflow_provider.triggers.readiness import readiness_payload

    return readiness_payload(str(r.state), r)


def raise_for_event(event: Mapping[str, Any], *, context: str = "") -> Readiness:
    """Return the readiness of a ``ready`` event; raise the matching error otherwise."""
    from inference_core.readiness import Readiness

    status = event.get("status")
    ref = ObjectRef(kind=str(event.get("kind")), namespace=event.get("namespace"),
                    name=str(event.get("name")))
    text = str(event.get("message"))
    prefix = f"{ref}: "
    message = context + (text[len(prefix):] if text.startswith(prefix) else text)
    data = event.get("readiness")
    readiness = Readiness.from_dict(data) if data else None
    if status == "ready" and readiness is not None:
        return readiness
    if status == "failed":
        raise WorkloadFailed(message, ref=ref, reason=event.get("reason"),
                             revision=event.get("revision"))
    if status == "timeout":
        raise ReadinessTimeout(message, ref=ref, last=data)
    raise DeployError(message or f"unexpected readiness event status {status!r}", ref=ref)


def summarize(r: Readiness, *, workload_kind: str | None = None,
              generation: int | None = None) -> dict[str, Any]:
    """Small JSON-able summary: kind, namespace, name, revision, URL, tag URLs."""
    tags = {t.tag: t.url for t in r.traffic if t.tag and t.url}
    return {
        "workload_kind": workload_kind,
        "kind": r.kind,
        "namespace": r.namespace,
        "name": r.name,
        "revision": r.revision,
        "url": r.url,
        "tag_urls": tags,
        "traffic": [{"revision": t.revision, "percent": t.percent, "tag": t.tag}
                    for t in r.traffic],
        "generation": generation if generation is not None else r.observed_generation,
        "state": str(r.state),
    }


# -- small helpers the operators share ----------------------------------------------------

def usage_error(field: str, value: Any, allowed: str) -> SpecError:
    """An operator argument with a bad value (named, with what is allowed)."""
    return SpecError([FieldIssue(field, "has a value this operation does not accept",
                                 value=value, allowed=allowed)])


def template_revision_name(serving: Mapping[str, Any]) -> str | None:
    """The Knative revision name the renderer pinned in ``spec.template.metadata.name``."""
    if serving.get("apiVersion") != KNATIVE_API:
        return None
    name = ((serving.get("spec") or {}).get("template") or {}).get("metadata", {}).get("name")
    return str(name) if name else None


def with_token_from_connection(spec: Any, conn_id: str) -> Any:
    """The spec with ``spec.model.token`` set from a connection's password (masked)."""
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    token = conn.password
    if not token:
        raise usage_error("hf_token_conn_id", conn_id, "a connection whose password is the "
                          "Hugging Face token")
    from airflow.sdk.log import mask_secret

    mask_secret(token)
    if getattr(getattr(spec, "spec", None), "model", None) is None:
        raise usage_error("hf_token_conn_id", conn_id, "only specs with spec.model")
    doc = spec_document(spec)
    doc["spec"]["model"]["token"] = token
    doc["spec"]["model"].pop("tokenSecret", None)
    return load_spec(doc)


def run_preflight(spec: Any, profile: Any, hook: InferenceHook, *,
                  allow_capacity_dip: bool = False) -> Any:
    """Run the core's preflight for ``spec`` and return the spec to render: the model
    revision pinned to the resolved commit and parallel sizes filled in (raises
    ``PreflightError`` subclasses when a check fails)."""
    from inference_core.preflight import KubeClusterReader, preflight_spec
    from inference_core.profile import load_profile

    reader = KubeClusterReader(hook.api_client)
    report = preflight_spec(spec, load_profile(profile), cluster=reader,
                            allow_capacity_dip=allow_capacity_dip)
    log.info("Preflight passed for %s %s: %s", spec.kind, spec.metadata.name, report.summary())
    for warning in report.capacity.warnings if report.capacity else ():
        log.warning("%s %s: %s", spec.kind, spec.metadata.name, warning)
    return report.pinned(spec)
