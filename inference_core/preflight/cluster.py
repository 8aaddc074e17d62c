"""Reading a KAI queue and the project's pods from the cluster, for capacity preflight.

:class:`ClusterReader` is the small read interface the hook (or a test double) provides;
:class:`KubeClusterReader` implements it over the official ``kubernetes`` client.
:func:`read_queue_state` turns a Queue object and the namespace's pods into a
:class:`~inference_core.preflight.capacity.QueueState`.

GPUs of a pod (non-terminated pods only, i.e. phase not Succeeded/Failed):

- whole GPUs: ``nvidia.com/gpu`` limits (else requests), summed over containers; init
  containers count as their maximum when larger (they run before the others);
- fractions: annotation ``gpu-fraction`` x ``gpu-fraction-num-devices`` (default 1);
- ``gpu-memory`` (MiB) x num-devices / the device memory, when ``device_memory_mib`` is given;
  otherwise each such device counts as one whole GPU (conservative).

A pod belongs to the queue when its label ``kai.scheduler/queue`` (or ``runai/queue``, or KAI's
fallback ``project``) equals the queue name. It is non-preemptible when its label
``kai.scheduler/preemptibility`` says so, else when its priority (``spec.priority``, or the
value of a KAI class named by the ``priorityClassName`` label / ``spec.priorityClassName``) is
>= 100; Knative pods without either default to ``inference`` (125), other pods to ``train`` (50).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from inference_core.errors import KubeApiError, ObjectRef
from inference_core.preflight.capacity import NON_PREEMPTIBLE_PRIORITY, QueueState

log = logging.getLogger(__name__)

QUEUE_GROUP, QUEUE_VERSION, QUEUE_PLURAL = "scheduling.run.ai", "v2", "queues"
QUEUE_LABELS = ("kai.scheduler/queue", "runai/queue", "project")
GPU_RESOURCE = "nvidia.com/gpu"
KAI_PRIORITIES = {"train": 50, "build-preemptible": 75, "build": 100, "inference": 125}


class ClusterReader(Protocol):
    """What capacity preflight reads from the cluster."""

    def get_queue(self, name: str) -> dict[str, Any] | None:
        """The cluster-scoped Queue object, or None when it does not exist."""
        ...

    def list_pods(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        """Pods of the namespace (camelCase dicts as the API returns them)."""
        ...


class KubeClusterReader:
    """:class:`ClusterReader` over the official ``kubernetes`` client.

    Every read goes through :class:`~inference_core.rollout.client.KubernetesClient`: a
    client-side timeout on each call, urllib3's own retries off, and a bounded retry of
    transient failures (429 with ``Retry-After``, 5xx, no answer) — a hung API server
    cannot stall preflight, and one attempt is one request.

    :param api_client: a ``kubernetes.client.ApiClient`` or a ``KubernetesClient``.
    :param request_timeout: seconds per call.
    """

    def __init__(self, api_client: Any, *, request_timeout: float = 15.0) -> None:
        from inference_core.rollout.client import KubernetesClient
        from inference_core.rollout.retry import RetryPolicy

        if isinstance(api_client, KubernetesClient):
            self._client = api_client
        else:
            self._client = KubernetesClient(api_client, request_timeout=request_timeout,
                                            retry=RetryPolicy(attempts=4, budget_s=30.0))

    def get_queue(self, name: str) -> dict[str, Any] | None:
        """GET the Queue; None on 404 (also when the Queue CRD is not installed)."""
        try:
            return self._client.get(f"{QUEUE_GROUP}/{QUEUE_VERSION}", "Queue", name, None)
        except KubeApiError as e:
            raise _api_error(e, ObjectRef("Queue", None, name)) from e

    def list_pods(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        """LIST pods, returned as plain JSON dicts (not client model objects)."""
        try:
            return self._client.list("v1", "Pod", namespace, label_selector=label_selector)
        except KubeApiError as e:
            raise _api_error(e, ObjectRef("Pod", namespace, "*")) from e

    def get_secret_value(self, namespace: str, name: str, key: str) -> str | None:
        """One key of a Secret, decoded; None when the Secret or key is missing or unreadable."""
        import base64

        try:
            secret = self._client.get("v1", "Secret", name, namespace)
        except KubeApiError as e:
            if e.status in (403, 404):
                return None
            raise _api_error(e, ObjectRef("Secret", namespace, name)) from e
        raw = ((secret or {}).get("data") or {}).get(key)
        return base64.b64decode(raw).decode("utf-8") if raw else None


def _api_error(e: KubeApiError, ref: ObjectRef) -> KubeApiError:
    return KubeApiError(f"reading for capacity preflight failed: {e}", status=e.status,
                        reason=e.reason, ref=ref)


def _quantity(value: Any) -> float:
    """A Kubernetes quantity as a float (GPU and MiB counts are plain numbers in practice)."""
    text = str(value).strip()
    suffixes = {"m": 1e-3, "k": 1e3, "Ki": 1024.0, "Mi": 1024.0**2, "Gi": 1024.0**3}
    for suffix, mult in sorted(suffixes.items(), key=lambda kv: -len(kv[0])):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * mult
    return float(text)


def _container_gpus(container: Mapping[str, Any]) -> float:
    resources = container.get("resources") or {}
    for section in ("limits", "requests"):
        value = (resources.get(section) or {}).get(GPU_RESOURCE)
        if value is not None:
            return _quantity(value)
    return 0.0


def pod_gpus(pod: Mapping[str, Any], *, device_memory_mib: float | None = None) -> float:
    """GPUs one pod holds (whole, fractional or by memory); see module doc."""
    spec = pod.get("spec") or {}
    main = sum(_container_gpus(c) for c in spec.get("containers") or [])
    init = max((_container_gpus(c) for c in spec.get("initContainers") or []), default=0.0)
    whole = max(main, init)
    ann = (pod.get("metadata") or {}).get("annotations") or {}
    devices = _quantity(ann.get("gpu-fraction-num-devices", 1))
    if "gpu-fraction" in ann:
        return whole + _quantity(ann["gpu-fraction"]) * devices
    if "gpu-memory" in ann:
        if device_memory_mib:
            return whole + min(1.0, _quantity(ann["gpu-memory"]) / device_memory_mib) * devices
        return whole + devices
    return whole


def pod_queue(pod: Mapping[str, Any]) -> str | None:
    """The queue a pod is scheduled in, from its labels."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    for key in QUEUE_LABELS:
        if labels.get(key):
            return str(labels[key])
    return None


def pod_non_preemptible(pod: Mapping[str, Any]) -> bool:
    """Whether KAI treats the pod as non-preemptible (see module doc)."""
    meta = pod.get("metadata") or {}
    labels = meta.get("labels") or {}
    explicit = labels.get("kai.scheduler/preemptibility")
    if explicit in ("preemptible", "non-preemptible"):
        return bool(explicit == "non-preemptible")
    spec = pod.get("spec") or {}
    cls = labels.get("priorityClassName") or spec.get("priorityClassName")
    if cls in KAI_PRIORITIES:
        return KAI_PRIORITIES[str(cls)] >= NON_PREEMPTIBLE_PRIORITY
    if isinstance(spec.get("priority"), int):
        return int(spec["priority"]) >= NON_PREEMPTIBLE_PRIORITY
    return "serving.knative.dev/service" in labels or "serving.knative.dev/revision" in labels


def _terminated(pod: Mapping[str, Any]) -> bool:
    return ((pod.get("status") or {}).get("phase")) in ("Succeeded", "Failed")


def gpus_in_use(
    pods: Sequence[Mapping[str, Any]], queue_name: str, *,
    device_memory_mib: float | None = None, any_queue: bool = False,
) -> tuple[float, float]:
    """(all, non-preemptible) GPUs held by the non-terminated pods in ``queue_name``."""
    total = non_preemptible = 0.0
    for pod in pods:
        if _terminated(pod) or (not any_queue and pod_queue(pod) != queue_name):
            continue
        gpus = pod_gpus(pod, device_memory_mib=device_memory_mib)
        total += gpus
        if pod_non_preemptible(pod):
            non_preemptible += gpus
    return total, non_preemptible


def queue_gpu_settings(queue: Mapping[str, Any]) -> tuple[float, float]:
    """(quota, limit) GPUs of a Queue object (unset = 0)."""
    gpu = ((queue.get("spec") or {}).get("resources") or {}).get("gpu") or {}
    quota = gpu.get("quota")
    limit = gpu.get("limit")
    return (_quantity(quota) if quota is not None else 0.0,
            _quantity(limit) if limit is not None else 0.0)


def read_queue_state(
    reader: ClusterReader, queue_name: str, namespace: str, *,
    label_selector: str | None = None, device_memory_mib: float | None = None,
) -> QueueState:
    """Queue quota/limit and the GPUs the project's pods in ``namespace`` use now.

    Raises :class:`~inference_core.errors.InsufficientQuota` when the queue does not exist
    (KAI would leave every pod pending).
    """
    from inference_core.errors import InsufficientQuota

    queue = reader.get_queue(queue_name)
    if queue is None:
        raise InsufficientQuota(
            f"queue {queue_name!r} does not exist (scheduling.run.ai/v2 Queue); pods sent to it "
            "would stay pending; create the queue or set the project's queue in the profile"
        )
    quota, limit = queue_gpu_settings(queue)
    pods = reader.list_pods(namespace, label_selector)
    used, used_np = gpus_in_use(pods, queue_name, device_memory_mib=device_memory_mib)
    log.debug("queue %s: quota=%s limit=%s used=%s (non-preemptible %s)",
              queue_name, quota, limit, used, used_np)
    return QueueState(queue_name, quota, limit, used, used_np)
