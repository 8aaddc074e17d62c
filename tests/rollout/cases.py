"""Specs and live objects for the rollout planner tests."""

from __future__ import annotations

import copy
from typing import Any

from inference_core.rollout.constants import (
    KNATIVE_CREATOR_ANNOTATION,
    KNATIVE_LAST_MODIFIER_ANNOTATION,
)
from inference_core.spec import parse_spec

NOW = "2026-01-01T00:00:00+00:00"


def custom_spec(image: str = "ghcr.io/acme/app:1", name: str = "app",
                project: str = "team-a") -> Any:
    """A small CustomInference."""
    return parse_spec({
        "apiVersion": "inference-stacks/v1alpha1", "kind": "CustomInference",
        "metadata": {"name": name, "project": project},
        "spec": {"image": image, "endpoint": {"port": 8080},
                 "general": {"initializationTimeout": "2m"}},
    })


def hf_spec(token: str | None = "hf_secret_value", name: str = "llm") -> Any:
    """A HuggingFaceInference with a token given in the spec."""
    model: dict[str, Any] = {"id": "org/model", "revision": "a" * 40}
    if token:
        model["token"] = token
    return parse_spec({
        "apiVersion": "inference-stacks/v1alpha1", "kind": "HuggingFaceInference",
        "metadata": {"name": name, "project": "team-a"},
        "spec": {"model": model, "compute": {"gpuDevices": 1}},
    })


def distributed_spec(image: str = "vllm/vllm-openai:v0.11.0", name: str = "dist") -> Any:
    """A DistributedInference (LeaderWorkerSet)."""
    return parse_spec({
        "apiVersion": "inference-stacks/v1alpha1", "kind": "DistributedInference",
        "metadata": {"name": name, "project": "team-a"},
        "spec": {"model": {"id": "org/model", "revision": "b" * 40},
                 "vllm": {"image": image}, "multiNode": "native",
                 "leader": {"compute": {"gpuDevices": 8}},
                 "workers": {"count": 1, "compute": {"gpuDevices": 8}}},
    })


def live_knative(applied: dict[str, Any], *, generation: int = 1, ready: str = "app-00001",
                 created: str | None = None, traffic: list[dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    """``applied`` as the API server would return it: server-set annotations, status."""
    obj = copy.deepcopy(applied)
    meta = obj["metadata"]
    meta.setdefault("annotations", {})
    meta["annotations"][KNATIVE_CREATOR_ANNOTATION] = "admin"
    meta["annotations"][KNATIVE_LAST_MODIFIER_ANNOTATION] = "admin"
    meta.update(uid="u-1", resourceVersion="42", generation=generation,
                managedFields=[{"manager": "inference-stacks", "operation": "Apply"}])
    obj["status"] = {
        "observedGeneration": generation, "latestReadyRevisionName": ready,
        "latestCreatedRevisionName": created or ready,
        "traffic": traffic or [{"revisionName": ready, "percent": 100,
                                "latestRevision": True}],
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    return obj
