"""Rendering: spec + cluster profile → Kubernetes manifests (pure, deterministic).

>>> manifests = render(spec, load_profile("kai"))

The list is in apply order: Secrets and PVCs first, then the serving object (Knative Service
or LeaderWorkerSet), then the Services and access policies that point at its pods. A token
given in the spec is redacted unless ``include_secret_values=True`` (front doors that apply
objects ask for it; nothing that prints or stores manifests should).
"""

from __future__ import annotations

from typing import Any

from inference_core.errors import ProfileError, ProfileRefusals
from inference_core.profile import ClusterProfile
from inference_core.render.access import access_policies
from inference_core.render.credentials import (
    model_credential_secret,
    pull_secret,
    tool_ingresses,
)
from inference_core.render.endpoints import Endpoints, endpoints
from inference_core.render.extras import (
    HF_TOKEN_KEY,
    hf_token_secret_name,
    token_secret,
    tool_services,
    volume_claims,
)
from inference_core.render.knative import knative_service
from inference_core.render.knative import pod_selector as knative_selector
from inference_core.render.lws import leader_selector, leader_service, leader_worker_set
from inference_core.render.meta import (
    MANAGED_BY,
    REDACTED_ANNOTATION,
    WORKLOAD_LABEL,
    workload_selector,
)
from inference_core.render.refusals import collecting, refuse
from inference_core.spec import k8s_names
from inference_core.spec.kinds import CustomInference, DistributedInference, HuggingFaceInference
from inference_core.spec.loader import AnySpec

SERVING_KINDS = {("serving.knative.dev/v1", "Service"),
                 ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")}

__all__ = [
    "HF_TOKEN_KEY",
    "MANAGED_BY",
    "REDACTED_ANNOTATION",
    "WORKLOAD_LABEL",
    "Endpoints",
    "endpoints",
    "hf_token_secret_name",
    "is_redacted",
    "profile_refusals",
    "render",
    "serving_object",
    "try_render",
    "workload_selector",
]


def render(spec: AnySpec, profile: ClusterProfile | None = None, *,
           include_secret_values: bool = False) -> list[dict[str, Any]]:
    """Every Kubernetes object of the workload, in apply order.

    Raises ``ProfileError`` when the spec needs something the profile has off (or does not
    fit the cluster); ``ProfileRefusals`` when there are several such fields, all listed.
    """
    profile = profile or ClusterProfile()
    with collecting() as refused:
        out = _render(spec, profile, include_secret_values)
    if len(refused) == 1:
        raise refused[0]
    if refused:
        raise ProfileRefusals([e.issue() for e in refused], refused, profile.name)
    return out


def profile_refusals(spec: AnySpec, profile: ClusterProfile | None = None
                     ) -> list[ProfileError]:
    """Every reason ``profile`` cannot run ``spec`` (empty when it renders)."""
    return try_render(spec, profile)[1]


def try_render(spec: AnySpec, profile: ClusterProfile | None = None, *,
               include_secret_values: bool = False
               ) -> tuple[list[dict[str, Any]], list[ProfileError]]:
    """(manifests, []) when the profile can run the spec, else ([], every refusal): one
    rendering pass for callers that report refusals of many documents together."""
    with collecting() as refused:
        out = _render(spec, profile or ClusterProfile(), include_secret_values)
    return ([], list(refused)) if refused else (out, [])


def _project_names(spec: AnySpec, profile: ClusterProfile) -> None:
    """The namespace (and queue label) the profile derives from the project must be valid."""
    project = spec.metadata.project
    namespace = profile.namespace_for(project)
    if k8s_names.dns_label(namespace):
        room = k8s_names.DNS1123_LABEL_MAX - (len(namespace) - len(project))
        refuse(ProfileError(
            "metadata.project", "", "", "",
            message=f"gives the namespace {namespace!r} ({len(namespace)} characters) through "
            f"the '{profile.name}' profile's namespaceTemplate "
            f"{profile.namespace_template!r} (allowed: a DNS label of at most 63 characters). "
            f"Hint: use a project name of at most {max(room, 0)} characters"))
    if profile.scheduler.type == "kai":
        queue = profile.queue_for(project)
        if k8s_names.label_value(queue):
            refuse(ProfileError(
                "metadata.project", "", "", "",
                message=f"gives the queue label value {queue!r} through the "
                f"'{profile.name}' profile's queueTemplate (allowed: "
                f"{k8s_names.LABEL_VALUE_HELP})"))


def _render(spec: AnySpec, profile: ClusterProfile,
            include_secret_values: bool) -> list[dict[str, Any]]:
    _project_names(spec, profile)
    out: list[dict[str, Any]] = []
    if isinstance(spec, CustomInference):
        secret = None
        out += volume_claims(spec, profile, spec.spec.storage)
        serving = knative_service(spec, profile)
        selector = knative_selector(spec.metadata.name)
        tools = [(t.access, t.port, f"spec.tools[{i}].access")
                 for i, t in enumerate(spec.spec.tools)]
        after = tool_services(spec, profile, selector)
        after += tool_ingresses(spec, profile)
        after += access_policies(spec, profile, selector, spec.spec.endpoint.access,
                                 "spec.endpoint.access", tools)
    elif isinstance(spec, HuggingFaceInference):
        secret = token_secret(spec, profile, spec.spec.model,
                              include_values=include_secret_values)
        out += volume_claims(spec, profile, spec.spec.storage)
        serving = knative_service(spec, profile)
        after = access_policies(spec, profile, knative_selector(spec.metadata.name),
                                spec.spec.endpoint.access, "spec.endpoint.access")
    else:
        assert isinstance(spec, DistributedInference)
        secret = token_secret(spec, profile, spec.spec.model,
                              include_values=include_secret_values)
        out += volume_claims(spec, profile, spec.spec.leader.storage + spec.spec.workers.storage)
        serving = leader_worker_set(spec, profile)
        after = [leader_service(spec, profile)]
        after += access_policies(spec, profile, leader_selector(spec.metadata.name),
                                 spec.spec.endpoint.access, "spec.endpoint.access",
                                 knative=False)
    model = getattr(spec.spec, "model", None)
    secrets = [secret,
               model_credential_secret(spec, profile, model,
                                       include_values=include_secret_values),
               pull_secret(spec, profile, include_values=include_secret_values)]
    out[:0] = [s for s in secrets if s is not None]
    out.append(serving)
    out.extend(after)
    return out


def serving_object(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The Knative Service or LeaderWorkerSet among rendered manifests."""
    for obj in manifests:
        if (obj.get("apiVersion"), obj.get("kind")) in SERVING_KINDS:
            return obj
    raise ValueError("no Knative Service or LeaderWorkerSet among the manifests")


def is_redacted(obj: dict[str, Any]) -> bool:
    """True for a Secret rendered without its value (must never be applied)."""
    annotations = obj.get("metadata", {}).get("annotations") or {}
    return bool(annotations.get(REDACTED_ANNOTATION) == "true")
