"""Fixtures of the real-server tier: ``real_cluster`` (etcd + kube-apiserver with our CRDs, one
per session) and ``validator`` (the Knative/LWS admission code as a Go program)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inference_sandbox.config import GpuNode, KaiQueue, SandboxConfig
from inference_sandbox.controllers.remote import RemoteControllers
from tests.helpers import require_real, require_shared
from tests.real.cluster import (
    RealCluster,
    cleanup,
    install_crds,
    start_cluster,
    start_controller_manager,
)
from tests.real.tools import find_tool, tool_path


@pytest.fixture(scope="session")
def real_cluster() -> Iterator[RealCluster]:
    """A real kube-apiserver (TLS, token auth, RBAC) on etcd, CRDs installed and Established,
    and kube-controller-manager's garbage collector and namespace controller."""
    schemas = require_shared() / "schemas"
    binaries: dict[str, Path] = {}
    for tool in ("etcd", "kube-apiserver", "kubectl", "kube-controller-manager"):
        found = find_tool(tool)
        require_real(f"{tool} ({tool_path(tool)})", found)
        assert found is not None
        binaries[tool] = found
    cluster = start_cluster(binaries["etcd"], binaries["kube-apiserver"], binaries["kubectl"])
    try:
        install_crds(cluster, schemas)
        start_controller_manager(cluster, binaries["kube-controller-manager"])
        yield cluster
    finally:
        cleanup(cluster)


@pytest.fixture(scope="session")
def validator_path() -> Path:
    """The ``infstack-validate`` binary (Knative Serving's and LWS's own admission code)."""
    found = find_tool("infstack-validate")
    require_real(f"infstack-validate ({tool_path('infstack-validate')})", found)
    assert found is not None
    return found


@pytest.fixture(scope="module")
def controllers(real_cluster: RealCluster) -> Iterator[RemoteControllers]:
    """The simulated Knative/LWS/KAI/kubelet controllers running against the real server."""
    # Tests leave their workloads in place (the garbage collector removes only what is deleted),
    # so workloads of earlier tests keep their GPUs: give the module room for all of them.
    config = SandboxConfig(speed=100.0,
                           gpu_nodes=[GpuNode(f"gpu-node-{i}") for i in range(6)],
                           queues=[KaiQueue("team-a", gpu_quota=-1, gpu_limit=-1),
                                   KaiQueue("team-c", gpu_quota=-1, gpu_limit=-1)])
    with RemoteControllers(real_cluster.kubeconfig, config).running() as running:
        yield running
