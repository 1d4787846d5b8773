"""The task's other containers and its storage: sidecars and init containers, volumes, mount points,
health checks, the schema task."""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    field_validator,
)

from chalicelib.wso2.presets import (
    SIDECAR_PRESETS,
    Condition,
    SidecarPreset,
    SidecarPresetName,
)

from .base import NAME, Port, SecretArn, SpecModel, text_values
from .images import PinnedImage


class HealthCheck(SpecModel):
    """ECS container health check; limits are ECS's own."""

    command: list[str] = Field(min_length=2)
    interval: int = Field(default=30, ge=5, le=300)
    timeout: int = Field(default=5, ge=2, le=60)
    retries: int = Field(default=3, ge=1, le=10)
    start_period: int = Field(default=0, ge=0, le=300)


class SchemaInit(SpecModel):
    """Create the service's database tables with WSO2's dbscripts in a one-off ECS task before
    its first deployment in the environment (chalicelib/rendering/schema_init.py): `image` is
    the SQL client that runs them (this account's ECR, pinned by digest, as a sidecar's)."""

    image: PinnedImage
    initialize: bool = True

    @field_validator("image")
    @classmethod
    def _pinned(cls, value: PinnedImage) -> PinnedImage:
        if value.digest is None:
            raise ValueError(
                "the SQL client image runs once, before anything tracks it: pin it by digest "
                "(REPOSITORY[:TAG]@sha256:<64 hex>), not with track"
            )
        return value


class MountPoint(SpecModel):
    """A task volume mounted into one container (ECS MountPoint: sourceVolume, containerPath,
    readOnly)."""

    volume: str = Field(pattern=NAME)
    path: str = Field(pattern=r"^/[^\x00]*$", max_length=4096)
    read_only: bool = False


class EfsVolume(SpecModel):
    """ECS EFSVolumeConfiguration. Berth turns transit encryption on by default (AWS's default
    is off); IAM authorization and access points need it (ECS API reference,
    EFSAuthorizationConfig)."""

    file_system_id: str = Field(pattern=r"^fs-[0-9a-f]{8,40}$")
    access_point_id: str | None = Field(default=None, pattern=r"^fsap-[0-9a-f]{8,40}$")
    root_directory: str | None = Field(default=None, pattern=r"^/[^\x00]*$", max_length=255)
    transit_encryption: bool = True
    iam: bool = False


class Volume(SpecModel):
    """A task-level volume: `{}` is a bind volume on the task's own storage, shared by the
    containers that mount it and gone with the task; `efs:` is an EFS file system."""

    efs: EfsVolume | None = None
    shared_with: list[str] = Field(default=[], max_length=9)
    """The sidecars that may mount it besides the product: the volume's declared purpose. A
    sidecar mounts only what its preset brings and the volumes that name it here, so a log
    router added to a task cannot read the product's data or write where the product reads."""


class Sidecar(SpecModel):
    """A container beside the product container in the same task (a sidecar, or an init
    container that runs to completion before the product starts)."""

    preset: SidecarPresetName | None = None
    image: PinnedImage
    essential: bool | None = None
    cpu: int | None = Field(default=None, ge=0, le=16384)
    memory: int | None = Field(default=None, ge=6, description="hard limit, MiB")
    memory_reservation: int | None = Field(default=None, ge=6, description="soft limit, MiB")
    ports: list[Port] | None = None
    environment: dict[str, str] = {}
    secrets: dict[str, SecretArn] = {}
    health_check: HealthCheck | None = None
    start_after: dict[str, Condition] = {}
    mount_points: list[MountPoint] = []

    @field_validator("environment", mode="before")
    @classmethod
    def _environment_values_are_text(cls, value: Any) -> Any:
        return text_values(value)

    @property
    def sidecar_preset(self) -> SidecarPreset | None:
        return SIDECAR_PRESETS[self.preset] if self.preset else None

    @property
    def effective_essential(self) -> bool:
        if self.essential is not None:
            return self.essential
        return self.sidecar_preset.essential if self.sidecar_preset else True

    @property
    def effective_ports(self) -> list[int]:
        if self.ports is not None:
            return list(self.ports)
        return list(self.sidecar_preset.ports) if self.sidecar_preset else []

    @property
    def effective_memory_reservation(self) -> int | None:
        if self.memory_reservation is not None or self.memory is not None:
            return self.memory_reservation
        return self.sidecar_preset.memory_reservation if self.sidecar_preset else None

    @property
    def reserved_memory(self) -> int:
        """MiB this container takes from the task: its reservation, else its hard limit."""
        return self.effective_memory_reservation or self.memory or 0
