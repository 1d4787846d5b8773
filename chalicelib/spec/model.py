"""The spec file: one environment's desired WSO2 services on ECS, validated with precise messages.

Structure and field rules are pydantic models here; rules that span fields (Fargate sizes, port
clashes, dependency cycles) run afterwards, from `spec_rules`, as plain functions returning
located problems; both are reported together as file:line:col: field: reason.
"""

from __future__ import annotations

from graphlib import TopologicalSorter
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
)

from chalicelib.wso2.presets import (
    KEYSTORE_PRODUCT_PATH,
    KEYSTORE_VOLUME,
    PRESETS,
    Condition,
    Product,
    ProductPreset,
)

from .base import NAME, Port, SecretArn, SpecModel, text_values
from .containers import HealthCheck, MountPoint, SchemaInit, Sidecar, Volume
from .deployment import Deployment
from .images import ImageSource
from .located import Path
from .networking import LoadBalancer, Network, ServiceConnect, ServiceConnectNamespace


class Service(SpecModel):
    product: Product = "generic"
    image: ImageSource
    cpu: int | None = Field(default=None, gt=0)
    memory: int | None = Field(default=None, gt=0)
    heap: int | None = Field(default=None, ge=128, description="JVM heap in MiB")
    desired_count: int = Field(default=1, ge=0, le=100)
    # wso2am only: WSO2's two-node all-in-one high availability, rendered as two ECS services
    # `<name>-1` and `<name>-2`, each one task with its node's configuration (chalicelib.spec.ha).
    ha: bool = False
    ports: list[Port] | None = None
    environment: dict[str, str] = {}
    secrets: dict[str, SecretArn] = {}
    network: Network | None = None
    load_balancer: LoadBalancer | None = None
    # Several target groups, e.g. APIM's gateway (8243) and portals (9443): CreateService
    # `loadBalancers`, at most five per service (spec_rules.load_balancer_problems).
    load_balancers: list[LoadBalancer] | None = None
    health_check: HealthCheck | None = None
    health_check_grace_period: int | None = Field(default=None, ge=0, le=2_147_483_647)
    depends_on: list[str] = []
    deployment: Deployment = Deployment()
    log_group: str | None = None
    execution_role_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+"
    )
    task_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+")
    launch_type: Literal["FARGATE", "EC2"] | None = None
    architecture: Literal["X86_64", "ARM64"] = "X86_64"
    stop_timeout: int | None = Field(default=None, ge=2, le=120)
    tags: dict[str, str] = {}
    # More containers in the task, task storage, and the product container's own mounts and
    # start ordering (ECS ContainerDefinition dependsOn, mountPoints; TaskDefinition volumes).
    containers: dict[Annotated[str, Field(pattern=NAME)], Sidecar] = {}
    volumes: dict[Annotated[str, Field(pattern=NAME)], Volume] = {}
    mount_points: list[MountPoint] = []
    start_after: dict[str, Condition] = {}
    ephemeral_storage: int | None = Field(default=None, ge=21, le=200, description="GiB")
    # Discovery through ECS Service Connect in the environment's namespace (top-level
    # serviceConnect); with a namespace and no block here, the service is a client only.
    service_connect: ServiceConnect | None = None
    # Database tables from WSO2's dbscripts before the first deployment (schema_init.py).
    schema_init: SchemaInit | None = None

    @field_validator("image", mode="before")
    @classmethod
    def _image_shorthand(cls, value: Any) -> Any:
        # `image: wso2am` is short for `image: {repository: wso2am, track: "*"}`.
        return {"repository": value} if isinstance(value, str) else value

    @field_validator("environment", "tags", mode="before")
    @classmethod
    def _environment_values_are_text(cls, value: Any) -> Any:
        return text_values(value)

    @property
    def preset(self) -> ProductPreset:
        return PRESETS[self.product]

    @property
    def effective_cpu(self) -> int:
        return self.cpu if self.cpu is not None else self.preset.cpu

    @property
    def effective_memory(self) -> int:
        return self.memory if self.memory is not None else self.preset.memory

    @property
    def effective_ports(self) -> list[int]:
        return list(self.ports) if self.ports is not None else list(self.preset.ports)

    def target_groups(self) -> list[tuple[Path, LoadBalancer]]:
        """Every load balancer entry with its field in the service: `loadBalancer` (the
        one-entry form) or each of `loadBalancers`; both at once is refused by the rules."""
        found: list[tuple[Path, LoadBalancer]] = []
        if self.load_balancer is not None:
            found.append((("loadBalancer",), self.load_balancer))
        found += [(("loadBalancers", i), lb) for i, lb in enumerate(self.load_balancers or [])]
        return found

    def target_port(self, lb: LoadBalancer) -> int | None:
        """The container port a load balancer entry sends to: its own, else the preset's."""
        return lb.container_port or self.preset.lb_port

    # ---- the task's containers: what the spec says plus what the sidecar presets imply ------

    @property
    def log_router(self) -> str | None:
        """The FireLens log router among the sidecars, if any."""
        return next((n for n, c in self.containers.items() if c.preset == "firelens"), None)

    @property
    def sidecar_memory(self) -> int:
        """MiB the sidecars take from the task (reservations, else hard limits)."""
        return sum(c.reserved_memory for c in self.containers.values())

    def start_order(self, name: str) -> dict[str, dict[str, Condition]]:
        """Each container of the task (the product container is `name`) -> the containers it
        starts after, with ECS's condition: its own `startAfter` over what presets imply (the
        product waits for an init container's SUCCESS; every container waits for the log
        router it logs through to START)."""
        router = self.log_router
        order: dict[str, dict[str, Condition]] = {}
        own = [(name, dict(self.start_after)), *((n, dict(c.start_after))
               for n, c in self.containers.items())]  # fmt: skip
        for container, explicit in own:
            implied: dict[str, Condition] = {}
            if router is not None and container != router:
                implied[router] = "START"
            if container == name:
                for other, sidecar in self.containers.items():
                    waits = sidecar.sidecar_preset and sidecar.sidecar_preset.product_waits_for
                    if waits:
                        implied[other] = waits
            order[container] = {**implied, **explicit}
        return order

    def task_volumes(self) -> dict[str, Volume]:
        """The task's volumes: the spec's, plus keystore-init's shared bind volume."""
        volumes = dict(self.volumes)
        if any(c.preset == "keystore-init" for c in self.containers.values()):
            volumes.setdefault(KEYSTORE_VOLUME, Volume())
        return volumes

    def mounts_of(self, name: str, container: str) -> list[MountPoint]:
        """Mount points of one container (`name` is the product container): the spec's, plus
        keystore-init's volume where the preset puts it."""
        init = any(c.preset == "keystore-init" for c in self.containers.values())
        if container == name:
            mounts = list(self.mount_points)
            if init and self.preset.config_volume:
                path = f"{self.preset.config_volume}/{KEYSTORE_PRODUCT_PATH}"
                mounts.append(MountPoint(volume=KEYSTORE_VOLUME, path=path, readOnly=True))
            return mounts
        sidecar = self.containers[container]
        mounts = list(sidecar.mount_points)
        preset = sidecar.sidecar_preset
        if preset is not None and preset.mount:
            mounts.append(MountPoint(volume=KEYSTORE_VOLUME, path=preset.mount))
        return mounts


Retirement = Literal["delete", "keep"]


class Spec(SpecModel):
    berth: Literal[1]
    environment: str = Field(pattern=NAME)
    cluster: str = Field(pattern=r"^[A-Za-z0-9_-]{1,255}$")
    services: dict[Annotated[str, Field(pattern=NAME)], Service] = Field(
        min_length=1, max_length=50
    )
    # Defaults for every service; a service's own value wins.
    network: Network | None = None
    log_group: str | None = None
    execution_role_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+"
    )
    task_role_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+")
    launch_type: Literal["FARGATE", "EC2"] = "FARGATE"
    tags: dict[str, str] = {}
    service_connect: ServiceConnectNamespace | None = None
    retire: dict[Annotated[str, Field(pattern=NAME)], Retirement] = {}
    """Services that left the spec on purpose: `delete` scales the ECS service to 0 and deletes
    it; `keep` leaves it running, no longer Berth's to deploy (docs/lifecycle.md)."""

    def launch_type_of(self, name: str) -> str:
        return self.services[name].launch_type or self.launch_type

    def network_of(self, name: str) -> Network | None:
        return self.services[name].network or self.network

    def log_group_of(self, name: str) -> str:
        return self.services[name].log_group or self.log_group or f"/berth/{self.environment}"

    def execution_role_of(self, name: str) -> str | None:
        return self.services[name].execution_role_arn or self.execution_role_arn

    def task_role_of(self, name: str) -> str | None:
        return self.services[name].task_role_arn or self.task_role_arn

    def deployment_order(self) -> list[str]:
        """Service names, dependencies first; ties broken by name so the order is stable."""
        sorter = TopologicalSorter({n: set(s.depends_on) for n, s in self.services.items()})
        sorter.prepare()
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            order.extend(ready)
            sorter.done(*ready)
        return order

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_values_are_text(cls, value: Any) -> Any:
        return text_values(value)
