"""Checks run before anything is applied: model (Hub, architecture, GPU memory) and capacity.

Model preflight: :func:`check_model` (see :mod:`.model`, math in :mod:`.sizing`).
Capacity preflight: :func:`check_capacity` (pure, :mod:`.capacity`) with the queue state read by
:func:`read_queue_state` through a :class:`ClusterReader` (:mod:`.cluster`).
"""

from __future__ import annotations

from inference_core.preflight.architectures import known_images, supported_architectures
from inference_core.preflight.cache import TtlLruCache, token_fingerprint
from inference_core.preflight.capacity import (
    CapacityReport,
    GpuDemand,
    QueueState,
    check_capacity,
)
from inference_core.preflight.cluster import (
    ClusterReader,
    KubeClusterReader,
    pod_gpus,
    read_queue_state,
)
from inference_core.preflight.hub import DEFAULT_CACHE, HubClient, HubModel, clear_hub_cache
from inference_core.preflight.model import (
    GpuBudget,
    ModelReport,
    ModelRequest,
    VllmSettings,
    assess,
    check_model,
)
from inference_core.preflight.sizing import ACTIVATION_OVERHEAD_BYTES, GIB
from inference_core.preflight.spec_checks import PreflightReport, preflight_spec

__all__ = [
    "ACTIVATION_OVERHEAD_BYTES",
    "DEFAULT_CACHE",
    "GIB",
    "CapacityReport",
    "ClusterReader",
    "GpuBudget",
    "GpuDemand",
    "HubClient",
    "HubModel",
    "KubeClusterReader",
    "ModelReport",
    "ModelRequest",
    "PreflightReport",
    "QueueState",
    "TtlLruCache",
    "VllmSettings",
    "assess",
    "check_capacity",
    "check_model",
    "clear_hub_cache",
    "known_images",
    "pod_gpus",
    "preflight_spec",
    "read_queue_state",
    "supported_architectures",
    "token_fingerprint",
]
