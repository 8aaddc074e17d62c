"""Configuration of a sandbox: cluster shape (GPU nodes, KAI queues), Knative features, timings.

All durations in :class:`Timings` are *simulated* seconds; the clock's ``speed`` says how many
simulated seconds pass per real second (``speed=600`` makes Knative's 600 s progress deadline
pass in about one real second).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from inference_core.profile import KNATIVE_FEATURE_DEFAULTS

#: Knative ``config-features`` as shipped (k8s-mapping.md §1.6). Any value other than
#: ``disabled`` lets the field through the mask.
DEFAULT_FEATURES: dict[str, str] = dict(KNATIVE_FEATURE_DEFAULTS)

#: Knative ``config-defaults`` / ``config-autoscaler`` values the webhook uses.
DEFAULT_KNATIVE_DEFAULTS: dict[str, str] = {
    "revision-timeout-seconds": "300",
    "max-revision-timeout-seconds": "600",
    "container-concurrency": "0",
    "container-concurrency-max-limit": "1000",
    "allow-container-concurrency-zero": "true",
    "allow-zero-initial-scale": "false",
    "initial-scale": "1",
    "progress-deadline": "600s",
}

KNATIVE_NAMESPACE = "knative-serving"


@dataclass(frozen=True)
class GpuNode:
    """One node of the simulated cluster.

    ``gpus`` is the number of whole ``nvidia.com/gpu`` devices it offers; ``taints`` are
    ``{"key", "value", "effect"}`` mappings like a Node's ``spec.taints``.
    """

    name: str
    gpus: int = 8
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Mapping[str, str], ...] = ()
    gpu_product: str = "NVIDIA-A100-SXM4-80GB"
    gpu_memory_mib: int = 81920
    cpu: str = "64"
    memory: str = "512Gi"


@dataclass(frozen=True)
class KaiQueue:
    """A KAI ``scheduling.run.ai/v2`` Queue created at start-up (GPU resources only).

    ``gpu_quota`` -1 = unlimited; ``gpu_limit`` -1 = no limit, 0 = nothing beyond quota.
    """

    name: str
    gpu_quota: float = -1
    gpu_limit: float = -1
    over_quota_weight: int = 1
    parent: str | None = None


@dataclass(frozen=True)
class Timings:
    """Simulated durations (seconds) of what the fake kubelet and controllers do."""

    schedule_delay: float = 0.5
    image_pull: float = 4.0
    container_start: float = 1.0
    readiness_delay: float = 3.0
    crash_after: float = 2.0
    crash_backoff_base: float = 10.0
    crash_backoff_max: float = 300.0
    image_pull_backoff: float = 10.0
    progress_deadline: float = 600.0
    scale_to_zero_after: float = 90.0


def default_nodes() -> tuple[GpuNode, ...]:
    """Two nodes with eight GPUs each."""
    return (GpuNode("gpu-node-0"), GpuNode("gpu-node-1"))


@dataclass
class SandboxConfig:
    """Everything a :class:`~inference_sandbox.Sandbox` can be told.

    - ``features``: Knative ``config-features`` overrides, merged over
      :data:`DEFAULT_FEATURES` into the ConfigMap ``knative-serving/config-features``
      (admission reads it live, so a test may also change it through the API).
    - ``knative_defaults``: overrides of ``config-defaults``/``config-autoscaler``/
      ``config-deployment`` keys (``progress-deadline``, ``max-revision-timeout-seconds`` ...).
    - ``speed``: simulated seconds per real second (see :class:`Timings`).
    - ``gpu_nodes`` / ``queues``: the capacity model (Node objects, KAI Queues).
    - ``namespaces``: created at start (plus default, kube-system, kube-public,
      knative-serving); ``auto_create_namespaces`` makes writes into unknown namespaces
      create them instead of failing with 404 like a real cluster.
    - ``port``: 0 picks a free port; ``host`` must be loopback. ``kubeconfig_path``: where to
      write the kubeconfig (a temporary file when None); ``token``: the bearer token of the
      administrator (``system:masters``); ``tokens``: more tokens → user names (e.g.
      ``system:serviceaccount:team-a:worker``), whose requests RBAC authorizes against the
      stored Roles/ClusterRoles and their bindings (``Sandbox.write_kubeconfig`` writes a
      kubeconfig for one of them).
    - ``tls``: serve HTTPS with a CA generated at start (its certificate goes into the
      kubeconfig); client-go/kubectl send the token only over TLS. Off = plain HTTP.
    - ``schema_admission``: validate against the shared CRD schemas (off = webhook rules
      only); ``controllers``: run the simulated controllers (off = a plain API server).
    - Limits: ``max_watches`` open watch streams (more get 429), ``watch_history`` events
      kept per resource for resuming watches (older versions get 410), ``max_events``
      stored core/v1 Events, ``max_request_log`` requests remembered in ``sb.requests``.
    - ``bookmark_interval`` (real s) for ``allowWatchBookmarks``; ``resync_period`` (real s)
      of the controllers' safety-net resync; ``seed`` for names and fault rates;
      ``extra_objects`` created at start (through admission, like API writes).
    - ``dataplane``: also start the data plane (``sb.dataplane``: a loopback ingress routing by
      Host to fake model servers; an API client of this server, see docs/promotion.md);
      ``dataplane_sd_file``: its Prometheus file_sd file; ``dataplane_time_scale``: how long
      its servers really wait per simulated request (0 = answer at once).
    """

    features: Mapping[str, str] = field(default_factory=dict)
    knative_defaults: Mapping[str, str] = field(default_factory=dict)
    speed: float = 1.0
    gpu_nodes: tuple[GpuNode, ...] | list[GpuNode] = field(default_factory=default_nodes)
    queues: tuple[KaiQueue, ...] | list[KaiQueue] = ()
    namespaces: tuple[str, ...] | list[str] = ("default",)
    auto_create_namespaces: bool = False
    timings: Timings = field(default_factory=Timings)
    host: str = "127.0.0.1"
    port: int = 0
    kubeconfig_path: str | None = None
    context_name: str = "sandbox"
    token: str = "sandbox-token"
    tokens: Mapping[str, str] = field(default_factory=dict)
    tls: bool = True
    schema_admission: bool = True
    controllers: bool = True
    max_watches: int = 2000
    watch_history: int = 2000
    max_events: int = 1000
    max_request_log: int = 10000
    bookmark_interval: float = 1.0
    resync_period: float = 0.05
    domain: str = "example.com"
    seed: int = 0
    sim_timestamps: bool = False
    extra_objects: tuple[dict[str, Any], ...] | list[dict[str, Any]] = ()
    dataplane: bool = False
    dataplane_sd_file: str | None = None
    dataplane_time_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError(f"SandboxConfig.speed must be > 0 (got {self.speed!r})")
        if self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(
                f"SandboxConfig.host must be a loopback address (got {self.host!r}); "
                "the sandbox never listens on other interfaces"
            )

    def merged_features(self) -> dict[str, str]:
        """Shipped Knative feature flags with this config's overrides applied."""
        return {**DEFAULT_FEATURES, **dict(self.features)}

    def merged_knative_defaults(self) -> dict[str, str]:
        """Knative config-defaults with this config's overrides applied."""
        return {**DEFAULT_KNATIVE_DEFAULTS, **dict(self.knative_defaults)}
