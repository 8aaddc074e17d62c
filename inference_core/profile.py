"""Cluster profiles: what the target cluster can do.

Clusters differ in which Knative ``config-features`` flags are on, whether KAI-Scheduler and
Istio are installed, the maximum revision timeout and the GPUs they have. The renderer checks
a spec against the profile and refuses, naming the flag to turn on, instead of producing a
manifest the cluster's webhook would reject.

Built-in profiles (``inference_core/profiles/*.yaml``): ``default`` (stock Knative, default
scheduler), ``kai`` (KAI-Scheduler, common Knative flags on, Istio) and ``runai``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError

from inference_core.errors import FieldIssue, SpecError
from inference_core.spec.base import SpecModel
from inference_core.spec.common import Priority
from inference_core.spec.quantities import Memory

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"

# Knative config-features flags and their shipped defaults (k8s-mapping.md §1.6).
KNATIVE_FEATURE_DEFAULTS: dict[str, str] = {
    "multi-container": "enabled",
    "kubernetes.podspec-affinity": "disabled",
    "kubernetes.podspec-nodeselector": "disabled",
    "kubernetes.podspec-tolerations": "disabled",
    "kubernetes.podspec-topologyspreadconstraints": "disabled",
    "kubernetes.podspec-runtimeclassname": "disabled",
    "kubernetes.podspec-schedulername": "disabled",
    "kubernetes.podspec-priorityclassname": "disabled",
    "kubernetes.podspec-securitycontext": "disabled",
    "kubernetes.containerspec-addcapabilities": "disabled",
    "kubernetes.podspec-init-containers": "disabled",
    "kubernetes.podspec-volumes-emptydir": "enabled",
    "kubernetes.podspec-persistent-volume-claim": "disabled",
    "kubernetes.podspec-persistent-volume-write": "disabled",
    "kubernetes.podspec-volumes-hostpath": "disabled",
    "kubernetes.podspec-volumes-csi": "disabled",
    "kubernetes.podspec-volumes-ephemeral": "disabled",
    "kubernetes.podspec-volumes-image": "disabled",
    "kubernetes.podspec-volumes-mount-propagation": "disabled",
    "kubernetes.podspec-fieldref": "disabled",
    "kubernetes.podspec-dnspolicy": "disabled",
    "kubernetes.podspec-dnsconfig": "disabled",
    "kubernetes.podspec-hostaliases": "disabled",
    "kubernetes.podspec-hostipc": "disabled",
    "kubernetes.podspec-hostpid": "disabled",
    "kubernetes.podspec-hostnetwork": "disabled",
    "kubernetes.podspec-shareprocessnamespace": "disabled",
    "tag-header-based-routing": "disabled",
    "autodetect-http2": "disabled",
}


class KnativeProfile(SpecModel):
    """Knative Serving settings of the cluster."""

    features: dict[str, Literal["enabled", "disabled", "allowed"]] = Field(default_factory=dict)
    """``config-features`` flags that differ from Knative's shipped defaults."""
    max_revision_timeout_seconds: int = Field(default=600, ge=1)
    """``config-defaults`` max-revision-timeout-seconds."""
    domain: str = "example.com"
    """External domain of routes (``config-domain``)."""
    cluster_domain: str = "svc.cluster.local"
    """Cluster-local domain."""
    hpa_available: bool = False
    """The serving HPA extension is installed (needed for latency autoscaling)."""
    latency_metric: str | None = None
    """Custom metric name the HPA scales on for latency autoscaling (e.g. from a Prometheus
    adapter); latency autoscaling is refused when unset."""

    def flag_on(self, flag: str) -> bool:
        """Whether a config-features flag lets the field through (anything but disabled)."""
        value = self.features.get(flag, KNATIVE_FEATURE_DEFAULTS.get(flag, "disabled"))
        return value != "disabled"


class SchedulerProfile(SpecModel):
    """The GPU scheduler."""

    type: Literal["default", "kai"] = "default"
    """default (kube-scheduler, whole GPUs only) or kai (KAI-Scheduler / Run:ai)."""
    name: str = "kai-scheduler"
    """schedulerName of pods (``kai-scheduler``, or ``runai-scheduler`` on Run:ai)."""
    enforced_by_namespace: bool = False
    """Project namespaces force the scheduler (Run:ai does), so schedulerName is not set."""
    queue_label: str = "kai.scheduler/queue"
    """Label naming the queue (``runai/queue`` on Run:ai)."""
    gpu_sharing: bool = True
    """GPU fractions are available (KAI ``global.gpuSharing``)."""
    dynamic_gpu_fractions: bool = False
    """GPU fraction limits are available (Run:ai dynamic fractions)."""
    priority_classes: dict[Priority, str] = Field(default_factory=lambda: {
        Priority.VERY_LOW: "train",
        Priority.LOW: "build-preemptible",
        Priority.MEDIUM: "build",
        Priority.HIGH: "inference",
        Priority.VERY_HIGH: "inference",
    })
    """PriorityClass per priority level (KAI installs train, build-preemptible, build,
    inference)."""


class IstioProfile(SpecModel):
    """Istio, used to restrict who may call endpoints."""

    enabled: bool = False
    """Istio is installed and the workload namespaces are in the mesh."""
    issuer: str | None = None
    """JWT issuer of the identity provider."""
    jwks_uri: str | None = None
    """JWKS URL of the identity provider."""
    groups_claim: str = "groups"
    """JWT claim listing the caller's groups."""
    user_claim: str = "preferred_username"
    """JWT claim naming the caller."""
    service_account_claim: str = "client_id"
    """JWT claim naming the service account (OAuth client) of a client-credentials token;
    matched against ``access.serviceAccounts``."""
    unavailable: str | None = None
    """Why restricted access cannot be enforced on this cluster and how to get it (shown when
    a spec asks for it while ``enabled`` is false)."""


class ClusterProfile(SpecModel):
    """What the target cluster can do. ``ClusterProfile()`` is a stock cluster."""

    name: str = "default"
    """Profile name, for messages."""
    namespace_template: str = "{project}"
    """Namespace of a project (``runai-{project}`` on Run:ai)."""
    queue_template: str = "{project}"
    """Scheduler queue of a project."""
    scheduler: SchedulerProfile = Field(default_factory=SchedulerProfile)
    """The GPU scheduler."""
    knative: KnativeProfile = Field(default_factory=KnativeProfile)
    """Knative Serving settings."""
    istio: IstioProfile = Field(default_factory=IstioProfile)
    """Istio settings."""
    gpu_memory_per_device: Memory = 80 * 10**9
    """Memory of one GPU device (used for sizing and GPU-memory fractions)."""
    gpus_per_node: int = Field(default=8, ge=1)
    """GPUs of one node (used to suggest group sizes)."""
    node_pool_label: str = "kai.scheduler/node-pool"
    """Node label naming a node's pool."""
    node_type_label: str = "run.ai/type"
    """Node label naming a node's type (node affinity)."""
    external_service_type: Literal["LoadBalancer", "NodePort"] = "LoadBalancer"
    """Service type for externally exposed LeaderWorkerSets and external-url tools."""
    tool_ingress_class: str | None = None
    """IngressClass of the Ingresses that route tools' custom URLs (empty: the cluster's
    default class)."""
    vllm_image: str = "vllm/vllm-openai:v0.11.0"
    """Pinned default vLLM image."""
    vllm_default_gpu_memory_utilization: float = Field(default=0.9, gt=0, le=1)
    """vLLM memory share used when the spec leaves it empty."""
    policies: list[str] = Field(default_factory=list)
    """InferencePolicy files or directories applied to every spec (relative to this file)."""
    assets: list[str] = Field(default_factory=list)
    """Asset files or directories (Environment, ComputeResource, DataSource, Credential)."""
    departments: dict[str, list[str]] = Field(default_factory=dict)
    """Projects of each department, for policies and assets scoped to departments."""

    def namespace_for(self, project: str) -> str:
        """Namespace of a project."""
        return self.namespace_template.format(project=project)

    def queue_for(self, project: str) -> str:
        """Scheduler queue of a project."""
        return self.queue_template.format(project=project)


def builtin_profiles() -> list[str]:
    """Names of the profiles shipped with the package."""
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def load_profile(
    ref: ClusterProfile | Mapping[str, Any] | str | os.PathLike[str] | None = None,
) -> ClusterProfile:
    """A profile from any form front doors accept: a ``ClusterProfile``, a mapping as in YAML,
    a built-in name (``kai``), a YAML file path, or None for the default."""
    if isinstance(ref, ClusterProfile):
        return ref
    if isinstance(ref, Mapping):
        return profile_from_dict(dict(ref), source="profile")
    if ref is None or ref == "default":
        return ClusterProfile()
    path = Path(ref)
    if path.suffix in (".yaml", ".yml") or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            raise SpecError([FieldIssue("(profile)", f"cannot be read: {err.strerror}",
                                        source=str(path))]) from err
        source = str(path)
    else:
        file = PROFILES_DIR / f"{ref}.yaml"
        if not file.is_file():
            close = difflib.get_close_matches(str(ref), builtin_profiles(), n=1)
            raise SpecError([FieldIssue("(profile)", "is not a built-in profile or a file",
                                        str(ref), ", ".join(builtin_profiles()),
                                        f"did you mean {close[0]!r}?" if close else None)])
        text = file.read_text(encoding="utf-8")
        source = f"profile {ref}"
    from inference_core.spec.yamlio import iter_documents

    docs = [d.data for d in iter_documents(text, source=source)]
    if len(docs) > 1:
        raise SpecError([FieldIssue("(profile)", "holds several documents", len(docs),
                                    "one profile per file", source=source)])
    data = docs[0] if docs else None
    if data is not None and not isinstance(data, dict):
        raise SpecError([FieldIssue("(profile)", "must be a mapping", type(data).__name__,
                                    "name, scheduler, knative, istio, ...", source=source)])
    profile = profile_from_dict(data or {}, source=source)
    if source == str(path):  # policy and asset paths of a profile file are relative to it
        base = path.resolve().parent
        profile = profile.model_copy(update={
            name: [str(base / p) if not Path(p).is_absolute() else p
                   for p in getattr(profile, name)] for name in ("policies", "assets")})
    return profile


def profile_from_dict(data: dict[str, Any], *, source: str | None = None) -> ClusterProfile:
    """Validate a profile mapping, with field-level errors."""
    try:
        return ClusterProfile.model_validate(data)
    except ValidationError as err:
        raise SpecError([FieldIssue(_loc(e["loc"]), e["msg"], source=source)
                         for e in err.errors(include_url=False)]) from None


def _loc(loc: tuple[Any, ...]) -> str:
    """A profile field path without pydantic's validator names."""
    parts = [p for p in loc if isinstance(p, int) or not any(c in str(p) for c in "[](){}'")]
    return ".".join(str(p) for p in parts) or "(profile)"
