"""Specs the Pulumi tests deploy: every example plus cases the examples do not cover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.helpers import EXAMPLES, example_profile

TOKEN = "hf_pulumiTestToken0123456789abcdef"

CUSTOM_TOOLS: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1", "kind": "CustomInference",
    "metadata": {"name": "notebook-model", "project": "team-x"},
    "spec": {
        "image": "ghcr.io/acme/model:1.0",
        "endpoint": {"port": 8080, "access": {"mode": "authenticated"}},
        "tools": [{"name": "tensorboard", "port": 6006},
                  {"name": "debug", "port": 5678, "type": "node-port"}],
        "storage": [{"name": "scratch", "path": "/scratch",
                     "volume": {"size": "20GB", "storageClass": "fast"}}],
    },
}

HF_TOKEN_IN_SPEC: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1", "kind": "HuggingFaceInference",
    "metadata": {"name": "gated-llm", "project": "team-y"},
    "spec": {"model": {"id": "meta-llama/Llama-3.2-1B", "token": TOKEN},
             "compute": {"gpuDevices": 1}},
}

DISTRIBUTED_TOKEN: dict[str, Any] = {
    "apiVersion": "inference-stacks/v1alpha1", "kind": "DistributedInference",
    "metadata": {"name": "big-llm", "project": "team-z"},
    "spec": {"model": {"id": "meta-llama/Llama-3.1-70B-Instruct", "token": TOKEN},
             "leader": {"compute": {"gpuDevices": 4}},
             "workers": {"count": 1, "compute": {"gpuDevices": 4}},
             "endpoint": {"exposure": "external"}},
}

EXTRA: list[tuple[str, dict[str, Any], str]] = [
    ("custom-tools-volume", CUSTOM_TOOLS, "kai"),
    ("hf-token-in-spec", HF_TOKEN_IN_SPEC, "default"),
    ("distributed-token-external", DISTRIBUTED_TOKEN, "kai"),
]


def example_cases() -> list[tuple[Path, str]]:
    """(example file, profile it names)."""
    return [(path, example_profile(path)) for path in EXAMPLES]
