"""Resolving asset references in a workload document ("load from an existing setup").

A spec loads an asset where its content lands, and overrides any field beside the reference:

- ``environment: NAME`` (or ``{asset: NAME}``) on ``spec`` (custom, Hugging Face) or on
  ``spec.leader`` / ``spec.workers`` (distributed);
- ``compute: {asset: NAME, ...overrides}`` at the same places;
- ``storage: [{asset: NAME, ...overrides}]`` items;
- ``{asset: NAME}`` for a Credential where a Secret is expected: ``spec.imagePullSecret``,
  ``spec.imagePullCredential`` (a shared credential), ``spec.model.tokenSecret``,
  ``env[].secretKeyRef``.

``reference_layers`` returns the asset fragments as layers to merge under the spec (the spec
wins field by field) and the spec with its references taken out; ``resolve_credentials``
replaces credential references in the merged document.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from inference_core.errors import FieldIssue
from inference_core.policy.documents import (
    ComputeResource,
    Credential,
    CredentialType,
    DataSourceAsset,
    Environment,
)
from inference_core.policy.library import Library
from inference_core.policy.merge import Merged
from inference_core.policy.paths import child

NO_ASSETS_HINT = ("pass the asset files with --assets (or the assets argument), or list them "
                  "in the cluster profile's assets")


@dataclass(frozen=True)
class Context:
    """Who the workload is: decides which policies and assets apply."""

    cluster: str
    department: str | None
    project: str
    kind: str


@dataclass
class Layer:
    """A fragment to merge at ``prefix`` with its provenance label."""

    prefix: str
    data: dict[str, Any]
    label: str


# Environment fields per kind: target (relative to the container base, or "/" for the spec).
_ENV_TARGETS: dict[str, dict[str, str | None]] = {
    "CustomInference": {
        "image": "image", "imagePullPolicy": "imagePullPolicy",
        "imagePullSecret": "/imagePullSecret", "command": "command", "args": "args",
        "env": "env", "workingDir": "workingDir", "security": "security",
        "endpoint": "/endpoint", "tools": "/tools"},
    "HuggingFaceInference": {
        "image": "vllm.image", "imagePullPolicy": "imagePullPolicy",
        "imagePullSecret": "/imagePullSecret", "command": None, "args": None, "env": "env",
        "workingDir": None, "security": "security", "endpoint": "/endpoint", "tools": None},
    "DistributedInference": {
        "image": "image", "imagePullPolicy": "imagePullPolicy",
        "imagePullSecret": "/imagePullSecret", "command": "command", "args": "args",
        "env": "env", "workingDir": "workingDir", "security": "security",
        "endpoint": "/endpoint", "tools": None},
}


def label(kind: str, name: str) -> str:
    """Provenance label of an asset."""
    return f"asset {kind}/{name}"


def container_bases(kind: str) -> list[str]:
    """Where container sections live: ``spec``, or ``spec.leader`` and ``spec.workers``."""
    return ["spec.leader", "spec.workers"] if kind == "DistributedInference" else ["spec"]


def reference_layers(doc: dict[str, Any], library: Library, ctx: Context
                     ) -> tuple[list[Layer], list[FieldIssue]]:
    """Asset layers for the references in ``doc`` (which loses its reference keys)."""
    layers: list[Layer] = []
    issues: list[FieldIssue] = []
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return layers, issues
    if ctx.kind == "DistributedInference" and "environment" in spec:
        issues.append(FieldIssue("spec.environment", "is set per role in distributed "
                                 "workloads", allowed="spec.leader.environment, "
                                 "spec.workers.environment"))
        spec.pop("environment")
    for base in container_bases(ctx.kind):
        section = _at(doc, base)
        if not isinstance(section, dict):
            continue
        if "environment" in section:
            layers.extend(_environment(section, base, library, ctx, issues))
        compute = section.get("compute")
        if isinstance(compute, dict) and "asset" in compute:
            ref = compute.pop("asset")
            found = _find(ref, "ComputeResource", f"{base}.compute.asset", library, ctx, issues)
            if isinstance(found, ComputeResource):
                fragment = found.spec.model_dump(by_alias=True, exclude_unset=True, mode="json")
                layers.append(Layer(f"{base}.compute", fragment,
                                    label("ComputeResource", found.metadata.name)))
        storage = section.get("storage")
        if isinstance(storage, list):
            for i, item in enumerate(storage):
                if isinstance(item, dict) and "asset" in item:
                    layers.extend(_data_source(item, f"{base}.storage[{i}]", library, ctx,
                                               issues, base))
    return layers, issues


def resolve_credentials(merged: Merged, library: Library, ctx: Context) -> list[FieldIssue]:
    """Replace every ``{asset: CREDENTIAL}`` in the merged document by the Secret it names."""
    issues: list[FieldIssue] = []
    slots: list[tuple[list[str | int], str]] = [
        (["spec", "imagePullSecret"], "pull"), (["spec", "imagePullCredential"], "pullcred"),
        (["spec", "model", "tokenSecret"], "hf")]
    for base in container_bases(ctx.kind):
        parts: list[str | int] = [p for p in base.split(".")]
        env = _at(merged.data, base)
        env_list = env.get("env") if isinstance(env, dict) else None
        for i, var in enumerate(env_list if isinstance(env_list, list) else []):
            if isinstance(var, dict) and isinstance(var.get("secretKeyRef"), dict):
                slots.append(([*parts, "env", i, "secretKeyRef"], "env"))
    for slot, use in slots:
        value = _at_parts(merged.data, slot)
        if not (isinstance(value, dict) and "asset" in value):
            continue
        path = _path(slot)
        resolved = None
        found = None
        if use in ("env", "pullcred") and set(value) - {"asset"}:
            extra = sorted(set(value) - {"asset"})
            issues.append(FieldIssue(f"{path}.{extra[0]}", "cannot be combined with a "
                                     "credential asset", allowed="asset"))
        else:
            found = _find(value["asset"], "Credential", f"{path}.asset", library, ctx, issues)
            if isinstance(found, Credential):
                resolved = _credential_value(found, use, path, issues)
        if resolved is not None and isinstance(found, Credential):
            merged.put(slot, resolved, label("Credential", found.metadata.name))
        elif use != "env":  # reported above: validation need not report it again
            _drop(merged.data, slot)
    return issues


def _drop(doc: Any, parts: list[str | int]) -> None:
    parent = _at_parts(doc, parts[:-1])
    if isinstance(parent, dict):
        parent.pop(parts[-1], None)


def _credential_value(cred: Credential, use: str, path: str,
                      issues: list[FieldIssue]) -> Any:
    kind = cred.spec.type
    name = cred.metadata.name
    if use in ("pull", "pullcred"):
        if kind not in (CredentialType.DOCKER_REGISTRY, CredentialType.NGC_API_KEY):
            issues.append(FieldIssue(path, f"credential {name} is not an image-pull credential",
                                     kind.value, "docker-registry or ngc-api-key"))
            return None
        if use == "pullcred":  # a shared credential: the Secret exists, nothing is created
            return {"kind": kind.value, "source": "shared", "name": cred.spec.secret.name}
        return cred.spec.secret.name
    if use == "hf":
        if kind not in (CredentialType.HUGGING_FACE, CredentialType.GENERIC) or (
                cred.key() != "HF_TOKEN"):
            issues.append(FieldIssue(path, f"credential {name} does not hold an HF_TOKEN key",
                                     f"{kind.value} key {cred.key()}",
                                     "a hugging-face credential (key HF_TOKEN)"))
            return None
        return cred.spec.secret.name
    key = cred.key()
    if kind == CredentialType.DOCKER_REGISTRY or key is None:
        issues.append(FieldIssue(path, f"credential {name} names no key to read",
                                 kind.value, "a generic, hugging-face or ngc-api-key "
                                 "credential with secret.key"))
        return None
    return {"name": cred.spec.secret.name, "key": key}


def _environment(section: dict[str, Any], base: str, library: Library, ctx: Context,
                 issues: list[FieldIssue]) -> list[Layer]:
    ref = section.pop("environment")
    if isinstance(ref, dict) and set(ref) == {"asset"}:
        ref = ref["asset"]
    found = _find(ref, "Environment", f"{base}.environment", library, ctx, issues)
    if not isinstance(found, Environment):
        return []
    fragment = found.spec.model_dump(by_alias=True, exclude_unset=True, mode="json")
    targets = _ENV_TARGETS[ctx.kind]
    name = found.metadata.name
    own: dict[str, Any] = {}
    top: dict[str, Any] = {}
    for key, value in fragment.items():
        target = targets.get(key)
        if target is None:
            issues.append(FieldIssue(f"{base}.environment", f"environment {name} sets {key}, "
                                     f"which {ctx.kind} does not use", name,
                                     hint=_why_not(ctx.kind, key)))
            continue
        if key == "endpoint" and base == "spec.workers":
            continue
        if key == "endpoint" and ctx.kind == "HuggingFaceInference":
            value = _hf_endpoint(value, base, name, issues)
        if target.startswith("/"):
            top[target[1:]] = value
        else:
            _set_dotted(own, target, value)
    layers = []
    if top:
        layers.append(Layer("spec", top, label("Environment", name)))
    if own:
        layers.append(Layer(base, own, label("Environment", name)))
    return layers


def _hf_endpoint(value: dict[str, Any], base: str, name: str,
                 issues: list[FieldIssue]) -> dict[str, Any]:
    if value.get("protocol", "http") != "http" or value.get("port", 8000) != 8000:
        issues.append(FieldIssue(f"{base}.environment", f"environment {name} serves "
                                 f"{value.get('protocol', 'http')} on port "
                                 f"{value.get('port', 8000)}; vLLM serves http on 8000", name,
                                 "protocol http, port 8000 (or leave them out)"))
    return {k: v for k, v in value.items() if k in ("access", "exposure")}


def _why_not(kind: str, key: str) -> str:
    if kind == "HuggingFaceInference":
        return ("vLLM's command, arguments and working directory are managed; use spec.vllm "
                "(extraArgs) instead") if key != "tools" else "tools are for custom workloads"
    return "tool connections are for custom workloads"


def _data_source(item: dict[str, Any], path: str, library: Library, ctx: Context,
                 issues: list[FieldIssue], base: str) -> list[Layer]:
    ref = item.pop("asset")
    found = _find(ref, "DataSource", f"{path}.asset", library, ctx, issues)
    if not isinstance(found, DataSourceAsset):
        item.setdefault("name", str(ref))
        return []
    fragment = found.spec.model_dump(by_alias=True, exclude_unset=True, mode="json")
    fragment.setdefault("name", found.metadata.name[:40])
    if "name" in item:
        fragment["name"] = item["name"]
    item["name"] = fragment["name"]
    return [Layer(base, {"storage": [fragment]}, label("DataSource", found.metadata.name))]


def _find(ref: Any, kind: str, path: str, library: Library, ctx: Context,
          issues: list[FieldIssue]) -> Any:
    if not isinstance(ref, str) or not ref:
        issues.append(FieldIssue(path, f"must name a {kind} asset", ref,
                                 ", ".join(library.asset_names(kind)) or None))
        return None
    entry = library.asset(kind, ref)
    if entry is None:
        names = library.asset_names(kind)
        hint = None if names else NO_ASSETS_HINT
        issues.append(FieldIssue(path, f"is not a known {kind} asset", ref,
                                 ", ".join(names) if names else f"no {kind} asset is loaded",
                                 hint))
        return None
    asset, where = entry
    if not asset.scope.matches(cluster=ctx.cluster, department=ctx.department,
                               project=ctx.project, kind=ctx.kind):
        issues.append(FieldIssue(path, f"{kind} {ref} ({where}) is not available to this "
                                 "workload", ref, _scope_text(asset.scope)))
        return None
    return asset


def _scope_text(scope: Any) -> str:
    parts = [f"{name} {', '.join(values)}" for name, values in (
        ("clusters", scope.clusters), ("departments", scope.departments),
        ("projects", scope.projects), ("kinds", scope.kinds)) if values]
    return "; ".join(parts) or "everywhere"


def _at(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def _at_parts(doc: Any, parts: list[str | int]) -> Any:
    for part in parts:
        if isinstance(part, int):
            doc = doc[part] if isinstance(doc, list) and part < len(doc) else None
        else:
            doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def _path(parts: list[str | int]) -> str:
    out = ""
    for part in parts:
        out = child(out, part)
    return out


def _set_dotted(target: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        target = target.setdefault(key, {})
    target[keys[-1]] = copy.deepcopy(value)
