"""Fixtures: a sandbox API server with namespace ``team-a`` created through the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inference_core.rollout.client import KubernetesClient
from inference_core.rollout.retry import RetryPolicy

SPEC = """apiVersion: inference-stacks/v1alpha1
kind: CustomInference
metadata: {{name: {name}, project: team-a}}
spec:
  image: {image}
  endpoint: {{port: 8080}}
  general: {{initializationTimeout: {init}}}
"""
NS = "team-a"


def write_spec(path: Path, image: str, name: str = "app", init: str = "2m") -> Path:
    """A CustomInference spec file for ``image`` (``init``: initialization timeout)."""
    path.write_text(SPEC.format(name=name, image=image, init=init), encoding="utf-8")
    return path


@pytest.fixture
def cluster(sandbox: Any) -> Iterator[tuple[Any, KubernetesClient]]:
    """(sandbox, client) with namespace team-a present."""
    client = KubernetesClient.from_kubeconfig(
        sandbox.kubeconfig_path, retry=RetryPolicy(attempts=4, base_wait_s=0.01,
                                                   max_wait_s=0.05))
    client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    yield sandbox, client
    client.close()
