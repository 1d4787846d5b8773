"""The spec file: one environment's desired WSO2 services on ECS, validated with precise messages.

Structure and field rules are pydantic models here; rules that span fields (Fargate sizes, port
clashes, dependency cycles) run afterwards, from `spec_rules`, as plain functions returning
located problems; both are reported together as file:line:col: field: reason.
"""

from __future__ import annotations

import re
from graphlib import TopologicalSorter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from chalicelib.model import Model
from chalicelib.values.tracks import track_problem
from chalicelib.wso2.presets import (
    KEYSTORE_PRODUCT_PATH,
    KEYSTORE_VOLUME,
    PRESETS,
    SIDECAR_PRESETS,
    Condition,
    Product,
    ProductPreset,
    SidecarPreset,
    SidecarPresetName,
)

from .located import Path

NAME = r"^[a-z][a-z0-9-]{0,30}$"
SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:.+"
    r"|ssm:[a-z0-9-]+:\d{12}:parameter/.+)$"
)


class _Model(Model):
    # defer_build: the schema is built on first use, so the Lambdas that never validate a spec
    # (most ECS events) do not pay for it at cold start.
    model_config = ConfigDict(
        alias_generator=to_camel,
        # One spelling per field: `desired_count` is an unknown field, not an alias.
        populate_by_name=False,
        extra="forbid",
        frozen=True,
        defer_build=True,
    )


def _secret_arn(value: str) -> str:
    if not SECRET_ARN.match(value):
        raise ValueError(
            f"{value!r} is not a Secrets Manager or SSM parameter ARN "
            "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
            "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME); secrets are references, never values"
        )
    return value


SecretArn = Annotated[str, AfterValidator(_secret_arn)]


class ImageSource(_Model):
    """Which ECR repository feeds a service, and which of its tags it follows."""

    repository: str = Field(pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$", max_length=256)
    track: str = Field(default="*", min_length=1, max_length=128)

    @field_validator("repository", mode="before")
    @classmethod
    def _repository_not_tag(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        first, slash, _ = value.partition("/")
        # Docker's rule: a first component with a dot or a colon, or "localhost", is a registry.
        if slash and ("." in first or ":" in first or first == "localhost"):
            raise ValueError(
                f"{value!r} names a registry ({first}); give the ECR repository name only "
                "(e.g. wso2am): Berth pins images to this account's ECR registry by digest"
            )
        if ":" in value or "@" in value:
            raise ValueError(
                f"{value!r} names a tag or digest; give the repository name only and choose "
                "tags with track (e.g. {repository: wso2am, track: '4.7.*'})"
            )
        return value

    @field_validator("track")
    @classmethod
    def _track_is_usable(cls, value: str) -> str:
        problem = track_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class Network(_Model):
    subnets: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-z]+$")]] = Field(min_length=1)
    security_groups: list[Annotated[str, Field(pattern=r"^sg-[0-9a-z]+$")]] = Field(
        min_length=1, max_length=5
    )
    assign_public_ip: bool = False


# ELB listener rule (ALB) or listener (NLB) ARNs, as LoadBalancer.advancedConfiguration takes them
# ("the production listener rule (in the case of an Application Load Balancer) or listener (in the
# case for an Network Load Balancer)", ECS API reference, AdvancedConfiguration).
LISTENER_RULE = (
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
    r"(listener-rule/app/[^/]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+|listener/net/[^/]+/[0-9a-f]+/[0-9a-f]+)$"
)
TARGET_GROUP = r"^arn:aws[a-z-]*:elasticloadbalancing:.+:targetgroup/.+"


class LoadBalancer(_Model):
    """One target group the service's product container registers in (ECS LoadBalancer): one
    entry of CreateService `loadBalancers`. Fields are added here, rendered by
    `render.render_load_balancer`."""

    target_group_arn: str = Field(pattern=TARGET_GROUP)
    container_port: int | None = Field(default=None, ge=1, le=65535)
    # Blue/green, canary and linear deployments (rendered as this load balancer's
    # advancedConfiguration; chalicelib/rendering/strategies.py).
    alternate_target_group_arn: str | None = Field(default=None, pattern=TARGET_GROUP)
    production_listener_rule: str | None = Field(default=None, pattern=LISTENER_RULE)
    test_listener_rule: str | None = Field(default=None, pattern=LISTENER_RULE)


class CircuitBreaker(_Model):
    enable: bool = True
    rollback: bool = True


# ---- deployment strategies (ECS API reference: DeploymentConfiguration, CanaryConfiguration,
# LinearConfiguration; limits quoted from botocore's ecs service model) ---------------------------
Strategy = Literal["rolling", "blue-green", "canary", "linear"]
# bakeTimeInMinutes, canaryBakeTimeInMinutes, stepBakeTimeInMinutes: "Valid values are 0 to 1440
# minutes (24 hours)".
BAKE_MINUTES = 1440


def _tenths(value: float) -> float:
    # canaryPercent and stepPercent: "Valid values are multiples of 0.1".
    if abs(value * 10 - round(value * 10)) > 1e-9:
        raise ValueError(f"{value} is not a multiple of 0.1 (ECS takes percentages in tenths)")
    return round(value, 1)


class Canary(_Model):
    """CanaryConfiguration: canaryPercent "from 0.1 to 100.0. The default value is 5.0";
    canaryBakeTimeInMinutes "The default value is 10"."""

    percent: Annotated[float, AfterValidator(_tenths)] = Field(default=5.0, ge=0.1, le=100.0)
    bake: int = Field(default=10, ge=0, le=BAKE_MINUTES, description="minutes")


class Linear(_Model):
    """LinearConfiguration: stepPercent "from 3.0 to 100.0. The default value is 10.0";
    stepBakeTimeInMinutes "The default value is 6"."""

    step_percent: Annotated[float, AfterValidator(_tenths)] = Field(default=10.0, ge=3.0, le=100.0)
    bake: int = Field(default=6, ge=0, le=BAKE_MINUTES, description="minutes")


HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$"  # an HTTP token (RFC 9110, 5.6.2)


class VerifyHeader(_Model):
    """A request header whose value is a secret (Secrets Manager), read by the hook at run time."""

    name: str = Field(pattern=HEADER_NAME)
    secret: SecretArn


class VerifyRequest(_Model):
    """One HTTP call Berth's hook makes through the test listener, and the status it expects."""

    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] = "GET"
    path: str = Field(pattern=r"^/[\x21-\x7e]*$", max_length=2048)
    status: int = Field(default=200, ge=100, le=599)
    header: VerifyHeader | None = None


class Verify(_Model):
    """Berth's verification of the new revision before production traffic moves: run by Berth's
    lifecycle hook Lambda at POST_TEST_TRAFFIC_SHIFT, through the load balancer's test listener."""

    test_url: str = Field(pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$", max_length=300)
    health: str | None = Field(default=None, pattern=r"^/[\x21-\x7e]*$", max_length=2048)
    smoke: VerifyRequest | None = None
    timeout: int = Field(default=5, ge=1, le=30, description="seconds per request")
    startup: int = Field(
        default=10, ge=0, le=60, description="minutes the product may still be starting"
    )


# Berth's approval deadline must come before ECS gives up on the hook itself: a lifecycle hook's
# timeoutInMinutes defaults to 1440 with action ROLLBACK (ECS API reference,
# DeploymentLifecycleHookTimeoutConfiguration), and the same hook may first spend up to
# verify.startup (60 min at most) verifying; 1320 min (22 h) leaves room for both.
APPROVAL_MINUTES = 1320


class Approval(_Model):
    """An approval gate: after verification passes (or at once, without verify), the deployment
    waits at POST_TEST_TRAFFIC_SHIFT until someone runs `berth approve`, and rolls back before
    production traffic moves when nobody has within `timeout` minutes."""

    timeout: int = Field(default=60, ge=1, le=APPROVAL_MINUTES, description="minutes")


class Deployment(_Model):
    minimum_healthy_percent: int = Field(default=100, ge=0, le=100)
    maximum_percent: int = Field(default=200, ge=100, le=200)
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    strategy: Strategy = "rolling"
    bake_time: int | None = Field(default=None, ge=0, le=BAKE_MINUTES, description="minutes")
    canary: Canary | None = None
    linear: Linear | None = None
    # CloudWatch alarm names (1-255 characters, CloudWatch PutMetricAlarm AlarmName); rendered as
    # deploymentConfiguration.alarms with rollback.
    alarms: list[Annotated[str, Field(min_length=1, max_length=255)]] = []
    verify: Verify | None = None
    approval: Approval | None = None


class HealthCheck(_Model):
    """ECS container health check; limits are ECS's own."""

    command: list[str] = Field(min_length=2)
    interval: int = Field(default=30, ge=5, le=300)
    timeout: int = Field(default=5, ge=2, le=60)
    retries: int = Field(default=3, ge=1, le=10)
    start_period: int = Field(default=0, ge=0, le=300)


Port = Annotated[int, Field(ge=1, le=65535)]
REPOSITORY = r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$"
# REPOSITORY[:TAG]@sha256:HEX, the form `berth render --image` takes (tags: Docker's grammar).
PINNED = re.compile(
    r"^(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"@(?P<digest>sha256:[0-9a-f]{64})$"
)


def _text_values(value: Any) -> Any:
    # YAML turns `DEBUG: true` into a bool and `PORT: 8080` into an int; ECS wants strings
    # (environment values and tags): true -> "true", 8080 -> "8080", 1.10 -> "1.1" (by value).
    if isinstance(value, dict):
        return {
            k: (str(v).lower() if isinstance(v, bool) else str(v))
            if isinstance(v, (bool, int, float))
            else v
            for k, v in value.items()
        }
    return value


class PinnedImage(_Model):
    """A sidecar's image: an ECR repository of this account, either pinned by digest (the tag,
    when given, is kept as a label for people) or tracked like the product image
    (`{repository, track}`: digest-pinned at render time, redeployed on a matching push)."""

    repository: str = Field(pattern=REPOSITORY, max_length=256)
    digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    tag: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    track: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="before")
    @classmethod
    def _pinned_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            first, slash, _ = value.partition("/")
            if slash and ("." in first or ":" in first or first == "localhost"):
                raise ValueError(
                    f"{value!r} names a registry ({first}); give the ECR repository of this "
                    "account only (mirror a public image into ECR, e.g. with a pull-through "
                    "cache rule), as REPOSITORY[:TAG]@sha256:<64 hex>"
                )
            found = PINNED.match(value)
            if found is None:
                raise ValueError(
                    f"{value!r} is not pinned by digest: write REPOSITORY[:TAG]@sha256:<64 hex> "
                    "(e.g. aws-for-fluent-bit:2.32.4@sha256:…), or follow tags with "
                    "{repository: NAME, track: '2.32.*'}"
                )
            return {k: v for k, v in found.groupdict().items() if v is not None}
        return value

    @field_validator("track")
    @classmethod
    def _track_is_usable(cls, value: str | None) -> str | None:
        problem = track_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _pinned_or_tracked(self) -> PinnedImage:
        if self.track is not None and (self.digest is not None or self.tag is not None):
            raise ValueError(
                "give either digest (and tag) to pin the image, or track to follow tags, not both"
            )
        if self.track is None and self.digest is None:
            raise ValueError(
                "give digest: 'sha256:<64 hex>' to pin the image, or track: '<glob or range>' "
                "to follow its tags (e.g. {repository: aws-for-fluent-bit, track: '2.32.*'})"
            )
        return self

    @property
    def tracked(self) -> bool:
        """Does the image follow its repository's tags (resolved and pinned by Berth)?"""
        return self.track is not None


class SchemaInit(_Model):
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


class MountPoint(_Model):
    """A task volume mounted into one container (ECS MountPoint: sourceVolume, containerPath,
    readOnly)."""

    volume: str = Field(pattern=NAME)
    path: str = Field(pattern=r"^/[^\x00]*$", max_length=4096)
    read_only: bool = False


class EfsVolume(_Model):
    """ECS EFSVolumeConfiguration. Berth turns transit encryption on by default (AWS's default
    is off); IAM authorization and access points need it (ECS API reference,
    EFSAuthorizationConfig)."""

    file_system_id: str = Field(pattern=r"^fs-[0-9a-f]{8,40}$")
    access_point_id: str | None = Field(default=None, pattern=r"^fsap-[0-9a-f]{8,40}$")
    root_directory: str | None = Field(default=None, pattern=r"^/[^\x00]*$", max_length=255)
    transit_encryption: bool = True
    iam: bool = False


class Volume(_Model):
    """A task-level volume: `{}` is a bind volume on the task's own storage, shared by the
    containers that mount it and gone with the task; `efs:` is an EFS file system."""

    efs: EfsVolume | None = None


class Sidecar(_Model):
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
        return _text_values(value)

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


# ECS Service Connect (ECS API reference, ServiceConnectService): discoveryName "up to 64
# characters ... lowercase letters, numbers, underscores (_), and hyphens (-). The name can't start
# with a hyphen"; ServiceConnectClientAlias.dnsName "up to 127 characters ... lowercase letters,
# numbers, underscores (_), hyphens (-), and periods (.). The name can't start with a hyphen".
DISCOVERY_NAME = r"^[a-z0-9_][a-z0-9_-]{0,63}$"
DNS_NAME = r"^[a-z0-9_][a-z0-9_.-]{0,126}$"


class ServiceConnectOffer(_Model):
    """One port this service offers in the environment's Service Connect namespace: ECS creates
    the Cloud Map service `name` and clients reach it as `dnsName:port` (one ServiceConnectService
    with one client alias on the same port)."""

    port: Port
    name: str = Field(pattern=DISCOVERY_NAME)
    dns_name: str | None = Field(default=None, pattern=DNS_NAME)

    @property
    def alias(self) -> str:
        """The name clients use: dnsName, else the discovery name (ECS's own default is
        discoveryName.namespace; Berth renders the short name so clients need no namespace)."""
        return self.dns_name or self.name


class ServiceConnect(_Model):
    """What a service offers in the namespace (none: a client only) and which names it uses."""

    offers: list[ServiceConnectOffer] = []
    uses: list[str] = []


class ServiceConnectNamespace(_Model):
    """The environment's Service Connect namespace: a Cloud Map namespace name or ARN
    (ServiceConnectConfiguration.namespace), created before the first deployment."""

    namespace: str = Field(
        pattern=r"^(arn:aws[a-z-]*:servicediscovery:[a-z0-9-]+:\d{12}:namespace/ns-[a-z0-9]+"
        r"|[A-Za-z0-9][A-Za-z0-9._-]{0,1023})$"
    )


class Service(_Model):
    product: Product = "generic"
    image: ImageSource
    cpu: int | None = Field(default=None, gt=0)
    memory: int | None = Field(default=None, gt=0)
    heap: int | None = Field(default=None, ge=128, description="JVM heap in MiB")
    desired_count: int = Field(default=1, ge=0, le=100)
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
        return _text_values(value)

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


class Spec(_Model):
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
        return _text_values(value)
