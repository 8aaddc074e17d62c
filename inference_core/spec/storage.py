"""Data & storage: the sources a workload mounts (existing PVCs, ConfigMaps and Secrets, new
volumes, EmptyDirs), mirroring the Run:ai form's "Data & storage" section."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from inference_core.spec.base import DNS1123_LABEL, SpecModel
from inference_core.spec.quantities import Memory


class PvcSource(SpecModel):
    """An existing PersistentVolumeClaim."""

    claim_name: str = Field(pattern=DNS1123_LABEL)
    """Claim name in the workload's namespace."""
    read_only: bool = False
    """Mount read-only."""


class ConfigMapSource(SpecModel):
    """An existing ConfigMap, whole or one key."""

    name: str = Field(pattern=DNS1123_LABEL)
    """ConfigMap name."""
    sub_path: str | None = None
    """Mount only this key as a file at the container path."""


class SecretSource(SpecModel):
    """An existing Secret."""

    name: str = Field(pattern=DNS1123_LABEL)
    """Secret name."""


class VolumeModeName(StrEnum):
    """Volume mode of a new volume."""

    FILESYSTEM = "Filesystem"
    BLOCK = "Block"


class AccessModeName(StrEnum):
    """PersistentVolumeClaim access modes."""

    READ_WRITE_ONCE = "ReadWriteOnce"
    READ_ONLY_MANY = "ReadOnlyMany"
    READ_WRITE_MANY = "ReadWriteMany"
    READ_WRITE_ONCE_POD = "ReadWriteOncePod"


class NewVolume(SpecModel):
    """A new PersistentVolumeClaim created with the workload."""

    storage_class: str | None = None
    """Storage class (empty: the cluster default)."""
    access_modes: list[AccessModeName] = Field(
        default_factory=lambda: [AccessModeName.READ_WRITE_ONCE])
    """Access modes."""
    size: Memory
    """Claim size."""
    volume_mode: VolumeModeName = VolumeModeName.FILESYSTEM
    """Filesystem or Block."""


class EmptyDirSource(SpecModel):
    """Scratch space that lives as long as the pod."""

    size: Memory | None = None
    """Size limit."""
    medium: Literal["disk", "memory"] = "disk"
    """disk (node storage) or memory (RAM)."""


class S3Source(SpecModel):
    """S3 buckets: accepted by the parser only to give a clear refusal for inference."""

    bucket: str | None = None
    """Bucket name."""


class DataSource(SpecModel):
    """One data source mounted at ``path``: exactly one of the source fields."""

    name: str = Field(pattern=DNS1123_LABEL, max_length=40)
    """Volume name."""
    path: str = Field(pattern=r"^/")
    """Container path."""
    pvc: PvcSource | None = None
    """An existing PVC."""
    config_map: ConfigMapSource | None = None
    """An existing ConfigMap."""
    secret: SecretSource | None = None
    """An existing Secret."""
    volume: NewVolume | None = None
    """A new volume (PVC) created with the workload."""
    empty_dir: EmptyDirSource | None = None
    """An EmptyDir."""
    s3: S3Source | None = None
    """Not supported for inference; present to explain why."""
