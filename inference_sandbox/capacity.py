"""The GPU capacity model: nodes with GPUs, pod GPU demand, placement and KAI queue quotas."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inference_sandbox.objects import annotations_of, dig, gpu_request, labels_of, meta

GPU = "nvidia.com/gpu"
KAI_SCHEDULERS = {"kai-scheduler", "runai-scheduler"}
QUEUE_LABELS = ("kai.scheduler/queue", "runai/queue")
KNOWN_PRIORITIES = {"train": 50, "build-preemptible": 75, "build": 100, "inference": 125}


def fmt_num(value: float) -> str:
    """Go ``%v`` of a float64 (``1`` not ``1.0``)."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def pod_gpus(pod: Mapping[str, Any]) -> float:
    """GPUs a pod needs: whole devices, or ``gpu-fraction`` times ``gpu-fraction-num-devices``."""
    whole = gpu_request(pod.get("spec") or {})
    if whole:
        return float(whole)
    annotations = annotations_of(pod)
    fraction = annotations.get("gpu-fraction")
    if fraction:
        try:
            devices = int(annotations.get("gpu-fraction-num-devices", "1"))
            return float(fraction) * devices
        except ValueError:
            return 0.0
    return 0.0


def is_terminal(pod: Mapping[str, Any]) -> bool:
    """Succeeded/Failed pods hold no resources."""
    return dig(pod, "status", "phase") in ("Succeeded", "Failed")


@dataclass
class NodeInfo:
    """Allocatable and used GPUs of one node."""

    name: str
    gpus: float
    labels: dict[str, str]
    taints: list[dict[str, Any]]
    unschedulable: bool = False
    used: float = 0.0

    @property
    def free(self) -> float:
        """GPUs not yet allocated."""
        return self.gpus - self.used


def nodes_from(node_objects: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]]
               ) -> dict[str, NodeInfo]:
    """Node states with the GPU use of bound, non-terminal pods."""
    nodes = {}
    for node in node_objects:
        raw = dig(node, "status", "allocatable", GPU, default="0")
        nodes[meta(node)["name"]] = NodeInfo(
            meta(node)["name"], float(str(raw)), dict(labels_of(node)),
            list(dig(node, "spec", "taints", default=[])),
            bool(dig(node, "spec", "unschedulable", default=False)))
    for pod in pods:
        node_name = dig(pod, "spec", "nodeName")
        if node_name in nodes and not is_terminal(pod):
            nodes[node_name].used += pod_gpus(pod)
    return nodes


def _tolerates(pod: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    for tol in dig(pod, "spec", "tolerations", default=[]):
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        if tol.get("operator") == "Exists" and (not tol.get("key") or
                                                 tol["key"] == taint.get("key")):
            return True
        if tol.get("key") == taint.get("key") and tol.get("value", "") == taint.get("value", ""):
            return True
    return False


def misfit(pod: Mapping[str, Any], node: NodeInfo, need: float) -> str | None:
    """Why ``pod`` cannot go on ``node`` (scheduler wording), or None."""
    # Same order as the scheduler's filter plugins; the first failure is reported.
    if node.unschedulable:
        return "node(s) were unschedulable"
    for taint in node.taints:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not _tolerates(pod, taint):
            return (f"node(s) had untolerated taint {{{taint.get('key')}: "
                    f"{taint.get('value', '')}}}")
    selector = dig(pod, "spec", "nodeSelector", default={})
    if any(node.labels.get(k) != v for k, v in selector.items()):
        return "node(s) didn't match Pod's node affinity/selector"
    if need > node.free + 1e-9:
        return f"Insufficient {GPU}"
    return None


def unschedulable_message(total: int, reasons: Counter[str]) -> str:
    """``0/N nodes are available: N Insufficient nvidia.com/gpu.``"""
    if total == 0:
        return "no nodes available to schedule pods"
    parts = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    return f"0/{total} nodes are available: {parts}."


def place(pods: Sequence[Mapping[str, Any]], nodes: Mapping[str, NodeInfo]
          ) -> tuple[dict[str, str] | None, str]:
    """Place all ``pods`` (a gang) or none: returns (pod name → node, "") or (None, message)."""
    used = {name: node.used for name, node in nodes.items()}
    plan: dict[str, str] = {}
    for pod in pods:
        need = pod_gpus(pod)
        reasons: Counter[str] = Counter()
        chosen = None
        for name in sorted(nodes, key=lambda n: (nodes[n].gpus - used[n], n)):
            node = nodes[name]
            trial = NodeInfo(node.name, node.gpus, node.labels, node.taints, node.unschedulable,
                             used[name])
            why = misfit(pod, trial, need)
            if why is None:
                chosen = name
                break
            reasons[why] += 1
        if chosen is None:
            return None, unschedulable_message(len(nodes), reasons)
        used[chosen] += need
        plan[meta(pod)["name"]] = chosen
    return plan, ""


@dataclass
class QueueUse:
    """GPUs allocated in one KAI queue."""

    total: float = 0.0
    non_preemptible: float = 0.0
    pods: list[str] = field(default_factory=list)


def pod_queue(pod: Mapping[str, Any]) -> str | None:
    """The KAI queue named by the pod's labels."""
    labels = labels_of(pod)
    for key in QUEUE_LABELS:
        if labels.get(key):
            return labels[key]
    return None


def priority_value(name: str | None, classes: Mapping[str, int]) -> int:
    """Value of a PriorityClass (KAI's defaults when not stored)."""
    if not name:
        return KNOWN_PRIORITIES["train"]
    return classes.get(name, KNOWN_PRIORITIES.get(name, 0))


def check_queue(queue_name: str, queue: Mapping[str, Any] | None, need: float,
                use: QueueUse, preemptible: bool) -> str | None:
    """KAI's quota rule for a gang needing ``need`` GPUs; a message when it does not fit."""
    if queue is None:
        return f'Queue "{queue_name}" does not exist'
    gpu = dig(queue, "spec", "resources", "gpu", default={})
    quota = float(gpu.get("quota", 0) or 0)
    limit = float(gpu.get("limit", 0) or 0)
    if not preemptible:
        if quota >= 0 and use.non_preemptible + need > quota + 1e-9:
            return (f"NonPreemptibleOverQuota: Non-preemptible workload is over quota. "
                    f"Workload requested {fmt_num(need)} GPUs, but {queue_name} quota is "
                    f"{fmt_num(quota)} GPUs, while {fmt_num(use.non_preemptible)} GPUs are "
                    f"already allocated for non-preemptible pods. Use a preemptible workload "
                    f"to go over quota.")
        return None
    if limit < 0 or quota < 0:
        return None
    cap = quota if limit == 0 else limit
    if use.total + need > cap + 1e-9:
        return (f"OverLimit: Workload requested {fmt_num(need)} GPUs, but {queue_name} limit is "
                f"{fmt_num(cap)} GPUs, while {fmt_num(use.total)} GPUs are already allocated.")
    return None
