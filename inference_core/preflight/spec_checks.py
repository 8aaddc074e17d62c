"""Preflight of a whole inference spec: builds the plain records from the spec and profile.

:func:`preflight_spec` runs

- the model preflight (:func:`~inference_core.preflight.model.check_model`) for specs with a
  ``spec.model`` (HuggingFaceInference, DistributedInference with a model);
- the capacity preflight (:func:`~inference_core.preflight.capacity.check_capacity`) when a
  :class:`~inference_core.preflight.cluster.ClusterReader` is given and the profile's scheduler
  is KAI (queues exist only there).

Token: ``spec.model.token`` when inline; for ``spec.model.tokenSecret`` the reader's optional
``get_secret_value(namespace, name, key)`` is used (``KubeClusterReader`` has it). Without a
readable token the Hub is asked anonymously and an access refusal becomes a note (the Secret's
token may well have access) instead of a failure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from inference_core.errors import ModelAccessDenied, ModelNotFound
from inference_core.preflight.capacity import CapacityReport, GpuDemand, check_capacity
from inference_core.preflight.cluster import ClusterReader, pod_gpus, read_queue_state
from inference_core.preflight.hub import HubClient
from inference_core.preflight.model import (
    GpuBudget,
    ModelReport,
    ModelRequest,
    VllmSettings,
    check_model,
)

if TYPE_CHECKING:
    from inference_core.profile import ClusterProfile

log = logging.getLogger(__name__)

WORKLOAD_LABEL = "inference-stacks.io/workload"
TOKEN_KEY = "HF_TOKEN"


@dataclass(frozen=True)
class PreflightReport:
    """Everything preflight found for one spec (no secrets)."""

    kind: str
    name: str
    model: ModelReport | None = None
    capacity: CapacityReport | None = None
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """One line for the CLI / logs."""
        parts = [self.model.summary()] if self.model else ["no model check"]
        if self.capacity:
            c = self.capacity
            parts.append(f"queue {c.queue}: peak {c.peak_gpus:g} GPUs, "
                         f"{c.free_gpus_after:g} free after")
            parts.extend(c.warnings)
        parts.extend(self.notes)
        return "; ".join(parts)

    def vllm_args(self) -> list[str]:
        """Flags to pin (``--revision <sha>``, parallel sizes); empty without a model check."""
        return self.model.vllm_args() if self.model else []

    def pinned(self, spec: Any) -> Any:
        """``spec`` with what preflight resolved written into it, ready to render: the model
        revision pinned to the commit sha (every replica serves the same weights), the
        tensor/pipeline parallel sizes filled in when the user left them unset, and, when the
        user allowed a capacity dip, the LeaderWorkerSet rollout that fits the queue."""
        body = spec.spec
        rollout = self.capacity.suggested_rollout if self.capacity else None
        if rollout and spec.kind == "DistributedInference":
            body = body.model_copy(update={"rollout": body.rollout.model_copy(update={
                "max_surge": rollout.get("maxSurge", body.rollout.max_surge),
                "max_unavailable": rollout.get("maxUnavailable", body.rollout.max_unavailable),
            })})
            spec = spec.model_copy(update={"spec": body})
        if self.model is None or getattr(body, "model", None) is None:
            return spec
        model = body.model.model_copy(update={"revision": self.model.commit_sha})
        vllm = body.vllm.model_copy(update={
            "tensor_parallel_size": body.vllm.tensor_parallel_size
            or self.model.tensor_parallel_size,
            "pipeline_parallel_size": body.vllm.pipeline_parallel_size
            or self.model.pipeline_parallel_size,
        })
        return spec.model_copy(update={"spec": body.model_copy(
            update={"model": model, "vllm": vllm})})


def preflight_spec(
    spec: Any, profile: ClusterProfile | None = None, *, cluster: ClusterReader | None = None,
    hub: HubClient | None = None, allow_capacity_dip: bool = False,
) -> PreflightReport:
    """Run the model and capacity preflight for one spec; raises PreflightError subclasses."""
    from inference_core.profile import ClusterProfile

    prof = profile or ClusterProfile()
    body = spec.spec
    namespace = prof.namespace_for(spec.metadata.project)
    notes: list[str] = []
    model_report: ModelReport | None = None
    source = getattr(body, "model", None)
    if source is not None:
        model_report = _model_check(spec, prof, namespace, cluster, hub, notes)
    capacity: CapacityReport | None = None
    if cluster is not None and prof.scheduler.type == "kai":
        capacity = _capacity_check(spec, prof, namespace, cluster, allow_capacity_dip)
    return PreflightReport(spec.kind, spec.metadata.name, model_report, capacity, tuple(notes))


def _pod_compute(spec: Any) -> tuple[Any, int]:
    """(compute of the serving pod, pods per replica)."""
    body = spec.spec
    if spec.kind == "DistributedInference":
        return body.leader.compute, 1 + int(body.workers.count)
    return body.compute, 1


def _budget(spec: Any, prof: ClusterProfile) -> GpuBudget:
    compute, pods = _pod_compute(spec)
    device = int(prof.gpu_memory_per_device)
    util = spec.spec.vllm.gpu_memory_utilization
    fraction = compute.gpu_portion.request / 100 if compute.gpu_portion else None
    mem = int(compute.gpu_memory.request) if compute.gpu_memory else None
    share = fraction if fraction is not None else (mem / device if mem else None)
    if util is None:
        util = prof.vllm_default_gpu_memory_utilization
        if share is not None:
            util = min(util, share)
    return GpuBudget(gpus_per_pod=max(1, int(compute.gpu_devices)), pods_per_replica=pods,
                     memory_per_device_bytes=device, fraction=fraction,
                     memory_request_bytes=mem, gpu_memory_utilization=util)


def _model_check(
    spec: Any, prof: ClusterProfile, namespace: str, cluster: ClusterReader | None,
    hub: HubClient | None, notes: list[str],
) -> ModelReport | None:
    source, v = spec.spec.model, spec.spec.vllm
    token = source.token.get_secret_value() if source.token is not None else None
    secret = source.token_secret
    if token is None and secret and cluster is not None:
        getter = getattr(cluster, "get_secret_value", None)
        if callable(getter):
            value = getter(namespace, secret, TOKEN_KEY)
            token = str(value) if value else None
    unverified = token is None and bool(secret)
    settings = VllmSettings(
        vllm_image=v.image or prof.vllm_image, max_model_len=v.max_model_len, dtype=v.dtype,
        quantization=v.quantization, tensor_parallel_size=v.tensor_parallel_size,
        pipeline_parallel_size=v.pipeline_parallel_size,
    )
    try:
        return check_model(ModelRequest(source.id, source.revision, token),
                           _budget(spec, prof), settings, hub=hub)
    except (ModelAccessDenied, ModelNotFound) as e:
        if not unverified:
            raise
        notes.append(f"model {source.id!r}: the token in Secret {secret!r} could not be read "
                     f"here, and anonymous access failed ({type(e).__name__}); access and "
                     "sizing not verified")
        log.info("preflight: %s", notes[-1])
        return None


def _capacity_check(
    spec: Any, prof: ClusterProfile, namespace: str, cluster: ClusterReader, allow_dip: bool,
) -> CapacityReport:
    body = spec.spec
    queue_name = prof.queue_for(spec.metadata.project)
    device_mib = int(prof.gpu_memory_per_device) / 2**20
    state = read_queue_state(cluster, queue_name, namespace, device_memory_mib=device_mib)
    compute, pods_per_replica = _pod_compute(spec)
    rollout: Literal["rolling", "blue-green"]
    if spec.kind == "DistributedInference":
        per_pod = [compute, body.workers.compute]
        replica_gpus = _pod_gpus(per_pod[0], device_mib) + body.workers.count * _pod_gpus(
            per_pod[1], device_mib)
        target, rollout = int(body.replicas), "rolling"
        surge, unavailable = int(body.rollout.max_surge), int(body.rollout.max_unavailable)
    else:
        replica_gpus = _pod_gpus(compute, device_mib)
        target, rollout = max(1, int(body.replicas.min)), "blue-green"
        surge, unavailable = 0, 1
    current = [p for p in cluster.list_pods(namespace, f"{WORKLOAD_LABEL}={spec.metadata.name}")
               if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    current_gpus = sum(pod_gpus(p, device_memory_mib=device_mib) for p in current)
    current_replicas = len(current) // pods_per_replica
    demand = GpuDemand(
        workload=spec.metadata.name, replica_gpus=replica_gpus, target_replicas=target,
        current_replicas=current_replicas,
        current_replica_gpus=current_gpus / current_replicas if current_replicas else None,
        max_surge=surge, max_unavailable=unavailable,
        rollout=rollout,
        non_preemptible=str(body.preemptibility) == "non-preemptible",
    )
    return check_capacity(state, demand, allow_capacity_dip=allow_dip)


def _pod_gpus(compute: Any, device_mib: float) -> float:
    if compute.gpu_portion is not None:
        return float(compute.gpu_portion.request) / 100
    if compute.gpu_memory is not None:
        return min(1.0, int(compute.gpu_memory.request) / 2**20 / device_mib)
    return float(compute.gpu_devices)
