"""The policy and asset documents a platform team writes once.

``InferencePolicy`` sets defaults and rules for the workloads of a scope (clusters,
departments, projects, kinds). The assets (``Environment``, ``ComputeResource``,
``DataSource``, ``Credential``) are named, reusable spec fragments a workload loads by name
and may override field by field, as Run:ai's "load from an existing setup" does.

Each document is ``apiVersion: inference-stacks/v1alpha1``, a ``kind``, ``metadata`` (name,
description), an optional ``scope`` and its body.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field

from inference_core.spec.base import DNS1123_LABEL, SpecModel
from inference_core.spec.common import (
    Compute,
    Endpoint,
    EnvVar,
    PullPolicy,
    Security,
    Tool,
)
from inference_core.spec.storage import DataSource

POLICY_KIND = "InferencePolicy"
ASSET_KINDS = ("Environment", "ComputeResource", "DataSource", "Credential")
WORKLOAD_KINDS = ("CustomInference", "HuggingFaceInference", "DistributedInference")

Name = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS1123_LABEL)]


class Scope(SpecModel):
    """Where a policy or asset applies. Empty lists mean "any"; given lists must all match.

    The most specific level set (project, then department, then cluster) is the document's
    level, which decides the precedence of policy defaults.
    """

    clusters: list[str] = Field(default_factory=list)
    """Cluster profile names (``ClusterProfile.name``, e.g. ``kai``)."""
    departments: list[str] = Field(default_factory=list)
    """Departments; a project's department comes from the cluster profile's ``departments``."""
    projects: list[Name] = Field(default_factory=list)
    """Projects (``metadata.project`` of the workload)."""
    kinds: list[Literal["CustomInference", "HuggingFaceInference", "DistributedInference"]] = (
        Field(default_factory=list))
    """Workload kinds the document applies to."""

    def level(self) -> int:
        """0 everywhere, 1 cluster, 2 department, 3 project: more specific wins for defaults."""
        if self.projects:
            return 3
        if self.departments:
            return 2
        return 1 if self.clusters else 0

    def level_name(self) -> str:
        """The level as a word, for messages."""
        return ("global", "cluster", "department", "project")[self.level()]

    def matches(self, *, cluster: str, department: str | None, project: str, kind: str) -> bool:
        """Whether a workload of ``kind`` in ``project`` on ``cluster`` is in this scope."""
        return ((not self.clusters or cluster in self.clusters)
                and (not self.departments or department in self.departments)
                and (not self.projects or project in self.projects)
                and (not self.kinds or kind in self.kinds))


class DocMetadata(SpecModel):
    """Name and description of a policy or asset."""

    name: Name
    """Unique per kind; specs refer to assets by this name, errors cite policies by it."""
    description: str | None = Field(default=None, max_length=2048)
    """Free text shown by ``infstack explain``."""


class FieldRule(SpecModel):
    """Rules on one field (Run:ai policy rules). Several rules on one field all apply."""

    required: bool = False
    """The field must have a value (from the spec, an asset or a policy default)."""
    can_edit: bool = True
    """False: the value is the policy's default (or the built-in default when the policy
    sets none) and a spec or asset that sets another value is refused."""
    min: float | int | str | None = None
    """Smallest allowed value; quantities in the field's own units (``8Gi``, ``500m``, ``5m``)."""
    max: float | int | str | None = None
    """Largest allowed value, same units as ``min``."""
    options: list[Any] | None = None
    """Allowed values; for a list field, every item must be one of them."""
    can_add: bool = True
    """False on a list field: it holds only the items policies give (defaults, imposed
    assets); a spec or asset may not add items."""


class ImposedAssets(SpecModel):
    """Assets every workload in scope gets, whatever its spec says."""

    data_sources: list[Name | DataSource] = Field(default_factory=list)
    """Data sources mounted into every pod: a ``DataSource`` asset name or an inline data
    source. A spec may not remove or change them."""


class InferencePolicy(SpecModel):
    """Defaults and rules for the workloads of a scope."""

    api_version: Literal["inference-stacks/v1alpha1"] = "inference-stacks/v1alpha1"
    """Always inference-stacks/v1alpha1."""
    kind: Literal["InferencePolicy"] = "InferencePolicy"
    """InferencePolicy."""
    metadata: DocMetadata
    """Name and description."""
    scope: Scope = Field(default_factory=Scope)
    """Where the policy applies (default: every workload)."""
    defaults: dict[str, Any] = Field(default_factory=dict)
    """A partial workload document (``spec:``, ``metadata.labels``/``annotations``) merged
    under the spec: the spec and its assets win field by field."""
    rules: dict[str, FieldRule] = Field(default_factory=dict)
    """Rules per field path, e.g. ``spec.compute.gpuDevices: {max: 2}``. ``[]`` in a path
    means every item of a list (``spec.storage[].pvc.claimName``)."""
    imposed_assets: ImposedAssets = Field(default_factory=ImposedAssets)
    """Assets imposed on every workload in scope."""


class EnvironmentSpec(SpecModel):
    """The container environment: image, command, env, endpoint and tools."""

    image: str | None = Field(default=None, min_length=1, pattern=r"^[^\s]+$")
    """Container image (for Hugging Face workloads: the vLLM image)."""
    image_pull_policy: PullPolicy | None = None
    """When to pull the image."""
    image_pull_secret: str | dict[str, Any] | None = None
    """Docker-registry Secret name, or ``{asset: CREDENTIAL}``."""
    command: list[str] | None = None
    """Entry point (custom and distributed workloads only)."""
    args: list[str] | None = None
    """Arguments (custom and distributed workloads only)."""
    env: list[EnvVar | dict[str, Any]] | None = None
    """Environment variables; ``secretKeyRef: {asset: CREDENTIAL}`` takes a credential."""
    working_dir: str | None = Field(default=None, pattern=r"^/")
    """Working directory (custom and distributed workloads only)."""
    security: Security | None = None
    """UID/GID and capabilities."""
    endpoint: Endpoint | None = None
    """Serving protocol, port, access and exposure."""
    tools: list[Tool] | None = None
    """Tool connections (custom workloads only)."""


class Environment(SpecModel):
    """A reusable container environment."""

    api_version: Literal["inference-stacks/v1alpha1"] = "inference-stacks/v1alpha1"
    """Always inference-stacks/v1alpha1."""
    kind: Literal["Environment"] = "Environment"
    """Environment."""
    metadata: DocMetadata
    """Name and description."""
    scope: Scope = Field(default_factory=Scope)
    """Where the asset may be used (default: everywhere)."""
    spec: EnvironmentSpec
    """The fragment."""


class ComputeResource(SpecModel):
    """A reusable compute resource (GPU devices or fraction, CPU, memory, extended resources)."""

    api_version: Literal["inference-stacks/v1alpha1"] = "inference-stacks/v1alpha1"
    """Always inference-stacks/v1alpha1."""
    kind: Literal["ComputeResource"] = "ComputeResource"
    """ComputeResource."""
    metadata: DocMetadata
    """Name and description."""
    scope: Scope = Field(default_factory=Scope)
    """Where the asset may be used (default: everywhere)."""
    spec: Compute
    """The compute section, as in ``spec.compute``."""


class DataSourceSpec(DataSource):
    """A data source; ``name`` defaults to the asset's name."""

    name: str | None = Field(default=None, pattern=DNS1123_LABEL, max_length=40)  # type: ignore[assignment]
    """Volume name (default: the asset name)."""


class DataSourceAsset(SpecModel):
    """A reusable data source: PVC, ConfigMap, Secret, new volume or EmptyDir, with its path."""

    api_version: Literal["inference-stacks/v1alpha1"] = "inference-stacks/v1alpha1"
    """Always inference-stacks/v1alpha1."""
    kind: Literal["DataSource"] = "DataSource"
    """DataSource."""
    metadata: DocMetadata
    """Name and description."""
    scope: Scope = Field(default_factory=Scope)
    """Where the asset may be used (default: everywhere)."""
    spec: DataSourceSpec
    """One ``spec.storage`` item."""


class CredentialType(StrEnum):
    """What a credential's Secret holds."""

    DOCKER_REGISTRY = "docker-registry"
    NGC_API_KEY = "ngc-api-key"
    HUGGING_FACE = "hugging-face"
    GENERIC = "generic"


class SecretKeyRef(SpecModel):
    """An existing Secret (and key) in the workload's namespace."""

    name: str = Field(pattern=DNS1123_LABEL)
    """Secret name."""
    key: str | None = Field(default=None, min_length=1)
    """Key inside the Secret (default by type: HF_TOKEN for hugging-face; generic needs one)."""


class CredentialSpec(SpecModel):
    """A reference to a Secret; a credential never holds the secret value itself."""

    type: CredentialType
    """docker-registry (image pulls), ngc-api-key (an image-pull Secret made from an NGC key),
    hugging-face (HF_TOKEN) or generic (one key, used in env variables)."""
    secret: SecretKeyRef
    """The existing Secret."""


class Credential(SpecModel):
    """A reusable credential: the name of a Secret that already exists in the namespace."""

    api_version: Literal["inference-stacks/v1alpha1"] = "inference-stacks/v1alpha1"
    """Always inference-stacks/v1alpha1."""
    kind: Literal["Credential"] = "Credential"
    """Credential."""
    metadata: DocMetadata
    """Name and description."""
    scope: Scope = Field(default_factory=Scope)
    """Where the asset may be used (default: everywhere)."""
    spec: CredentialSpec
    """The Secret it refers to."""

    def key(self) -> str | None:
        """The Secret key to read (the type's default when unset)."""
        if self.spec.secret.key:
            return self.spec.secret.key
        return "HF_TOKEN" if self.spec.type == CredentialType.HUGGING_FACE else None


Asset = Environment | ComputeResource | DataSourceAsset | Credential

ASSET_MODELS: dict[str, type[Environment] | type[ComputeResource] | type[DataSourceAsset]
                   | type[Credential]] = {
    "Environment": Environment,
    "ComputeResource": ComputeResource,
    "DataSource": DataSourceAsset,
    "Credential": Credential,
}
