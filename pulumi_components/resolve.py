"""From component arguments to rendered manifests: load, override, render (pure, no network).

Argument values that are Pulumi outputs are resolved by the caller; everything here works on
plain values, so it runs at construction time (all plain) or inside an ``apply``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from inference_core.profile import ClusterProfile
from inference_core.render import endpoints, render, serving_object
from inference_core.rollout.inputs import resolve_spec_input
from inference_core.spec import (
    CustomInference,
    DistributedInference,
    HuggingFaceInference,
    parse_spec,
)
from inference_core.spec.loader import AnySpec
from pulumi_components.errors import InferenceComponentError

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
IMAGE = re.compile(r"^[^\s]+$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# Stands in for a token given as a Pulumi input: only the redacted form is ever rendered.
TOKEN_PLACEHOLDER = "<from-pulumi-input>"
SKIP_AWAIT = "pulumi.com/skipAwait"
TIMEOUT = "pulumi.com/timeoutSeconds"
WAIT_FOR = "pulumi.com/waitFor"


def load_spec(value: Any, kind: str, spec_name: str | None, component: str,
              profile: ClusterProfile | None = None) -> AnySpec:
    """The one spec document the component deploys, checked against the component's kind
    (the core's spec-input resolution: object, dict, path or YAML text; policies and assets
    the profile names apply). A dict without ``kind`` takes the component's kind."""
    if isinstance(value, Mapping) and "kind" not in value:
        value = {**value, "kind": kind}
    if not isinstance(value, CustomInference | HuggingFaceInference | DistributedInference
                      | Mapping | str | Path | os.PathLike):
        raise InferenceComponentError(component, f"args.spec: expected a spec, a dict or a YAML "
                                      f"path, got {type(value).__name__}", ("args.spec",))
    spec: AnySpec = resolve_spec_input(value, name=spec_name, kind=kind, field="args.spec",
                                       profile=profile)
    return spec


@dataclass(frozen=True)
class Overrides:
    """Plain values of the override arguments (None: keep the spec's)."""

    namespace: str | None = None
    image: str | None = None
    image_tag: str | None = None
    token_secret: str | None = None
    token_from_input: bool = False


@dataclass(frozen=True)
class AwaitOptions:
    """How Pulumi waits for the serving object."""

    skip: bool = False
    timeout_seconds: int | None = None
    by_component: bool = False
    """The component waits with the core's readiness (the provider must not)."""


@dataclass(frozen=True)
class Rendered:
    """Manifests (token redacted, await annotations final) and where the workload answers."""

    manifests: list[dict[str, Any]]
    namespace: str
    url: str | None
    internal_url: str
    service_name: str


def check_overrides(ov: Overrides, component: str) -> None:
    """Reject override values Kubernetes would refuse, naming the argument."""
    checks = (("namespace", ov.namespace, DNS1123_LABEL, "a DNS-1123 label"),
              ("image", ov.image, IMAGE, "an image reference without spaces"),
              ("image_tag", ov.image_tag, TAG, "an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]*)"),
              ("hf_token_secret_name", ov.token_secret, DNS1123_SUBDOMAIN, "a Secret name"))
    for arg, value, pattern, what in checks:
        if value is not None and (not isinstance(value, str) or not pattern.match(value)
                                  or len(value) > 253):
            raise InferenceComponentError(
                component, f"args.{arg}: must be {what} (got {value!r})", (f"args.{arg}",))


def with_tag(image: str, tag: str) -> str:
    """``image`` with its tag or digest replaced by ``tag``."""
    base = image.split("@", 1)[0]
    slash = base.rfind("/")
    colon = base.rfind(":")
    if colon > slash:
        base = base[:colon]
    return f"{base}:{tag}"


def _set(model: Any, path: tuple[str, ...], value: Any) -> Any:  # returns type(model)
    """A copy of a frozen pydantic model with the field at ``path`` replaced."""
    head, *rest = path
    new = value if not rest else _set(getattr(model, head), tuple(rest), value)
    return model.model_copy(update={head: new})


def apply_overrides(spec: AnySpec, profile: ClusterProfile, ov: Overrides,
                    component: str) -> tuple[AnySpec, ClusterProfile]:
    """The spec and profile with the override arguments applied, validated again."""
    if ov.namespace is not None:
        profile = profile.model_copy(update={"namespace_template": ov.namespace})
    if ov.image is not None or ov.image_tag is not None:
        spec = _override_images(spec, profile, ov)
    if ov.token_secret is not None or ov.token_from_input:
        model = getattr(spec.spec, "model", None)
        if model is None:
            arg = "hf_token" if ov.token_from_input else "hf_token_secret_name"
            raise InferenceComponentError(
                component, f"args.{arg}: the spec serves no Hugging Face model (spec.model is "
                "empty), so there is no token to give", (f"args.{arg}",))
        arg = "hf_token" if ov.token_from_input else "hf_token_secret_name"
        if model.token is not None:
            raise InferenceComponentError(
                component, f"args.{arg}: the spec already has spec.model.token; give the "
                "token in one place", (f"args.{arg}", "spec.model.token"))
        if ov.token_from_input:
            update: dict[str, Any] = {"token": SecretStr(TOKEN_PLACEHOLDER), "token_secret": None}
        else:
            update = {"token_secret": ov.token_secret}
        spec = _set(spec, ("spec", "model"), model.model_copy(update=update))
    if ov != Overrides():
        spec = parse_spec(spec)
    return spec, profile


def _override_images(spec: AnySpec, profile: ClusterProfile, ov: Overrides) -> AnySpec:
    def pick(current: str) -> str:
        image = ov.image or current
        return with_tag(image, ov.image_tag) if ov.image_tag else image

    out: AnySpec
    if isinstance(spec, CustomInference):
        out = _set(spec, ("spec", "image"), pick(spec.spec.image))
    elif isinstance(spec, HuggingFaceInference):
        default = spec.spec.vllm.image or profile.vllm_image
        out = _set(spec, ("spec", "vllm", "image"), pick(default))
    else:
        default = spec.spec.vllm.image or profile.vllm_image
        images = {role: pick(getattr(spec.spec, role).image or default)
                  for role in ("leader", "workers")}
        out = spec
        for role, image in images.items():
            out = _set(out, ("spec", role, "image"), image)
    return out


def render_workload(spec: AnySpec, profile: ClusterProfile, ov: Overrides, wait: AwaitOptions,
                    component: str) -> Rendered:
    """Render with overrides; the token Secret stays redacted (its value is set separately)."""
    spec, profile = apply_overrides(spec, profile, ov, component)
    manifests = render(spec, profile, include_secret_values=False)
    annotations = serving_object(manifests)["metadata"].setdefault("annotations", {})
    if WAIT_FOR not in annotations:  # the renderer's contract (k8s-mapping.md §5.1)
        raise InferenceComponentError(component, "the rendered serving object has no "
                                      f"{WAIT_FOR} annotation")
    if wait.timeout_seconds is not None:
        annotations[TIMEOUT] = str(wait.timeout_seconds)
    if wait.skip or wait.by_component:
        annotations[SKIP_AWAIT] = "true"
    if wait.by_component:  # the core's wait judges the leader too (no LB-address await)
        for obj in manifests:
            if (obj["apiVersion"], obj["kind"]) == ("v1", "Service"):
                obj["metadata"].setdefault("annotations", {})[SKIP_AWAIT] = "true"
    ends = endpoints(spec, profile)
    return Rendered(manifests=manifests, namespace=profile.namespace_for(spec.metadata.project),
                    url=ends.url, internal_url=ends.internal_url, service_name=ends.service_name)


def spec_token(spec: AnySpec) -> str | None:
    """The token written in the spec itself, if any (handled only as a Pulumi secret)."""
    model = getattr(spec.spec, "model", None)
    if model is None or model.token is None:
        return None
    return str(model.token.get_secret_value())
