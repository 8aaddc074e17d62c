"""Pulumi components for inference-stacks: one spec → the Kubernetes objects, awaited.

>>> from pulumi_components import HuggingFaceInference, InferenceArgs
>>> llm = HuggingFaceInference("llama", InferenceArgs(spec="examples/hf.yaml", profile="kai",
...                                                   hf_token=config.require_secret("hfToken")))
>>> pulumi.export("url", llm.url)
"""

from __future__ import annotations

from typing import Any

import pulumi

from pulumi_components.args import InferenceArgs, ProfileInput, RolloutOwner, SpecInput
from pulumi_components.base import InferenceComponent
from pulumi_components.custom import CustomInference
from pulumi_components.distributed import DistributedInference
from pulumi_components.errors import InferenceComponentError
from pulumi_components.huggingface import HuggingFaceInference

COMPONENTS: dict[str, type[InferenceComponent]] = {
    "CustomInference": CustomInference,
    "HuggingFaceInference": HuggingFaceInference,
    "DistributedInference": DistributedInference,
}
"""Component class per spec kind."""


def component_for(kind: str) -> type[InferenceComponent]:
    """The component class deploying specs of ``kind``."""
    try:
        return COMPONENTS[kind]
    except KeyError:
        raise ValueError(f"kind {kind!r} is not a workload kind "
                         f"(allowed: {', '.join(COMPONENTS)})") from None


def inference(name: str, args: InferenceArgs, opts: pulumi.ResourceOptions | None = None,
              ) -> InferenceComponent:
    """Create the right component for a parsed spec (``args.spec`` must be a spec object)."""
    kind: Any = getattr(args.spec, "kind", None)
    return component_for(str(kind))(name, args, opts)


__all__ = [
    "COMPONENTS",
    "CustomInference",
    "DistributedInference",
    "HuggingFaceInference",
    "InferenceArgs",
    "InferenceComponent",
    "InferenceComponentError",
    "ProfileInput",
    "RolloutOwner",
    "SpecInput",
    "component_for",
    "inference",
]
