"""The three components served to every Pulumi language (TypeScript, Go, .NET, Java, YAML)
through Pulumi's component provider host; see ``pulumi_provider/`` and docs/pulumi.md.

Pulumi infers the package schema from the annotations below, so this module keeps them as
real types (no ``from __future__ import annotations``) and plain-schema shapes: the spec is
either an object (``spec``, as in the YAML file) or YAML text (``specYaml``), the profile a
built-in name or an inline object. The classes share the Python components' construction
(:func:`pulumi_components.base.construct`), so their type tokens, children and outputs are the
same (``inference-stacks:index:CustomInference`` ...).
"""

from typing import Any, NotRequired, TypedDict

import pulumi

from pulumi_components.args import InferenceArgs
from pulumi_components.base import construct, finish, type_token
from pulumi_components.errors import InferenceComponentError


class InferenceComponentArgs(TypedDict):
    """Inputs of a hosted inference component (give exactly one of ``spec`` / ``specYaml``)."""

    spec: NotRequired[pulumi.Input[dict[str, Any]]]
    """The workload spec document as an object (apiVersion, kind, metadata, spec), camelCase
    as in the spec YAML files. ``kind`` may be left out."""
    spec_yaml: NotRequired[pulumi.Input[str]]
    """The workload spec as YAML text (one document, or several with ``specName``)."""
    spec_name: NotRequired[pulumi.Input[str]]
    """Which document of a multi-document ``specYaml`` to deploy (its ``metadata.name``)."""
    profile: NotRequired[pulumi.Input[str]]
    """Built-in cluster profile: ``default``, ``kai`` or ``runai`` (default ``default``)."""
    profile_object: NotRequired[pulumi.Input[dict[str, Any]]]
    """A whole cluster profile as an object (instead of ``profile``)."""
    namespace: NotRequired[pulumi.Input[str]]
    """Namespace of every object, overriding the profile's namespace template."""
    image: NotRequired[pulumi.Input[str]]
    """Full image reference replacing the spec's serving image(s)."""
    image_tag: NotRequired[pulumi.Input[str]]
    """Tag replacing the tag (or digest) of the serving image(s)."""
    hf_token: NotRequired[pulumi.Input[str]]
    """Hugging Face token (pass a secret); written only to the ``<workload>-hf-token`` Secret."""
    hf_token_secret_name: NotRequired[pulumi.Input[str]]
    """Existing Secret (key ``HF_TOKEN``) to read the token from."""
    kubeconfig: NotRequired[pulumi.Input[str]]
    """Kubeconfig contents; the component then creates its own Kubernetes provider."""
    skip_await: NotRequired[pulumi.Input[bool]]
    """Do not wait for readiness."""
    timeout_seconds: NotRequired[pulumi.Input[int]]
    """Readiness await timeout (default: the spec's initialization timeout + 120 s)."""
    rollout_owner: NotRequired[pulumi.Input[str]]
    """``stack`` (default) or ``pipeline`` (a pipeline rolls the pod template out)."""
    preflight: NotRequired[pulumi.Input[bool]]
    """Check the model (Hub access, fit, architecture) and, with ``kubeconfig``, the queue
    capacity before creating anything; deploy the pinned spec."""
    allow_capacity_dip: NotRequired[pulumi.Input[bool]]
    """With ``preflight``: roll a LeaderWorkerSet update one group at a time when the queue
    cannot hold the surge, instead of refusing."""


PLAIN = ("spec", "spec_yaml", "spec_name", "profile", "profile_object", "skip_await",
         "timeout_seconds", "rollout_owner", "preflight", "allow_capacity_dip")
"""Inputs that decide which objects exist, so they must be known when the component is built."""


def schema_name(key: str) -> str:
    """The schema (camelCase) name of an input: ``spec_yaml`` → ``specYaml``."""
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


def to_inference_args(args: InferenceComponentArgs, component: str) -> InferenceArgs:
    """The Python components' arguments from hosted inputs (Python names, as the provider
    maps them); errors name the inputs as the calling language sees them (camelCase)."""
    values: dict[str, Any] = dict(args)
    for key in PLAIN:
        if isinstance(values.get(key), pulumi.Output):
            raise InferenceComponentError(
                component, f"args.{schema_name(key)}: must be a known value when the component "
                "is created (not another resource's output): it decides which objects are "
                "rendered",
                (f"args.{schema_name(key)}",))
    given = [k for k in ("spec", "spec_yaml") if values.get(k) is not None]
    if len(given) != 1:
        raise InferenceComponentError(
            component, "args.spec: give exactly one of spec (an object) or specYaml (YAML "
            f"text); got {' and '.join(map(schema_name, given)) or 'neither'}",
            ("args.spec", "args.specYaml"))
    spec = values.pop("spec", None)
    text = values.pop("spec_yaml", None)
    if text is not None:
        spec = text if "\n" in text else text + "\n"  # YAML text, never a file path
    if values.get("profile") is not None and values.get("profile_object") is not None:
        raise InferenceComponentError(
            component, "args.profile: give either profile (a built-in name) or "
            "profileObject, not both", ("args.profile", "args.profileObject"))
    profile = values.pop("profile_object", None) or values.pop("profile", None)
    values.pop("profile", None)
    fields: dict[str, Any] = {
        k: bool(values.pop(k)) for k in ("skip_await", "preflight", "allow_capacity_dip")
        if values.get(k) is not None}
    fields.update({k: v for k, v in values.items() if v is not None})
    return InferenceArgs(spec=spec, profile=profile, **fields)


class CustomInference(pulumi.ComponentResource):
    """Any container image served by Knative Serving (a Knative Service, plus PVCs, tool
    Services and access policies when the spec asks for them)."""

    # What the shared construction registers; the provider host derives the schema's token
    # from the class name, which matches. (No annotation: annotated attributes are outputs.)
    TYPE_TOKEN = type_token("CustomInference")
    KIND = "CustomInference"

    url: pulumi.Output[str | None]
    """External URL (absent when the workload is cluster-local)."""
    internal_url: pulumi.Output[str]
    """In-cluster URL (``.svc.cluster.local``)."""
    namespace: pulumi.Output[str]
    """Namespace of every object."""
    service_name: pulumi.Output[str]
    """The Knative Service, or the LeaderWorkerSet leader Service."""
    manifests_json: pulumi.Output[str]
    """The applied objects as JSON (the token Secret's value redacted)."""
    ready: pulumi.Output[bool | None]
    """True once the workload serves, by the core's readiness definition (absent with
    skipAwait)."""

    def __init__(self, name: str, args: InferenceComponentArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        where = f'{self.TYPE_TOKEN} "{name}"'
        a = InferenceArgs.coerce(to_inference_args(args, where), where)
        finish(self, construct(self, self.TYPE_TOKEN, self.KIND, name, a, opts))


class HuggingFaceInference(CustomInference):
    """A Hugging Face Hub model served by vLLM on Knative Serving."""

    TYPE_TOKEN = type_token("HuggingFaceInference")
    KIND = "HuggingFaceInference"


class DistributedInference(CustomInference):
    """A model served by a LeaderWorkerSet (a leader pod plus workers per replica) with a
    leader Service."""

    TYPE_TOKEN = type_token("DistributedInference")
    KIND = "DistributedInference"


HOSTED: list[type[pulumi.ComponentResource]] = [
    CustomInference, HuggingFaceInference, DistributedInference]
"""The classes the component provider serves."""
