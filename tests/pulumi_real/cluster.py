"""Where the real Pulumi tier's stacks deploy: the real kube-apiserver of ``tests/real`` (etcd,
kube-apiserver and kube-controller-manager built by ``scripts/setup.d/10-kube-tools.sh``), our
CRDs installed, the example namespaces created, and the simulated Knative/LWS/KAI/kubelet
controllers driving status as API clients.

The local API server is not a target here: the Kubernetes provider reads the OpenAPI v2
document as protobuf, which it does not serve (docs/pulumi.md)."""

from __future__ import annotations

import contextlib
import multiprocessing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference_sandbox.config import GpuNode, KaiQueue, SandboxConfig
from inference_sandbox.controllers.remote import RemoteControllers
from tests.kubehttp import KubeHttp
from tests.pulumi_real.live import TEAMS
from tests.real.cluster import cleanup, install_crds, start_cluster, start_controller_manager

KUBE_TOOLS = ("etcd", "kube-apiserver", "kubectl", "kube-controller-manager")


@dataclass
class Cluster:
    """A cluster a stack deploys to: its admin kubeconfig."""

    kubeconfig: Path

    @contextlib.contextmanager
    def http(self) -> Iterator[KubeHttp]:
        """An HTTP client of the API server (closed on exit)."""
        client = KubeHttp(self.kubeconfig)
        try:
            yield client
        finally:
            client.close()


def controllers_config(gpu_nodes: int = 8, speed: float = 100.0) -> SandboxConfig:
    """The simulated controllers: every example namespace a KAI queue without quota, and
    ``gpu_nodes`` 8-GPU nodes (the distributed examples need 16 GPUs each), at ``speed``
    simulated seconds per second."""
    return SandboxConfig(speed=speed, queues=[KaiQueue(t, gpu_quota=-1, gpu_limit=-1)
                                              for t in TEAMS], namespaces=list(TEAMS),
                         gpu_nodes=[GpuNode(f"gpu-node-{i}") for i in range(gpu_nodes)])


def _serve_controllers(kubeconfig: Path, config: SandboxConfig, stop: Any) -> None:
    with RemoteControllers(kubeconfig, config).running():
        stop.wait()


@contextlib.contextmanager
def _controllers_process(kubeconfig: Path, config: SandboxConfig) -> Iterator[None]:
    """The controllers in a process of their own (as in a cluster: they do not share this
    interpreter, and its lock, with the program being measured)."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    process = context.Process(target=_serve_controllers, args=(kubeconfig, config, stop),
                              daemon=True)
    process.start()
    try:
        yield
    finally:
        stop.set()
        process.join(timeout=60)
        if process.is_alive():
            process.kill()


@contextlib.contextmanager
def running_cluster(binaries: dict[str, Path], schemas: Path, gpu_nodes: int = 8,
                    speed: float = 100.0, separate_process: bool = False) -> Iterator[Cluster]:
    """Start the control plane from ``binaries`` (:data:`KUBE_TOOLS` → path), install the CRDs
    under ``schemas``, run the controllers (``gpu_nodes`` GPU nodes, ``speed``; in their own
    process with ``separate_process``); stop and remove everything on exit."""
    real = start_cluster(binaries["etcd"], binaries["kube-apiserver"], binaries["kubectl"])
    try:
        install_crds(real, schemas)
        start_controller_manager(real, binaries["kube-controller-manager"])
        for team in TEAMS:
            real.ensure_namespace(team)
        config = controllers_config(gpu_nodes, speed)
        running = (_controllers_process(real.kubeconfig, config) if separate_process
                   else RemoteControllers(real.kubeconfig, config).running())
        with running:
            yield Cluster(kubeconfig=real.kubeconfig)
    finally:
        cleanup(real)
