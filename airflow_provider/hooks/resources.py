"""Where each Kubernetes object lives in the API, for the hooks.

The GVK → plural table has one home, :mod:`inference_core.rollout.constants` (no plural
guessing; an unknown kind raises ``UnknownKind``, a ``DeployError`` naming the known ones).
This module re-exports what the hooks and triggers use and adds :func:`describe`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inference_core.rollout.constants import (
    EVENT,
    KNATIVE_REVISION,
    KNATIVE_SERVICE,
    LEADER_WORKER_SET,
    POD,
    RESOURCES,
    Resource,
    resource_for,
    resource_of,
)

__all__ = ["EVENT", "KNATIVE_REVISION", "KNATIVE_SERVICE", "LEADER_WORKER_SET", "POD",
           "RESOURCES", "Resource", "describe", "resource_for", "resource_of"]


def describe(manifest: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` for messages."""
    meta = manifest.get("metadata") or {}
    ns = meta.get("namespace")
    return f"{manifest.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"
