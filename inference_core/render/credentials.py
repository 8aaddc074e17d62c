"""Secrets a spec creates (a new model credential, image-pull credentials) and references
to them; Ingresses for tools with a custom URL.

Values follow ADR 0002: every value is rendered as ``<redacted>`` (the Secret annotated
``inference-stacks.io/redacted: "true"``) unless the caller applies objects and asks for
values; pods reference the Secrets by name only.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlsplit

from inference_core.profile import ClusterProfile
from inference_core.render.meta import REDACTED_ANNOTATION, base_metadata
from inference_core.spec.common import (
    NGC_REGISTRY,
    NGC_USERNAME,
    CredentialSource,
    ModelSource,
    PullCredentialKind,
    ToolType,
)
from inference_core.spec.loader import AnySpec

REDACTED = "<redacted>"
DESCRIPTION_ANNOTATION = "inference-stacks.io/description"
HF_TOKEN_KEY = "HF_TOKEN"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _secret(spec: AnySpec, profile: ClusterProfile, name: str, secret_type: str,
            data: dict[str, str], *, redacted: bool,
            annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta = base_metadata(spec, profile, name)
    notes = dict(annotations or {})
    if redacted:
        notes[REDACTED_ANNOTATION] = "true"
    if notes:
        meta["annotations"] = notes
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": secret_type,
            "data": {k: _b64(v) for k, v in data.items()}}


def model_credential_secret(spec: AnySpec, profile: ClusterProfile, model: ModelSource | None,
                            *, include_values: bool) -> dict[str, Any] | None:
    """The Secret of ``spec.model.credential`` (name, key and description as given)."""
    if model is None or model.credential is None:
        return None
    cred = model.credential
    value = cred.value.get_secret_value() if include_values else REDACTED
    notes = {DESCRIPTION_ANNOTATION: cred.description} if cred.description else None
    return _secret(spec, profile, cred.name, "Opaque", {cred.key: value},
                   redacted=not include_values, annotations=notes)


def model_credential_env(model: ModelSource | None) -> list[dict[str, Any]]:
    """``HF_TOKEN`` from a new credential's Secret and key."""
    if model is None or model.credential is None:
        return []
    cred = model.credential
    return [{"name": HF_TOKEN_KEY,
             "valueFrom": {"secretKeyRef": {"name": cred.name, "key": cred.key}}}]


def pull_secret_name(spec: AnySpec) -> str | None:
    """Name of the Secret ``spec.imagePullCredential`` refers to (or creates)."""
    cred = spec.spec.image_pull_credential
    if cred is None:
        return None
    return cred.name or f"{spec.metadata.name}-pull"


def pull_secret(spec: AnySpec, profile: ClusterProfile, *,
                include_values: bool) -> dict[str, Any] | None:
    """A ``kubernetes.io/dockerconfigjson`` Secret for a user's image-pull credential."""
    cred = spec.spec.image_pull_credential
    if cred is None or cred.source is CredentialSource.SHARED:
        return None
    if cred.kind is PullCredentialKind.NGC_API_KEY:
        registry, username = NGC_REGISTRY, NGC_USERNAME
        secret = cred.api_key
    else:
        registry, username = cred.registry or "", cred.username or ""
        secret = cred.password
    password = secret.get_secret_value() if (include_values and secret) else REDACTED
    auth = _b64(f"{username}:{password}") if include_values else REDACTED
    config = {"auths": {registry: {"username": username, "password": password, "auth": auth}}}
    name = pull_secret_name(spec)
    assert name is not None
    return _secret(spec, profile, name, "kubernetes.io/dockerconfigjson",
                   {".dockerconfigjson": json.dumps(config, sort_keys=True)},
                   redacted=not include_values)


def image_pull_secrets(spec: AnySpec) -> list[dict[str, str]]:
    """Pod ``imagePullSecrets``: the named Secret and the credential's, in that order."""
    names = [spec.spec.image_pull_secret, pull_secret_name(spec)]
    return [{"name": n} for n in dict.fromkeys(n for n in names if n)]


def tool_ingresses(spec: AnySpec, profile: ClusterProfile) -> list[dict[str, Any]]:
    """One Ingress per external-url tool with a custom URL, routing its host and path to the
    tool's Service."""
    out = []
    for tool in getattr(spec.spec, "tools", []):
        if tool.type is not ToolType.EXTERNAL_URL or tool.url is None:
            continue
        url = urlsplit(tool.url)
        name = f"{spec.metadata.name}-{tool.name}"
        body: dict[str, Any] = {"rules": [{"host": url.hostname, "http": {"paths": [{
            "path": url.path or "/", "pathType": "Prefix",
            "backend": {"service": {"name": name, "port": {"number": tool.port}}}}]}}]}
        if profile.tool_ingress_class:
            body["ingressClassName"] = profile.tool_ingress_class
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                    "metadata": base_metadata(spec, profile, name), "spec": body})
    return out
