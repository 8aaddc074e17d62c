"""Fixtures of the real Pulumi tier: ``engine`` (the Go-built CLI and Kubernetes provider, a
local file backend, passphrase secrets) and ``cluster`` (where the stacks deploy).

``cluster`` is the real kube-apiserver with kube-controller-manager and the simulated
Knative/LWS/KAI/kubelet controllers (``tests/pulumi_real/cluster.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import require_real, require_shared
from tests.pulumi_real.cluster import KUBE_TOOLS, Cluster, running_cluster
from tests.pulumi_real.engine import Engine, find_tool, tool_path


@pytest.fixture(scope="session")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The real Pulumi CLI and Kubernetes provider on a private ``PATH``/``PULUMI_HOME`` with a
    ``file://`` backend and the passphrase secrets provider."""
    tools = {}
    for tool in ("pulumi", "pulumi-resource-kubernetes"):
        found = find_tool(tool)
        require_real(f"{tool} ({tool_path(tool)})", found)
        assert found is not None
        tools[tool] = found
    yaml_host = find_tool("pulumi-language-yaml")
    if yaml_host is not None:
        tools["pulumi-language-yaml"] = yaml_host
    return Engine.create(tmp_path_factory.mktemp("pulumi"), tools)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """The real kube-apiserver with kube-controller-manager and the simulated controllers."""
    from tests.real.tools import find_tool as find_kube_tool
    from tests.real.tools import tool_path as kube_tool_path

    binaries: dict[str, Path] = {}
    for tool in KUBE_TOOLS:
        found = find_kube_tool(tool)
        require_real(f"{tool} ({kube_tool_path(tool)})", found)
        assert found is not None
        binaries[tool] = found
    with running_cluster(binaries, require_shared() / "schemas") as running:
        yield running
