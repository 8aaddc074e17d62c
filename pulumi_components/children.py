"""Rendered manifests → ``pulumi_kubernetes`` child resources.

Child names are ``f"{component}-{role}"``:

| object (rendered name)                 | role             | resource class             |
|----------------------------------------|------------------|----------------------------|
| Secret ``<w>-hf-token``                | ``hf-token``     | core.v1.Secret             |
| PersistentVolumeClaim ``<w>-<volume>`` | ``pvc-<volume>`` | core.v1.PersistentVolumeClaim |
| Knative Service ``<w>``                | ``service``      | apiextensions.CustomResource |
| LeaderWorkerSet ``<w>``                | ``lws``          | apiextensions.CustomResource |
| Service ``<w>-leader`` (distributed)   | ``leader``       | core.v1.Service            |
| Service ``<w>-<tool>`` (custom tools)  | ``tool-<tool>``  | core.v1.Service            |
| RequestAuthentication ``<w>-jwt``      | ``jwt``          | apiextensions.CustomResource |
| AuthorizationPolicy ``<w>-access``     | ``access``       | apiextensions.CustomResource |
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from inference_core.render import REDACTED_ANNOTATION, hf_token_secret_name

KNATIVE_SERVICE = ("serving.knative.dev/v1", "Service")
LWS = ("leaderworkerset.x-k8s.io/v1", "LeaderWorkerSet")
SERVING = (KNATIVE_SERVICE, LWS)

# Fields a pipeline's rolling update / traffic shift writes (rollout_owner="pipeline"):
# Pulumi ignores them after creation, so the pipeline's field manager keeps ownership.
PIPELINE_OWNED_FIELDS: dict[tuple[str, str], list[str]] = {
    KNATIVE_SERVICE: ["spec.template", "spec.traffic"],
    LWS: ["spec.leaderWorkerTemplate", "spec.replicas"],
}

SECRET_OUTPUTS = ["data", "stringData"]


def gvk(obj: dict[str, Any]) -> tuple[str, str]:
    """(apiVersion, kind) of a manifest."""
    return obj["apiVersion"], obj["kind"]


def role_of(obj: dict[str, Any], workload: str) -> str:
    """The role part of the child's Pulumi name (see the module table)."""
    key = gvk(obj)
    name: str = obj["metadata"]["name"]
    suffix = name[len(workload) + 1:] if name.startswith(f"{workload}-") else name
    if key == KNATIVE_SERVICE:
        return "service"
    if key == LWS:
        return "lws"
    kind = key[1]
    if kind == "Secret" and name == hf_token_secret_name(workload):
        return "hf-token"
    if kind == "PersistentVolumeClaim":
        return f"pvc-{suffix}"
    if key == ("v1", "Service"):
        return "leader" if suffix == "leader" else f"tool-{suffix}"
    if kind == "RequestAuthentication":
        return "jwt"
    if kind == "AuthorizationPolicy":
        return "access"
    return f"{kind.lower()}-{suffix}"


def secret_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """A redacted Secret's metadata without the redaction marker (the applied Secret is not)."""
    out = dict(metadata)
    annotations = {k: v for k, v in (out.get("annotations") or {}).items()
                   if k != REDACTED_ANNOTATION}
    if annotations:
        out["annotations"] = annotations
    else:
        out.pop("annotations", None)
    return out


def create(name: str, key: tuple[str, str], metadata: pulumi.Input[Any],
           body: pulumi.Input[Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """One child resource; ``body`` is the object's ``spec`` (for a Secret: its ``data``)."""
    if key == ("v1", "Secret"):
        return k8s.core.v1.Secret(name, metadata=metadata, type="Opaque", data=body, opts=opts)
    if key == ("v1", "Service"):
        return k8s.core.v1.Service(name, metadata=metadata, spec=body, opts=opts)
    if key == ("v1", "PersistentVolumeClaim"):
        return k8s.core.v1.PersistentVolumeClaim(name, metadata=metadata, spec=body, opts=opts)
    return k8s.apiextensions.CustomResource(name, api_version=key[0], kind=key[1],
                                            metadata=metadata, spec=body, opts=opts)
