"""Supporting objects: the HF token Secret, new-volume PVCs, tool Services."""

from __future__ import annotations

import base64
from typing import Any

from inference_core.profile import ClusterProfile
from inference_core.render.meta import REDACTED_ANNOTATION, base_metadata
from inference_core.rollout.constants import token_secret_name
from inference_core.spec.common import ModelSource, ToolType
from inference_core.spec.loader import AnySpec
from inference_core.spec.quantities import format_memory
from inference_core.spec.storage import DataSource

HF_TOKEN_KEY = "HF_TOKEN"
REDACTED = "<redacted>"


def hf_token_secret_name(workload: str) -> str:
    """Name of the Secret holding a token given in the spec."""
    return token_secret_name(workload)


def token_secret(spec: AnySpec, profile: ClusterProfile, model: ModelSource | None,
                 *, include_values: bool) -> dict[str, Any] | None:
    """The Secret holding a token given in the spec (value redacted unless asked for)."""
    if model is None or model.token is None:
        return None
    meta = base_metadata(spec, profile, hf_token_secret_name(spec.metadata.name))
    value = model.token.get_secret_value() if include_values else REDACTED
    if not include_values:
        meta["annotations"] = {REDACTED_ANNOTATION: "true"}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
            "data": {HF_TOKEN_KEY: base64.b64encode(value.encode()).decode()}}


def token_env(spec: AnySpec, model: ModelSource | None) -> list[dict[str, Any]]:
    """``HF_TOKEN`` from the spec's Secret or the user's existing one."""
    if model is None:
        return []
    if model.token is not None:
        secret = hf_token_secret_name(spec.metadata.name)
    elif model.token_secret is not None:
        secret = model.token_secret
    else:
        return []
    return [{"name": HF_TOKEN_KEY,
             "valueFrom": {"secretKeyRef": {"name": secret, "key": HF_TOKEN_KEY}}}]


def volume_claims(spec: AnySpec, profile: ClusterProfile,
                  storage: list[DataSource]) -> list[dict[str, Any]]:
    """PVCs for ``volume`` data sources (named ``<workload>-<volume>``)."""
    claims = []
    for src in storage:
        if src.volume is None:
            continue
        body: dict[str, Any] = {
            "accessModes": [m.value for m in src.volume.access_modes],
            "resources": {"requests": {"storage": format_memory(src.volume.size)}},
            "volumeMode": src.volume.volume_mode.value,
        }
        if src.volume.storage_class:
            body["storageClassName"] = src.volume.storage_class
        claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": base_metadata(spec, profile,
                                                 f"{spec.metadata.name}-{src.name}"),
                       "spec": body})
    return claims


def tool_services(spec: AnySpec, profile: ClusterProfile,
                  selector: dict[str, str]) -> list[dict[str, Any]]:
    """One Service per tool connection (NodePort, or the profile's external type)."""
    out = []
    for tool in getattr(spec.spec, "tools", []):
        port: dict[str, Any] = {"name": tool.name, "port": tool.port, "targetPort": tool.port,
                                "protocol": "TCP"}
        if tool.type is ToolType.NODE_PORT:
            svc_type = "NodePort"
            if tool.node_port is not None:
                port["nodePort"] = tool.node_port
        elif tool.url is not None:
            svc_type = "ClusterIP"  # an Ingress routes the custom URL to it
        else:
            svc_type = profile.external_service_type
        out.append({"apiVersion": "v1", "kind": "Service",
                    "metadata": base_metadata(spec, profile, f"{spec.metadata.name}-{tool.name}"),
                    "spec": {"type": svc_type, "selector": dict(selector), "ports": [port]}})
    return out
