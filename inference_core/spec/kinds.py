"""The three workload documents: CustomInference, HuggingFaceInference, DistributedInference.

A document is ``apiVersion: inference-stacks/v1alpha1``, a ``kind``, ``metadata`` and ``spec``.
Type and range checks live on the fields; rules that span fields live in ``rules.py``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from inference_core.spec.base import SpecModel
from inference_core.spec.common import (
    Access,
    Compute,
    Container,
    EnvVar,
    Exposure,
    General,
    Metadata,
    ModelSource,
    Preemptibility,
    Priority,
    PullCredential,
    PullPolicy,
    Replicas,
    Scheduling,
    Security,
    Tool,
    VllmSettings,
)
from inference_core.spec.common import Endpoint as Endpoint
from inference_core.spec.storage import DataSource, PvcSource

API_VERSION = "inference-stacks/v1alpha1"


class WorkloadSettings(SpecModel):
    """Settings every inference workload has (general, scheduling, priority)."""

    priority: Priority = Priority.VERY_HIGH
    """Scheduling priority (very-low ... very-high). Inference defaults to very-high."""
    preemptibility: Preemptibility = Preemptibility.NON_PREEMPTIBLE
    """preemptible or non-preemptible (default): non-preemptible uses only in-quota GPUs."""
    image_pull_secret: str | None = Field(default=None, pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    """Existing docker-registry Secret in the namespace used to pull images."""
    image_pull_credential: PullCredential | None = None
    """Image-pull credentials by kind (docker-registry or NGC API key), shared or per user."""
    scheduling: Scheduling = Field(default_factory=Scheduling)
    """Node pools, node type and tolerations."""
    general: General = Field(default_factory=General)
    """Timeouts and auto-deletion."""


class CustomSpec(WorkloadSettings, Container):
    """Any container served by Knative Serving."""

    endpoint: Endpoint = Field(default_factory=Endpoint)
    """Serving endpoint: protocol, port, access, exposure."""
    tools: list[Tool] = Field(default_factory=list)
    """Extra ports exposed as tool connections."""
    replicas: Replicas = Field(default_factory=Replicas)
    """Replica range and autoscaling."""


class ModelEndpoint(SpecModel):
    """Serving endpoint of a vLLM server (HTTP on port 8000, OpenAI-compatible routes)."""

    access: Access = Field(default_factory=Access)
    """Who may call the endpoint."""
    exposure: Exposure = Exposure.EXTERNAL
    """external or cluster-local only."""


class HuggingFaceSpec(WorkloadSettings):
    """A Hugging Face Hub model served by vLLM on Knative Serving."""

    model: ModelSource
    """The model and how to access it."""
    vllm: VllmSettings = Field(default_factory=VllmSettings)
    """vLLM engine settings."""
    image_pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    """When to pull the vLLM image."""
    endpoint: ModelEndpoint = Field(default_factory=ModelEndpoint)
    """Access and exposure of the OpenAI-compatible endpoint."""
    compute: Compute = Field(default_factory=lambda: Compute(gpu_devices=1, large_shm=True))
    """Compute per pod (default: one GPU, large /dev/shm)."""
    env: list[EnvVar] = Field(default_factory=list)
    """Extra environment variables for vLLM."""
    storage: list[DataSource] = Field(default_factory=list)
    """Extra data sources."""
    model_cache: PvcSource | None = None
    """PVC mounted as the Hugging Face cache (HF_HOME), so restarts skip the download."""
    security: Security = Field(default_factory=Security)
    """UID/GID and capabilities."""
    replicas: Replicas = Field(default_factory=Replicas)
    """Replica range and autoscaling."""


class StartupPolicy(StrEnum):
    """When worker pods are created."""

    LEADER_CREATED = "LeaderCreated"
    LEADER_READY = "LeaderReady"


class RestartPolicy(StrEnum):
    """What happens to a group when one of its pods restarts."""

    RECREATE_GROUP_ON_POD_RESTART = "RecreateGroupOnPodRestart"
    RECREATE_GROUP_AFTER_START = "RecreateGroupAfterStart"
    NONE = "None"


class MultiNode(StrEnum):
    """How vLLM spans the pods of a group."""

    RAY = "ray"
    NATIVE = "native"


class Role(Container):
    """Leader or worker pod spec; the image may be left empty when a model is served."""

    image: str | None = Field(default=None, pattern=r"^[^\s]+$")  # type: ignore[assignment]
    """Container image (default with a model: the profile's vLLM image)."""


class Workers(Role):
    """Worker pods of each replica."""

    count: int = Field(default=1, ge=1, le=255)
    """Workers per replica (each replica = 1 leader + count workers)."""


class DistributedEndpoint(SpecModel):
    """The leader's serving endpoint (HTTP)."""

    protocol: Literal["http"] = "http"
    """Only http is supported for distributed inference."""
    port: int = Field(default=8000, ge=1, le=65535)
    """Port the leader serves on (vLLM: 8000)."""
    access: Access = Field(default_factory=Access)
    """Who may call the endpoint."""
    exposure: Exposure = Exposure.CLUSTER_LOCAL
    """external (LoadBalancer) or cluster-local (internal only, the default)."""


class Topology(SpecModel):
    """Topology-aware placement of each group."""

    name: str | None = None
    """KAI Topology object name (enables KAI topology-aware placement)."""
    required_level: str | None = None
    """Node label all pods of a group must share (required)."""
    preferred_level: str | None = None
    """Node label pods of a group should share (preferred)."""
    exclusive_key: str | None = None
    """One group per value of this node label (LWS exclusive placement)."""


class Rollout(SpecModel):
    """How groups are replaced during a rolling update (LWS rolloutStrategy)."""

    max_surge: int = Field(default=0, ge=0)
    """Extra groups allowed above replicas during an update."""
    max_unavailable: int = Field(default=1, ge=0)
    """Groups that may be unavailable during an update."""
    partition: int = Field(default=0, ge=0)
    """Groups with index below this are not updated (staged rollout)."""


class DistributedScheduling(Scheduling):
    """Scheduling of a group: node pools are set on the leader and inherited by workers."""

    topology: Topology | None = None
    """Topology constraints."""


class DistributedSpec(WorkloadSettings):
    """A leader pod plus workers per replica (LeaderWorkerSet), optionally serving a model."""

    leader: Role
    """The leader pod: serves the endpoint and coordinates the group."""
    workers: Workers
    """The worker pods of each replica."""
    replicas: int = Field(default=1, ge=1, le=1000)
    """Replicas (groups of 1 leader + workers)."""
    startup_policy: StartupPolicy = StartupPolicy.LEADER_CREATED
    """Create workers with the leader (LeaderCreated) or once it is ready (LeaderReady)."""
    restart_policy: RestartPolicy = RestartPolicy.RECREATE_GROUP_ON_POD_RESTART
    """Recreate the whole group when a pod restarts (default), or restart only that pod (None)."""
    endpoint: DistributedEndpoint = Field(default_factory=DistributedEndpoint)
    """The leader endpoint."""
    scheduling: DistributedScheduling = Field(
        default_factory=DistributedScheduling)
    """Node pools (set on the leader, inherited by workers), node type, tolerations, topology."""
    rollout: Rollout = Field(default_factory=Rollout)
    """Rolling-update strategy."""
    model: ModelSource | None = None
    """Serve a Hugging Face model with vLLM across the group."""
    vllm: VllmSettings = Field(default_factory=VllmSettings)
    """vLLM settings (with a model)."""
    multi_node: MultiNode = MultiNode.RAY
    """ray (vLLM on a Ray cluster formed by the group) or native (vLLM multi-node, no Ray)."""
    model_cache: PvcSource | None = None
    """PVC mounted as the Hugging Face cache on every pod."""


class _Document(SpecModel):
    api_version: Literal["inference-stacks/v1alpha1"] = "inference-stacks/v1alpha1"
    """Always inference-stacks/v1alpha1."""
    metadata: Metadata
    """Name, project, labels, annotations."""

    @property
    def name(self) -> str:
        """The workload name."""
        return self.metadata.name

    @property
    def project(self) -> str:
        """The project (namespace and queue)."""
        return self.metadata.project

    @property
    def namespace(self) -> str:
        """The namespace with the default profile (equal to the project).

        Profiles with a namespace template (e.g. ``runai-{project}``) change this; use
        ``ClusterProfile.namespace_for(project)`` or the rendered objects in that case.
        """
        return self.metadata.project


class CustomInference(_Document):
    """Any container image served by Knative Serving."""

    kind: Literal["CustomInference"] = "CustomInference"
    """CustomInference."""
    spec: CustomSpec
    """The workload."""


class HuggingFaceInference(_Document):
    """A Hugging Face Hub model served by vLLM on Knative Serving."""

    kind: Literal["HuggingFaceInference"] = "HuggingFaceInference"
    """HuggingFaceInference."""
    spec: HuggingFaceSpec
    """The workload."""


class DistributedInference(_Document):
    """A LeaderWorkerSet: a leader pod plus workers per replica."""

    kind: Literal["DistributedInference"] = "DistributedInference"
    """DistributedInference."""
    spec: DistributedSpec
    """The workload."""


InferenceSpec = Annotated[
    CustomInference | HuggingFaceInference | DistributedInference, Field(discriminator="kind")
]
"""Any workload document."""

KINDS: dict[str, type[CustomInference] | type[HuggingFaceInference] | type[DistributedInference]]
KINDS = {
    "CustomInference": CustomInference,
    "HuggingFaceInference": HuggingFaceInference,
    "DistributedInference": DistributedInference,
}
