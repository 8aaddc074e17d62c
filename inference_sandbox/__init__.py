"""A local Kubernetes API server with simulated Knative/LWS controllers.

Test and demo infrastructure only: production code never imports this package.

Start one with::

    from inference_sandbox import Sandbox, SandboxConfig
    with Sandbox(SandboxConfig(speed=100)).running() as sb:
        ...  # point any Kubernetes client at sb.kubeconfig_path
"""

from __future__ import annotations

from inference_sandbox.config import (
    DEFAULT_FEATURES,
    GpuNode,
    KaiQueue,
    SandboxConfig,
    Timings,
)
from inference_sandbox.faults import FaultInjector, FaultRule
from inference_sandbox.requestlog import RequestLog, RequestRecord
from inference_sandbox.sandbox import Sandbox

__all__ = [
    "DEFAULT_FEATURES",
    "FaultInjector",
    "FaultRule",
    "GpuNode",
    "KaiQueue",
    "RequestLog",
    "RequestRecord",
    "Sandbox",
    "SandboxConfig",
    "Timings",
]
