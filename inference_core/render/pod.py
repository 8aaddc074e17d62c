"""Pod-level pieces shared by Knative and LeaderWorkerSet pods.

Each function takes the spec section and the cluster profile, and refuses (``ProfileError``)
anything the cluster cannot accept, naming the flag to turn on. ``knative=True`` applies the
Knative field mask (k8s-mapping.md §1.6); LeaderWorkerSet pods are plain pods.
"""

from __future__ import annotations

import math
from typing import Any

from inference_core.errors import ProfileError
from inference_core.profile import ClusterProfile
from inference_core.render.refusals import refuse
from inference_core.spec.common import (
    Compute,
    EnvVar,
    Scheduling,
    Security,
    TolerationEffect,
    TolerationOperator,
)
from inference_core.spec.quantities import format_cpu, format_memory
from inference_core.spec.storage import DataSource

GPU_RESOURCE = "nvidia.com/gpu"
HF_CACHE_PATH = "/root/.cache/huggingface"


def require_flag(profile: ClusterProfile, flag: str, field: str, capability: str,
                 *, knative: bool) -> None:
    """Refuse ``field`` when the Knative ``flag`` is off (only for Knative pods)."""
    if knative and not profile.knative.flag_on(flag):
        refuse(ProfileError(field, capability, flag,
                           f"set it to enabled in the knative-serving/config-features ConfigMap "
                           f"and under knative.features in the '{profile.name}' profile"))


def env_vars(env: list[EnvVar]) -> list[dict[str, Any]]:
    """Container ``env`` entries."""
    out: list[dict[str, Any]] = []
    for var in env:
        if var.value is not None:
            out.append({"name": var.name, "value": var.value})
        elif var.secret_key_ref is not None:
            ref = var.secret_key_ref
            out.append({"name": var.name,
                        "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}})
        elif var.config_map_key_ref is not None:
            ref = var.config_map_key_ref
            out.append({"name": var.name,
                        "valueFrom": {"configMapKeyRef": {"name": ref.name, "key": ref.key}}})
    return out


def resources(compute: Compute) -> dict[str, Any]:
    """Container ``resources`` (GPU fractions are annotations, see ``gpu_annotations``)."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    if compute.cpu.request is not None:
        requests["cpu"] = format_cpu(compute.cpu.request)
    if isinstance(compute.cpu.limit, int):
        limits["cpu"] = format_cpu(compute.cpu.limit)
    if compute.memory.request is not None:
        requests["memory"] = format_memory(compute.memory.request)
    if isinstance(compute.memory.limit, int):
        limits["memory"] = format_memory(compute.memory.limit)
    if compute.gpu_devices and not (compute.gpu_portion or compute.gpu_memory):
        requests[GPU_RESOURCE] = str(compute.gpu_devices)
        limits[GPU_RESOURCE] = str(compute.gpu_devices)
    for ext in compute.extended_resources:
        requests[ext.name] = ext.quantity
        limits[ext.name] = ext.quantity
    out: dict[str, Any] = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out


def gpu_annotations(compute: Compute, profile: ClusterProfile, base: str) -> dict[str, str]:
    """KAI GPU-sharing pod annotations for a GPU fraction (k8s-mapping.md §4.3)."""
    if not (compute.gpu_portion or compute.gpu_memory):
        return {}
    sched = profile.scheduler
    field = f"{base}.gpuPortion" if compute.gpu_portion else f"{base}.gpuMemory"
    if sched.type != "kai":
        refuse(ProfileError(field, "GPU fractions", "scheduler.type: kai",
                           "install KAI-Scheduler with GPU sharing and use the 'kai' profile"))
    if not sched.gpu_sharing:
        refuse(ProfileError(field, "GPU fractions", "scheduler.gpuSharing",
                           "install KAI-Scheduler with --set global.gpuSharing=true"))
    out: dict[str, str] = {}
    if compute.gpu_portion:
        out["gpu-fraction"] = _fraction(compute.gpu_portion.request)
        if compute.gpu_portion.limit is not None:
            _require_dynamic(profile, f"{base}.gpuPortion.limit")
            out["gpu-fraction-limit"] = _fraction(compute.gpu_portion.limit)
    elif compute.gpu_memory:
        device = profile.gpu_memory_per_device
        for name, amount in (("request", compute.gpu_memory.request),
                             ("limit", compute.gpu_memory.limit)):
            if amount is not None and amount > device:
                refuse(ProfileError(
                    f"{base}.gpuMemory.{name}", "", "", "",
                    message=f"is more than one GPU device holds (got {format_memory(amount)}; "
                    f"allowed: at most {format_memory(device)}, gpuMemoryPerDevice of the "
                    f"'{profile.name}' profile). Hint: a GPU memory fraction lives on one "
                    "device; use gpuDevices for more"))
        out["gpu-memory"] = str(math.ceil(compute.gpu_memory.request / 2**20))
        if compute.gpu_memory.limit is not None:
            _require_dynamic(profile, f"{base}.gpuMemory.limit")
            out["gpu-memory-limit"] = str(math.ceil(compute.gpu_memory.limit / 2**20))
    return out


def _fraction(percent: float) -> str:
    return f"{percent / 100:.4f}".rstrip("0").rstrip(".")


def _require_dynamic(profile: ClusterProfile, field: str) -> None:
    if not profile.scheduler.dynamic_gpu_fractions:
        refuse(ProfileError(field, "GPU fraction limits (dynamic GPU fractions)",
                           "scheduler.dynamicGpuFractions",
                           "enable GPU resource optimization on the cluster"))


def security(sec: Security, profile: ClusterProfile, base: str, *,
             knative: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """(pod securityContext, container securityContext)."""
    pod: dict[str, Any] = {}
    container: dict[str, Any] = {}
    if sec.ids_from == "custom":
        require_flag(profile, "kubernetes.podspec-securitycontext", f"{base}.idsFrom",
                     "custom UID/GID", knative=knative)
        if sec.run_as_uid is not None:
            pod["runAsUser"] = sec.run_as_uid
        if sec.run_as_gid is not None:
            pod["runAsGroup"] = sec.run_as_gid
        if sec.supplemental_groups:
            pod["supplementalGroups"] = list(sec.supplemental_groups)
    if sec.capabilities:
        require_flag(profile, "kubernetes.containerspec-addcapabilities",
                     f"{base}.capabilities", "added Linux capabilities", knative=knative)
        container["capabilities"] = {"add": list(sec.capabilities)}
    return pod, container


def scheduling(sched: Scheduling, profile: ClusterProfile, base: str, *,
               knative: bool) -> dict[str, Any]:
    """Pod fields for node pools, node type and tolerations."""
    out: dict[str, Any] = {}
    node_terms: list[dict[str, Any]] = []
    if sched.node_pools:
        node_terms.append({"key": profile.node_pool_label, "operator": "In",
                           "values": list(sched.node_pools)})
    if sched.node_type:
        node_terms.append({"key": profile.node_type_label, "operator": "In",
                           "values": [sched.node_type]})
    if node_terms:
        field = f"{base}.nodePools" if sched.node_pools else f"{base}.nodeType"
        require_flag(profile, "kubernetes.podspec-affinity", field,
                     "node affinity (node pools / node type)", knative=knative)
        node_affinity: dict[str, Any] = {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": node_terms}]}}
        if len(sched.node_pools) > 1:
            count = len(sched.node_pools)
            node_affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [
                {"weight": 100 * (count - i) // count,
                 "preference": {"matchExpressions": [
                     {"key": profile.node_pool_label, "operator": "In", "values": [pool]}]}}
                for i, pool in enumerate(sched.node_pools)]
        out["affinity"] = {"nodeAffinity": node_affinity}
    if sched.tolerations:
        require_flag(profile, "kubernetes.podspec-tolerations", f"{base}.tolerations",
                     "tolerations", knative=knative)
        tolerations = []
        for tol in sched.tolerations:
            item: dict[str, Any] = {"key": tol.key, "operator": tol.operator.value}
            if tol.operator is TolerationOperator.EQUAL and tol.value is not None:
                item["value"] = tol.value
            if tol.effect is not TolerationEffect.ANY:
                item["effect"] = tol.effect.value
            tolerations.append(item)
        out["tolerations"] = tolerations
    return out


def scheduler_name(profile: ClusterProfile, base: str, *, knative: bool) -> dict[str, Any]:
    """``schedulerName`` for KAI pods, unless the namespace already forces it."""
    sched = profile.scheduler
    if sched.type != "kai" or sched.enforced_by_namespace:
        return {}
    require_flag(profile, "kubernetes.podspec-schedulername", base,
                 f"pods scheduled by {sched.name}", knative=knative)
    return {"schedulerName": sched.name}


class Volumes:
    """Collects pod volumes and container mounts for storage, shm and caches."""

    def __init__(self, profile: ClusterProfile, workload: str, *, knative: bool) -> None:
        self.profile = profile
        self.workload = workload
        self.knative = knative
        self.volumes: list[dict[str, Any]] = []
        self.mounts: list[dict[str, Any]] = []
        self.devices: list[dict[str, Any]] = []

    def add_storage(self, storage: list[DataSource], base: str) -> None:
        """Mount each data source at its path."""
        for i, src in enumerate(storage):
            path = f"{base}[{i}]"
            mount: dict[str, Any] = {"name": src.name, "mountPath": src.path}
            if src.pvc is not None:
                self._pvc(f"{path}.pvc", src.name, src.pvc.claim_name, src.pvc.read_only, mount)
            elif src.volume is not None:
                claim = f"{self.workload}-{src.name}"
                if src.volume.volume_mode.value == "Block":
                    if self.knative:
                        refuse(ProfileError(f"{path}.volume.volumeMode",
                                           "raw block devices (volumeDevices)",
                                           "(none: Knative never allows volumeDevices)",
                                           "use volumeMode Filesystem for Knative workloads"))
                    self.volumes.append({"name": src.name,
                                         "persistentVolumeClaim": {"claimName": claim}})
                    self.devices.append({"name": src.name, "devicePath": src.path})
                    continue
                self._pvc(f"{path}.volume", src.name, claim, False, mount)
            elif src.config_map is not None:
                self.volumes.append({"name": src.name,
                                     "configMap": {"name": src.config_map.name}})
                if src.config_map.sub_path:
                    mount["subPath"] = src.config_map.sub_path
                mount["readOnly"] = True
            elif src.secret is not None:
                self.volumes.append({"name": src.name,
                                     "secret": {"secretName": src.secret.name}})
                mount["readOnly"] = True
            elif src.empty_dir is not None:
                require_flag(self.profile, "kubernetes.podspec-volumes-emptydir",
                             f"{path}.emptyDir", "EmptyDir volumes", knative=self.knative)
                empty: dict[str, Any] = {}
                if src.empty_dir.medium == "memory":
                    empty["medium"] = "Memory"
                if src.empty_dir.size is not None:
                    empty["sizeLimit"] = format_memory(src.empty_dir.size)
                self.volumes.append({"name": src.name, "emptyDir": empty})
            self.mounts.append(mount)

    def _pvc(self, field: str, name: str, claim: str, read_only: bool,
             mount: dict[str, Any]) -> None:
        require_flag(self.profile, "kubernetes.podspec-persistent-volume-claim", field,
                     "PersistentVolumeClaim volumes", knative=self.knative)
        if not read_only:
            require_flag(self.profile, "kubernetes.podspec-persistent-volume-write", field,
                         "writable PersistentVolumeClaim mounts", knative=self.knative)
        volume: dict[str, Any] = {"claimName": claim}
        if read_only:
            volume["readOnly"] = True
            mount["readOnly"] = True
        self.volumes.append({"name": name, "persistentVolumeClaim": volume})

    def add_shm(self, compute: Compute, base: str, *, force: bool = False) -> None:
        """A memory-backed /dev/shm, sized by the memory limit when there is one.

        ``force``: vLLM always needs it (tensor parallel uses shared memory)."""
        if not (compute.large_shm or force):
            return
        require_flag(self.profile, "kubernetes.podspec-volumes-emptydir", f"{base}.largeShm",
                     "EmptyDir volumes", knative=self.knative)
        empty: dict[str, Any] = {"medium": "Memory"}
        if isinstance(compute.memory.limit, int):
            empty["sizeLimit"] = format_memory(compute.memory.limit)
        self.volumes.append({"name": "dshm", "emptyDir": empty})
        self.mounts.append({"name": "dshm", "mountPath": "/dev/shm"})

    def add_model_cache(self, claim: str | None, read_only: bool, field: str) -> bool:
        """Mount a PVC as the Hugging Face cache; True when one was added."""
        if claim is None:
            return False
        mount: dict[str, Any] = {"name": "hf-cache", "mountPath": HF_CACHE_PATH}
        self._pvc(field, "hf-cache", claim, read_only, mount)
        self.mounts.append(mount)
        return True
