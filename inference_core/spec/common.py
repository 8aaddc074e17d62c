"""Spec sections shared by the three workload kinds.

Each section mirrors a part of the Run:ai inference forms (environment, compute resources,
replicas and autoscaling, scheduling, data & storage, general settings). Field docstrings are
the user documentation: they appear in ``infstack schema`` and editor completion.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr

from inference_core.spec.base import DNS1123_LABEL, SpecModel
from inference_core.spec.quantities import Cpu, Duration, Memory
from inference_core.spec.storage import DataSource

ENV_NAME = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
LABEL_KEY = (r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
             r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_VALUE = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
LABEL_VALUE_OR_EMPTY = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"


class Priority(StrEnum):
    """Scheduling priority of the workload (Run:ai levels)."""

    VERY_LOW = "very-low"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very-high"


class Preemptibility(StrEnum):
    """Whether higher-priority work may interrupt the workload."""

    PREEMPTIBLE = "preemptible"
    NON_PREEMPTIBLE = "non-preemptible"


class Metadata(SpecModel):
    """Identity of the workload."""

    name: str = Field(min_length=1, pattern=DNS1123_LABEL)
    """Workload name, unique in the project: lowercase letters, digits and '-', starting with a
    letter. At most 49 characters for Knative kinds (room for ``-00001`` revision and
    ``-private`` service suffixes) and 45 for distributed (room for StatefulSet hashes)."""
    project: str = Field(min_length=1, max_length=63, pattern=DNS1123_LABEL)
    """Project: gives the namespace and the scheduler queue (see the cluster profile)."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Kubernetes labels put on every object and on the pods (keys ``[prefix/]name``, values at
    most 63 characters; checked as the API server does)."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Kubernetes annotations put on the serving object (keys ``[prefix/]name``; keys and
    values together at most 256 KiB, with room left for the annotations we add)."""


class PullPolicy(StrEnum):
    """When the kubelet pulls the image."""

    ALWAYS = "Always"
    IF_NOT_PRESENT = "IfNotPresent"
    NEVER = "Never"


class Protocol(StrEnum):
    """Serving protocol; gRPC is served as HTTP/2 cleartext (Knative port name ``h2c``)."""

    HTTP = "http"
    GRPC = "grpc"


class AccessMode(StrEnum):
    """Who may call the endpoint."""

    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    GROUPS = "groups"
    USERS = "users"


class Exposure(StrEnum):
    """Where the endpoint is reachable from."""

    EXTERNAL = "external"
    CLUSTER_LOCAL = "cluster-local"


class Access(SpecModel):
    """Who may call the serving endpoint (enforced with Istio when not public)."""

    mode: AccessMode = AccessMode.PUBLIC
    """public (no authentication), authenticated (any logged-in user or service account),
    groups, or users (specific users and service accounts)."""
    groups: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list)
    """Identity-provider group names (mode ``groups``)."""
    users: list[Annotated[str, Field(min_length=1, max_length=320)]] = Field(
        default_factory=list)
    """User names or e-mail addresses (mode ``users``)."""
    service_accounts: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(
        default_factory=list)
    """Service accounts (OAuth clients using client credentials) allowed beside the users
    (mode ``users``: the form's "specific users and service accounts"). Mode
    ``authenticated`` already admits every user and service account."""


class Endpoint(SpecModel):
    """The serving endpoint."""

    protocol: Protocol = Protocol.HTTP
    """http or grpc."""
    port: int = Field(default=8080, ge=1, le=65535)
    """Container port the server listens on."""
    access: Access = Field(default_factory=Access)
    """Who may call the endpoint."""
    exposure: Exposure = Exposure.EXTERNAL
    """external (through the ingress) or cluster-local only."""


class ToolType(StrEnum):
    """How an extra tool port is exposed."""

    EXTERNAL_URL = "external-url"
    NODE_PORT = "node-port"


class Tool(SpecModel):
    """An extra port of the container exposed as a tool connection."""

    name: str = Field(pattern=DNS1123_LABEL, max_length=15)
    """Tool name (also the port name)."""
    port: int = Field(ge=1, le=65535)
    """Container port of the tool."""
    type: ToolType = ToolType.EXTERNAL_URL
    """external-url (a LoadBalancer Service) or node-port."""
    node_port: int | None = None
    """Custom node port, 30000-32767; leave empty to have one allocated (node-port only)."""
    access: Access = Field(default_factory=lambda: Access(mode=AccessMode.AUTHENTICATED))
    """Who may use the tool (default: all authenticated users)."""
    url: str | None = Field(
        default=None, max_length=2048,
        pattern=r"^https?://[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:[0-9]{1,5})?(/[^\s?#]*)?$")
    """Custom URL of an external-url tool (``https://tools.example.com/jupyter``): routed to
    the tool by an Ingress; leave empty to have one generated (a LoadBalancer Service)."""


class KeyRef(SpecModel):
    """A key of an existing Secret or ConfigMap in the workload's namespace."""

    name: str = Field(pattern=DNS1123_LABEL.replace("$", "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"))
    """Object name."""
    key: str = Field(min_length=1)
    """Key inside the object."""


class EnvVar(SpecModel):
    """An environment variable: exactly one of value, secretKeyRef or configMapKeyRef."""

    name: str = Field(pattern=ENV_NAME)
    """Variable name."""
    value: str | None = None
    """Literal value."""
    secret_key_ref: KeyRef | None = None
    """Take the value from a Secret key."""
    config_map_key_ref: KeyRef | None = None
    """Take the value from a ConfigMap key."""


class Security(SpecModel):
    """User and Linux capabilities of the container."""

    ids_from: Literal["image", "custom"] = "image"
    """Take UID/GID/supplementary groups from the image, or set them (custom)."""
    run_as_uid: int | None = Field(default=None, ge=0)
    """UID (custom only)."""
    run_as_gid: int | None = Field(default=None, ge=0)
    """GID (custom only)."""
    supplemental_groups: list[Annotated[int, Field(ge=0)]] = Field(default_factory=list)
    """Supplementary group ids (custom only)."""
    capabilities: list[Annotated[str, Field(pattern=r"^[A-Z][A-Z_]*$")]] = Field(
        default_factory=list)
    """Linux capabilities to add, e.g. IPC_LOCK."""


class GpuPortion(SpecModel):
    """A GPU fraction as a percentage of one device's memory."""

    request: float = Field(gt=0, lt=100)
    """Guaranteed share, in percent (strictly between 0 and 100; use gpuDevices for whole GPUs)."""
    limit: float | None = Field(default=None, gt=0, le=100)
    """Upper bound, in percent (needs dynamic GPU fractions enabled in the profile)."""


class GpuMemory(SpecModel):
    """A GPU fraction as an amount of device memory."""

    request: Memory
    """Guaranteed GPU memory per device (MB/GB)."""
    limit: Memory | None = None
    """Upper bound (needs dynamic GPU fractions enabled in the profile)."""


class CpuResources(SpecModel):
    """CPU per pod."""

    request: Cpu | None = None
    """Minimum CPU, in cores or millicores."""
    limit: Cpu | Literal["auto"] | None = None
    """Maximum CPU; ``auto`` (or empty) means no limit."""


class MemoryResources(SpecModel):
    """CPU memory per pod."""

    request: Memory | None = None
    """Minimum memory (MB/GB)."""
    limit: Memory | Literal["auto"] | None = None
    """Maximum memory; ``auto`` (or empty) means no limit."""


def _quantity_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ExtendedResource(SpecModel):
    """A Kubernetes extended resource, e.g. ``example.com/rdma-ib: 1``."""

    name: str = Field(min_length=1, max_length=253)
    """Resource name, domain-qualified (``example.com/foo``), outside ``kubernetes.io``."""
    quantity: Annotated[str, BeforeValidator(_quantity_text)] = Field(min_length=1,
                                                                      max_length=64)
    """A whole number (Kubernetes refuses fractions of extended resources), e.g. ``1``, ``2``."""


class Compute(SpecModel):
    """Compute resources of one pod."""

    gpu_devices: int = Field(default=0, ge=0, le=64)
    """Whole GPU devices per pod."""
    gpu_portion: GpuPortion | None = None
    """GPU fraction as % of one device (KAI GPU sharing)."""
    gpu_memory: GpuMemory | None = None
    """GPU fraction as device memory (KAI GPU sharing)."""
    cpu: CpuResources = Field(default_factory=CpuResources)
    """CPU request and limit."""
    memory: MemoryResources = Field(default_factory=MemoryResources)
    """CPU memory request and limit."""
    extended_resources: list[ExtendedResource] = Field(default_factory=list)
    """Extended resources (name/quantity)."""
    large_shm: bool = False
    """Mount a memory-backed /dev/shm sized by the memory limit (or node memory)."""


class AutoscaleMetric(StrEnum):
    """What drives autoscaling when min and max replicas differ."""

    LATENCY = "latency"
    THROUGHPUT = "throughput"
    CONCURRENCY = "concurrency"


class Autoscaling(SpecModel):
    """The autoscaling condition: a new replica is added each time the metric passes target."""

    metric: AutoscaleMetric
    """latency (milliseconds), throughput (requests/second) or concurrency (requests)."""
    target: float = Field(gt=0)
    """Threshold per replica at which a replica is added."""


class Replicas(SpecModel):
    """Replica count and autoscaling."""

    min: int = Field(default=1, ge=0, le=1000)
    """Minimum replicas (0 allows scale to zero)."""
    max: int = Field(default=1, ge=1, le=1000)
    """Maximum replicas."""
    autoscaling: Autoscaling | None = None
    """Required when min differs from max."""
    scale_to_zero_after: Duration | None = None
    """Idle period after which the last replica is removed (only with min 0)."""


class TolerationOperator(StrEnum):
    """How a toleration matches a taint."""

    EXISTS = "Exists"
    EQUAL = "Equal"


class TolerationEffect(StrEnum):
    """Which taint effect a toleration tolerates (Any = all)."""

    NO_EXECUTE = "NoExecute"
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    ANY = "Any"


class Toleration(SpecModel):
    """Allow scheduling on nodes with a matching taint."""

    key: str = Field(min_length=1, pattern=LABEL_KEY)
    """Taint key."""
    operator: TolerationOperator = TolerationOperator.EQUAL
    """Exists or Equal."""
    value: str | None = Field(default=None, pattern=LABEL_VALUE_OR_EMPTY, max_length=63)
    """Taint value (Equal only)."""
    effect: TolerationEffect = TolerationEffect.ANY
    """NoExecute, NoSchedule, PreferNoSchedule or Any."""


class Scheduling(SpecModel):
    """Where pods may run."""

    node_pools: list[Annotated[str, Field(pattern=LABEL_VALUE, max_length=63)]] = Field(
        default_factory=list)
    """Node pools in order of preference; the scheduler tries the first one first."""
    node_type: str | None = Field(default=None, pattern=LABEL_VALUE, max_length=63)
    """Node type (node affinity): nodes labelled with the profile's node-type key and this value."""
    tolerations: list[Toleration] = Field(default_factory=list)
    """Tolerations for tainted nodes."""


class General(SpecModel):
    """General settings."""

    initialization_timeout: Duration | None = None
    """How long the workload may take to start and become ready (5s-60m). Defaults: 10m
    custom, 30m Hugging Face and distributed."""
    request_timeout: Duration | None = None
    """Longest time one request may take (5s-10m, and within the cluster's maximum)."""
    auto_deletion_after: Duration | None = None
    """Delete the workload this long after it failed or completed (0 = at once)."""


class Container(SpecModel):
    """The container environment of a pod (image, command, env, storage, compute)."""

    image: str = Field(min_length=1, pattern=r"^[^\s]+$")
    """Container image."""
    image_pull_policy: PullPolicy = PullPolicy.IF_NOT_PRESENT
    """When to pull the image."""
    command: list[str] = Field(default_factory=list)
    """Entry point; empty uses the image's."""
    args: list[str] = Field(default_factory=list)
    """Arguments."""
    env: list[EnvVar] = Field(default_factory=list)
    """Environment variables."""
    working_dir: str | None = Field(default=None, pattern=r"^/")
    """Working directory."""
    security: Security = Field(default_factory=Security)
    """UID/GID and capabilities."""
    compute: Compute = Field(default_factory=Compute)
    """Compute resources per pod."""
    storage: list[DataSource] = Field(default_factory=list)
    """Data sources and volumes."""


SECRET_KEY = r"^[-._a-zA-Z0-9]+$"


class NewCredential(SpecModel):
    """A credential created with the workload: a Secret holding one key (the form's "add new
    credentials" with a new secret)."""

    name: str = Field(pattern=DNS1123_LABEL, max_length=63)
    """Credential (Secret) name, unique in the project."""
    description: str | None = Field(default=None, max_length=250)
    """What the credential is for (kept as an annotation on the Secret)."""
    key: str = Field(default="HF_TOKEN", pattern=SECRET_KEY, max_length=253)
    """Key of the value in the Secret (default HF_TOKEN)."""
    value: SecretStr
    """The token. Sensitive: stored only in the Secret, redacted in printed manifests."""


class PullCredentialKind(StrEnum):
    """How image-pull credentials are given."""

    DOCKER_REGISTRY = "docker-registry"
    NGC_API_KEY = "ngc-api-key"


class CredentialSource(StrEnum):
    """Who owns a credential (Run:ai "Shared secret" or "My credentials")."""

    SHARED = "shared"
    USER = "user"


NGC_REGISTRY = "nvcr.io"
NGC_USERNAME = "$oauthtoken"


class PullCredential(SpecModel):
    """Image-pull credentials: a docker-registry credential or an NGC API key.

    ``source: shared`` names a Secret an administrator created in advance (nothing is
    created); ``source: user`` creates a ``kubernetes.io/dockerconfigjson`` Secret with the
    workload from the values given here (an NGC API key becomes a pull secret for ``nvcr.io``
    with the username ``$oauthtoken``).
    """

    kind: PullCredentialKind
    """docker-registry or ngc-api-key."""
    source: CredentialSource = CredentialSource.USER
    """shared (an existing Secret) or user (created with the workload)."""
    name: str | None = Field(default=None, pattern=DNS1123_LABEL, max_length=63)
    """Secret name: required for shared; default ``<workload>-pull`` for user."""
    registry: str | None = Field(default=None, pattern=r"^[^\s/]+(/[^\s]*)?$|^https?://[^\s]+$",
                                 max_length=253)
    """Registry server (docker-registry; Docker Hub is ``https://index.docker.io/v1/``).
    NGC: ``nvcr.io``."""
    username: str | None = Field(default=None, min_length=1, max_length=253)
    """Registry user name (docker-registry)."""
    password: SecretStr | None = None
    """Registry password or token (docker-registry). Sensitive."""
    api_key: SecretStr | None = None
    """NGC API key (ngc-api-key). Sensitive."""


class ModelSource(SpecModel):
    """A Hugging Face Hub model and how to access it."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")
    """Model id as on the Hub, e.g. ``meta-llama/Llama-3.1-8B-Instruct``."""
    revision: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._/-]+$")
    """Branch, tag or commit. Preflight pins it to a commit sha."""
    served_model_name: str | None = None
    """Name clients put in the ``model`` field (default: the model id)."""
    token: SecretStr | None = None
    """Access token for gated/private models. Sensitive: stored only in a Secret."""
    token_secret: str | None = Field(default=None, pattern=DNS1123_LABEL)
    """Existing Secret (or credential) holding an ``HF_TOKEN`` key."""
    credential: NewCredential | None = None
    """A new credential (name, description, key, value) created with the workload."""
    trust_remote_code: bool = False
    """Allow the model's own code (vLLM --trust-remote-code)."""


class VllmSettings(SpecModel):
    """vLLM engine settings."""

    image: str | None = Field(default=None, pattern=r"^[^\s]+$")
    """vLLM image (default: the profile's pinned vLLM image)."""
    max_model_len: int | None = Field(default=None, ge=16, le=10_000_000)
    """Context length (default: from the model config)."""
    dtype: Literal["auto", "half", "float16", "bfloat16", "float", "float32"] | None = None
    """Weight/activation dtype."""
    quantization: str | None = Field(default=None, pattern=r"^[a-z0-9_-]+$")
    """Quantization method, e.g. awq, gptq, fp8."""
    gpu_memory_utilization: float | None = Field(default=None, gt=0, le=1)
    """Share of each device's total memory vLLM may use (default 0.9, capped by a GPU fraction)."""
    tensor_parallel_size: int | None = Field(default=None, ge=1, le=64)
    """Tensor-parallel size (default: GPUs per pod)."""
    pipeline_parallel_size: int | None = Field(default=None, ge=1, le=64)
    """Pipeline-parallel size (default 1; distributed: pods per group)."""
    extra_args: list[str] = Field(default_factory=list)
    """More ``vllm serve`` arguments, appended as given."""


SecretLike = SecretStr
