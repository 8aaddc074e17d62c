"""``InferenceArgs``: what a component is built from (a spec plus Pulumi inputs)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

import pulumi
import pulumi_kubernetes as k8s

from inference_core.profile import ClusterProfile
from inference_core.spec import CustomInference, DistributedInference, HuggingFaceInference
from pulumi_components.errors import InferenceComponentError

SpecInput = Union[CustomInference, HuggingFaceInference, DistributedInference,
                  Mapping[str, Any], str, "os.PathLike[str]"]
"""A spec object, a spec document as a dict (camelCase, as in YAML), a YAML file path, or
YAML text (a string containing a newline)."""

ProfileInput = Union[ClusterProfile, Mapping[str, Any], str, "os.PathLike[str]", None]
"""A ``ClusterProfile``, a profile mapping, a built-in name (``default``, ``kai``, ``runai``),
a YAML file path, or None (the default profile)."""

RolloutOwner = Literal["stack", "pipeline"]

ROLLOUT_OWNERS: tuple[str, ...] = ("stack", "pipeline")


@dataclass
class InferenceArgs:
    """Arguments of ``CustomInference``, ``HuggingFaceInference`` and ``DistributedInference``.

    Only ``spec`` is required. Fields typed ``pulumi.Input`` may be plain values or outputs of
    other resources (unknown during preview is fine: the affected fields show as unknown).
    """

    spec: SpecInput
    """The workload: spec object, dict, YAML path or YAML text. A dict without ``kind`` takes
    the component's kind."""
    profile: ProfileInput = None
    """Cluster profile (capabilities of the target cluster). Default: ``default``."""
    spec_name: str | None = None
    """Which document to use when ``spec`` is a multi-document YAML file (``metadata.name``)."""
    namespace: pulumi.Input[str] | None = None
    """Namespace of every object, overriding the profile's ``namespaceTemplate`` (e.g. the
    ``metadata.name`` output of a ``Namespace`` resource)."""
    image: pulumi.Input[str] | None = None
    """Full image reference replacing the spec's serving image (custom: ``spec.image``;
    Hugging Face: ``spec.vllm.image``; distributed: leader and worker images)."""
    image_tag: pulumi.Input[str] | None = None
    """Tag replacing the tag (or digest) of the serving image(s), e.g. a CI build number."""
    hf_token: pulumi.Input[str] | None = None
    """Hugging Face token (use a Pulumi secret). Written only to the ``<workload>-hf-token``
    Secret, whose value stays encrypted in Pulumi state."""
    hf_token_secret_name: pulumi.Input[str] | None = None
    """Existing Secret (with an ``HF_TOKEN`` key) to read the token from, e.g. the name output
    of a Secret managed elsewhere; replaces ``spec.model.tokenSecret``."""
    provider: k8s.Provider | None = None
    """Kubernetes provider for every child (alternatively pass ``providers`` in ``opts``)."""
    kubeconfig: pulumi.Input[str] | None = None
    """Kubeconfig contents: the component creates its own provider child (``<name>-provider``)."""
    skip_await: bool = False
    """Do not wait for readiness on ``pulumi up`` (adds ``pulumi.com/skipAwait: "true"``)."""
    timeout_seconds: int | None = None
    """Await timeout in seconds (default: the spec's initialization timeout + 120 s)."""
    rollout_owner: RolloutOwner = "stack"
    """``stack``: every change goes through Pulumi. ``pipeline``: a pipeline rolls the pod
    template (and Knative traffic) out with its own field manager; Pulumi ignores those
    fields after creation (see docs/pulumi.md, "Ownership")."""
    preflight: bool = False
    """Run the core's preflight before creating children: Hugging Face Hub lookup (model,
    revision, token access), GPU fit and the architecture check; with ``kubeconfig``, also
    the KAI queue capacity. Children are rendered from the pinned spec (model revision →
    commit sha, parallel sizes filled in). Off by default, so nothing, ``pulumi preview``
    included, talks to the network unless asked."""
    allow_capacity_dip: bool = False
    """With ``preflight``: when the queue cannot hold a LeaderWorkerSet update's surge, roll
    it out one group at a time (``maxSurge: 0``, ``maxUnavailable: 1``) instead of refusing."""

    @classmethod
    def coerce(cls, value: Any, component: str) -> InferenceArgs:
        """Accept ``InferenceArgs``, a mapping of its fields, or a bare spec."""
        if isinstance(value, InferenceArgs):
            args = value
        elif isinstance(value, Mapping) and not ({"kind", "metadata"} & set(value)):
            known = {f.name for f in dataclasses.fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise InferenceComponentError(
                    component, f"args.{unknown[0]}: is not a known argument (allowed: "
                    f"{', '.join(sorted(known))})", (f"args.{unknown[0]}",))
            if "spec" not in value:
                raise InferenceComponentError(component, "args.spec: is required", ("args.spec",))
            args = cls(**value)
        elif isinstance(value, CustomInference | HuggingFaceInference | DistributedInference
                        | Mapping | str | Path | os.PathLike):
            args = cls(spec=value)
        else:
            raise InferenceComponentError(
                component, f"args: expected InferenceArgs, a mapping or a spec, got "
                f"{type(value).__name__}", ("args",))
        args.check(component)
        return args

    def check(self, component: str) -> None:
        """Validate the plain (non-Output) arguments."""
        if self.rollout_owner not in ROLLOUT_OWNERS:
            raise InferenceComponentError(
                component, f"args.rollout_owner: is not an allowed value (got "
                f"{self.rollout_owner!r}; allowed: {', '.join(ROLLOUT_OWNERS)})",
                ("args.rollout_owner",))
        if self.timeout_seconds is not None and (
                isinstance(self.timeout_seconds, bool) or not isinstance(self.timeout_seconds, int)
                or self.timeout_seconds < 1):
            raise InferenceComponentError(
                component, f"args.timeout_seconds: must be a positive integer (got "
                f"{self.timeout_seconds!r})", ("args.timeout_seconds",))
        for flag in ("preflight", "allow_capacity_dip"):
            if not isinstance(getattr(self, flag), bool):
                raise InferenceComponentError(
                    component, f"args.{flag}: must be true or false (got "
                    f"{getattr(self, flag)!r})", (f"args.{flag}",))
        if self.allow_capacity_dip and not self.preflight:
            raise InferenceComponentError(
                component, "args.allow_capacity_dip: only applies with preflight=True (the "
                "capacity check decides the rollout)",
                ("args.allow_capacity_dip", "args.preflight"))
        if self.provider is not None and self.kubeconfig is not None:
            raise InferenceComponentError(
                component, "args.kubeconfig: give either a provider or a kubeconfig, not both",
                ("args.provider", "args.kubeconfig"))
        if self.hf_token is not None and self.hf_token_secret_name is not None:
            raise InferenceComponentError(
                component, "args.hf_token: give either a token or an existing Secret name "
                "(hf_token_secret_name), not both", ("args.hf_token", "args.hf_token_secret_name"))
