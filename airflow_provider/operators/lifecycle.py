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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

def load_spec(spec: Any, *, name: str | None = None, profile: Any = None) -> Any:
    """Validate a spec given as a spec object, a dict, a YAML path or YAML text (the
    core's ``resolve_spec_input``: one answer to "path or YAML?" for every front door),
    with the policies and assets ``profile`` lists applied.

    A multi-document file needs ``name`` to pick one document.
    """
    from inference_core.rollout.inputs import resolve_spec_input

    return resolve_spec_input(spec, name=name, profile=profile)


def with_changes(spec: Any, changes: Mapping[str, Any]) -> Any:
    """``spec`` with camelCase ``changes`` deep-merged into its ``spec`` section (lists
    replace), validated again. Secrets stay ``SecretStr`` objects throughout."""
    from inference_core.spec import parse_spec

    doc = spec.model_dump(by_alias=True, exclude_none=True, mode="python")
    doc["spec"] = _deep_merge(dict(doc.get("spec") or {}), changes)
    return parse_spec(doc)


def serving_ref_of(spec: Any, profile: Any = None) -> ServingRef:
    """Which serving object ``spec`` renders to (rendered without secret values)."""
    from inference_core.profile import load_profile
    from inference_core.render import render, serving_object

    return ServingRef.of(serving_object(render(spec, load_profile(profile))))


def _deep_merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            base[key] = _deep_merge(dict(base[key]), value)
        else:
            base[key] = copy.deepcopy(value)
    return base


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
    """Judge readiness now with a few GET/LIST calls (the core's ``read_snapshot`` and
    ``assess``: the same judgement as the trigger's)."""
    from inference_core.rollout.kube import ObjectKey
    from inference_core.rollout.plan import WaitTarget
    from inference_core.rollout.wait import assess, read_snapshot

    target = WaitTarget(ObjectKey(ref.api_version, ref.kind, ref.namespace, ref.name), 0.0,
                        expected_generation=expected_generation,
                        expected_revision=expected_revision, fail_fast=fail_fast)
    return assess(target, read_snapshot(hook.client, target))


class _Stopped(Exception):
    """The task was killed while waiting in the worker."""


def wait_sync(
    hook: InferenceHook, ref: ServingRef, *, timeout: float,
    expected_generation: int | None = None, expected_revision: str | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Wait in this process (the core's watch-based wait) for at most ``timeout`` s; the
    event payload the trigger would send (``ready``, ``failed`` or ``timeout``).

    ``timeout`` 0 reads once (no watch). ``stop`` is asked after every read; when it says
    so the wait ends (watches closed) with ``DeployError``.
    """
    from inference_core.rollout.kube import ObjectKey
    from inference_core.rollout.plan import WaitTarget
    from inference_core.rollout.wait import Outcome, WaitProgress, wait_ready

    target = WaitTarget(ObjectKey(ref.api_version, ref.kind, ref.namespace, ref.name),
                        timeout, expected_generation=expected_generation,
                        expected_revision=expected_revision)
    seen: list[Readiness] = []

    def on_update(progress: WaitProgress, outcome: Outcome) -> None:
        if outcome.readiness is not None:
            seen[:] = [outcome.readiness]
        if stop():
            raise _Stopped

    if timeout <= 0:  # one read, no watch
        from inference_core.rollout.wait import assess, read_snapshot

        r = assess(target, read_snapshot(hook.client, target))
        if r.terminal:
            return payload_of(r)
        from airflow_provider.triggers.readiness import readiness_payload

        return readiness_payload("timeout", r)
    try:
        return payload_of(wait_ready(hook.client, target, on_update=on_update))
    except WorkloadFailed:
        return payload_of(seen[-1])
    except ReadinessTimeout as e:
        from airflow_provider.triggers.readiness import readiness_payload

        if seen:
            return readiness_payload("timeout", seen[-1], message=str(e))
        return {"status": "timeout", "reason": "Timeout", "message": str(e),
                "kind": ref.kind, "namespace": ref.namespace, "name": ref.name,
                "revision": expected_revision, "url": None, "readiness": None}
    except _Stopped:
        raise DeployError("the wait was stopped: the task was killed",
                          ref=ref.object_ref()) from None


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
    model = getattr(getattr(spec, "spec", None), "model", None)
    if model is None:
        raise usage_error("hf_token_conn_id", conn_id, "only specs with spec.model")
    from pydantic import SecretStr

    # No dict round trip: the token stays a SecretStr on a copy of the validated spec.
    new_model = model.model_copy(update={"token": SecretStr(token), "token_secret": None})
    return spec.model_copy(update={"spec": spec.spec.model_copy(update={"model": new_model})})


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
