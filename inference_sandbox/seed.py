"""The objects a fresh sandbox cluster starts with (namespaces, Knative config, nodes, queues)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from inference_sandbox.config import KNATIVE_NAMESPACE, SandboxConfig
from inference_sandbox.objects import clone

PRIORITY_CLASSES = {"train": 50, "build-preemptible": 75, "build": 100, "inference": 125}


def _node(node: Any) -> dict[str, Any]:
    labels = {"kubernetes.io/hostname": node.name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": "amd64"}
    if node.gpus:
        labels.update({"nvidia.com/gpu.present": "true", "nvidia.com/gpu.product":
                       node.gpu_product, "nvidia.com/gpu.count": str(node.gpus),
                       "nvidia.com/gpu.memory": str(node.gpu_memory_mib)})
    labels.update(dict(node.labels))
    resources = {"cpu": node.cpu, "memory": node.memory, "pods": "110",
                 "nvidia.com/gpu": str(node.gpus)}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": node.name, "labels": labels},
            "spec": {"taints": [dict(t) for t in node.taints]} if node.taints else {},
            "status": {"capacity": dict(resources), "allocatable": dict(resources),
                       "conditions": [{"type": "Ready", "status": "True",
                                       "reason": "KubeletReady",
                                       "message": "kubelet is posting ready status"}],
                       "nodeInfo": {"architecture": "amd64", "bootID": node.name,
                                    "containerRuntimeVersion": "containerd://2.0.0",
                                    "kernelVersion": "6.8.0", "kubeProxyVersion": "",
                                    "kubeletVersion": "v1.33.0-sandbox",
                                    "machineID": node.name, "operatingSystem": "linux",
                                    "osImage": "Sandbox Linux", "systemUUID": node.name}}}


def _queue(queue: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"resources": {
        "gpu": {"quota": queue.gpu_quota, "limit": queue.gpu_limit,
                "overQuotaWeight": queue.over_quota_weight},
        "cpu": {"quota": -1, "limit": -1, "overQuotaWeight": 1},
        "memory": {"quota": -1, "limit": -1, "overQuotaWeight": 1}}}
    if queue.parent:
        spec["parentQueue"] = queue.parent
    return {"apiVersion": "scheduling.run.ai/v2", "kind": "Queue",
            "metadata": {"name": queue.name}, "spec": spec}


def initial_objects(config: SandboxConfig) -> Iterator[dict[str, Any]]:
    """Everything to create before the server accepts requests."""
    namespaces = dict.fromkeys(["default", "kube-system", "kube-public", KNATIVE_NAMESPACE,
                                *config.namespaces])
    for name in namespaces:
        yield {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    yield {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "config-features", "namespace": KNATIVE_NAMESPACE},
           "data": config.merged_features()}
    defaults = config.merged_knative_defaults()
    deployment_keys = {"progress-deadline"}
    autoscaler_keys = {"allow-zero-initial-scale", "initial-scale"}
    for cm, keys in (("config-deployment", deployment_keys),
                     ("config-autoscaler", autoscaler_keys),
                     ("config-defaults", set(defaults) - deployment_keys - autoscaler_keys)):
        yield {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": cm, "namespace": KNATIVE_NAMESPACE},
               "data": {k: v for k, v in defaults.items() if k in keys}}
    for name, value in PRIORITY_CLASSES.items():
        yield {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
               "metadata": {"name": name}, "value": value,
               "preemptionPolicy": "PreemptLowerPriority", "globalDefault": False}
    for node in config.gpu_nodes:
        yield _node(node)
    for queue in config.queues:
        yield _queue(queue)
    for obj in config.extra_objects:
        yield clone(dict(obj))
