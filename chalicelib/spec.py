"""The spec file: one environment's desired WSO2 services on ECS, validated with precise messages.

Structure and field rules are pydantic models here; rules that span fields (Fargate sizes, port
clashes, dependency cycles) run afterwards, from `spec_rules`, as plain functions returning
located problems; both are reported together as file:line:col: field: reason.
"""

from __future__ import annotations

import copy as copy_module
import re
import types
import typing
from graphlib import TopologicalSorter
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .errors import SpecError, SpecProblem
from .fence import StageFence, fence_problems
from .located import Located, Path, SourceError
from .model import Model
from .presets import (
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
from .schema_init import schema_init_fence_problems
from .spec_rules import did_you_mean, semantic_problems, sidecar_fence_problems
from .spec_safety import safety_problems
from .strategies import strategy_fence_problems
from .tracks import track_problem

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
    # advancedConfiguration; chalicelib/strategies.py).
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
    its first deployment in the environment (chalicelib/schema_init.py): `image` is the SQL client
    that runs them (this account's ECR, pinned by digest, as a sidecar's)."""

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


# ---- error shaping -----------------------------------------------------------------------------


def _fields_at(model: Any, loc: tuple[str | int, ...]) -> list[str]:
    """The field names (aliases) accepted at `loc` inside `model`, for "did you mean"."""
    current: Any = model
    for part in loc:
        origin = typing.get_origin(current)
        if origin is Annotated:
            current = typing.get_args(current)[0]
            origin = typing.get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            by_alias = {(f.alias or n): f.annotation for n, f in current.model_fields.items()}
            current = by_alias.get(str(part))
        elif origin is dict:
            current = typing.get_args(current)[1]
        elif origin is list:
            current = typing.get_args(current)[0]
        elif origin in (typing.Union, types.UnionType):
            models = [a for a in typing.get_args(current) if a is not type(None)]
            current = models[0] if models else None
        else:
            return []
    if typing.get_origin(current) in (typing.Union, types.UnionType):
        current = next(a for a in typing.get_args(current) if a is not type(None))
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _reason(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        parent = tuple(error["loc"][:-1])
        key = str(error["loc"][-1])
        return f"unknown field{did_you_mean(key, _fields_at(Spec, parent))}"
    if kind == "missing":
        return "required field is missing"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in (
        "literal_error",
        "string_pattern_mismatch",
        "int_parsing",
        "int_type",
        "string_type",
        "bool_parsing",
        "dict_type",
        "list_type",
        "model_type",
    ):
        message = (
            f"{error['input']!r}: {message}"
            if not isinstance(error["input"], (dict, list))
            else message
        )
    return message


def _path_text(loc: Path) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def path_text(loc: Path) -> str:
    """A field path as messages spell it: services.apim.loadBalancers[1].targetGroupArn."""
    return _path_text(loc)


def _problem(file: str, doc: Located | None, loc: Path, reason: str) -> SpecProblem:
    position = doc.position(loc) if doc else None
    line, column = position if position else (None, None)
    return SpecProblem(file, _path_text(loc), reason, line, column)


def parse_spec(raw: bytes, file: str, fence: StageFence | None = None) -> Spec:
    """Validate a spec file's bytes (and, given a stage's fence, what it may reach); raise
    SpecError listing every problem found."""
    from .yamlsource import load_document  # only the spec upload's Lambda parses files

    try:
        doc = load_document(raw, as_json=file.lower().endswith(".json"))
    except SourceError as exc:
        raise SpecError([SpecProblem(file, "", exc.reason, exc.line, exc.column)]) from None
    if not isinstance(doc.data, dict):
        kind = {"NoneType": "null", "str": "string", "int": "number", "float": "number"}.get(
            type(doc.data).__name__, type(doc.data).__name__
        )
        raise SpecError(
            [_problem(file, doc, (), f"a spec is a mapping at the top level, not a {kind}")]
        )
    if "berth" not in doc.data:
        raise SpecError(
            [_problem(file, doc, (), "not a Berth spec: the top-level key 'berth: 1' is missing")]
        )
    spec, errors, removed = _validated(doc.data)
    located = [_problem(file, doc, loc, reason) for loc, reason in errors]
    if spec is not None:
        # The rules run on what did parse; what they say about a removed field's default is
        # not the author's problem (the field's own error already is).
        found = semantic_problems(spec) + safety_problems(spec)
        reached = fence_problems(spec, fence) + sidecar_fence_problems(spec, fence) if fence else []
        reached += schema_init_fence_problems(spec, fence) if fence else []
        reached += strategy_fence_problems(spec, fence) if fence else []
        if removed:
            found = [p for p in found if not _follows_from(p[0], removed, doc.data)]
            reached = [] if ("environment",) in removed else reached  # roles, secrets, groups
            reached = [p for p in reached if not _follows_from(p[0], removed, doc.data)]
        located += [_problem(file, doc, loc, reason) for loc, reason in found + reached]
        if not located:
            return spec
    unique = list(dict.fromkeys(located))
    raise SpecError(sorted(unique, key=_by_position))


# A required field's stand-in when its value is refused, so that the rest of the document (the
# other services, for a bad image) is still checked; problems about it are dropped with the field.
_STAND_INS: dict[Path, Any] = {("berth",): 1, ("environment",): "x", ("cluster",): "x"}
_SERVICE_STAND_INS: dict[str, Any] = {"image": "x"}
_ROUNDS = 6


def _validated(data: Any) -> tuple[Spec | None, list[tuple[Path, str]], list[Path]]:
    """Validate the document, removing each field that fails (its parent, when a field is
    required) and validating again, so that checks that only run on a valid model (the
    cross-field rules, "after" validators) still run on what did parse. Returns the spec when
    one was built, every problem with the field it is about, and the paths removed."""
    problems: list[tuple[Path, str]] = []
    removed: list[Path] = []
    for _ in range(_ROUNDS):
        try:
            return Spec.model_validate(data), problems, removed
        except ValidationError as exc:
            errors = exc.errors()
        cut: list[Path] = []
        unknown: list[Path] = []
        for error in errors:
            loc = tuple(error["loc"])
            if not removed or not _follows_from(loc, removed, data):
                problems.append((loc, _reason(error)))
            if error["type"] == "extra_forbidden":
                unknown.append(loc)  # no rule reads a field the model does not have
            else:
                cut.append(_removable(data, loc, error["type"] == "missing"))
        data, _ = _without(data, unknown)
        data, done = _without(data, cut, stand_in=True)
        if not done and not unknown:
            break
        removed += done
    return None, problems, removed


def _removable(data: Any, loc: Path, missing: bool) -> Path:
    """The part of the document to remove for an error at `loc`: the deepest part of `loc` the
    document holds (a dict key error, or a union member's name, is not a field); the parent of
    a missing field."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if not _holds(current, part):
            break
        current = current[part]
        path.append(part)
    if missing and tuple(path) == loc[:-1]:
        return (*path, loc[-1])  # _without stands in for it, or removes the parent
    return tuple(path)


# Which fields of a service each cross-field rule reads, by the field removed: a rule's problem
# about the same service at one of these fields may be a follow-on of the removal. A field not
# listed (product, a new one) may change anything in its service.
_READ_WITH: dict[str, set[str]] = {
    "cpu": {"cpu", "memory", "heap", "containers"},
    "memory": {"cpu", "memory", "heap", "containers"},
    "heap": {"heap"},
    "ports": {"ports", "loadBalancer", "loadBalancers", "containers"},
    "environment": {"environment", "secrets", "desiredCount", "schemaInit"},
    "secrets": {"environment", "secrets", "executionRoleArn", "containers", "schemaInit"},
    "image": {"image"},
    "network": {"network"},
    "loadBalancer": {"loadBalancer", "loadBalancers", "healthCheckGracePeriod", "deployment"},
    "loadBalancers": {"loadBalancer", "loadBalancers", "healthCheckGracePeriod", "deployment"},
    "healthCheck": {"healthCheck", "containers"},
    "healthCheckGracePeriod": {"healthCheckGracePeriod"},
    "dependsOn": {"dependsOn"},
    "deployment": {"deployment", "loadBalancer", "loadBalancers"},
    "desiredCount": {"desiredCount", "environment", "secrets"},
    "logGroup": {"logGroup"},
    "executionRoleArn": {"executionRoleArn"},
    "taskRoleArn": {"taskRoleArn", "containers"},
    "architecture": {"architecture"},
    "stopTimeout": {"stopTimeout"},
    "tags": set(),
    "ephemeralStorage": {"ephemeralStorage"},
    "serviceConnect": {"serviceConnect"},
}
# The same for a top-level field: the fields of every service that read it (None: all of them).
_TOP_READ_WITH: dict[str, set[str] | None] = {
    "berth": set(),
    "tags": set(),
    "cluster": {"cluster"},
    "network": {"network"},
    "logGroup": {"logGroup"},
    "environment": {"logGroup"},
    "executionRoleArn": {"executionRoleArn"},
    "taskRoleArn": {"taskRoleArn", "containers"},
    "serviceConnect": {"serviceConnect"},
}


def _follows_from(problem: Path, removed: list[Path], data: Any) -> bool:
    """Might the problem at `problem` be caused only by removing the fields at `removed`?"""
    return any(_follows(problem, path, data) for path in removed)


def _follows(problem: Path, path: Path, data: Any) -> bool:
    if problem[: len(path)] == path or not path:
        return True
    if path[0] != "services":
        read = _TOP_READ_WITH.get(str(path[0]))
        field = problem[2] if problem[:1] == ("services",) and len(problem) > 2 else problem[0]
        return read is None or field in read
    if len(path) == 1:
        return True
    if len(path) == 2:  # a whole service: the services that depend on it, and the order
        return problem == ("services",) or (
            len(problem) == 4 and problem[2] == "dependsOn" and _at(data, problem) == path[1]
        )
    if path[2] == "dependsOn" and problem == ("services",):
        return True
    if problem[:2] != path[:2]:
        return False
    read = _READ_WITH.get(str(path[2]))
    return read is None or len(problem) < 3 or problem[2] in read


def _at(data: Any, path: Path) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _without(data: Any, paths: list[Path], stand_in: bool = False) -> tuple[Any, list[Path]]:
    """A deep copy of `data` without the values at `paths` (list items from the last, so that
    indices hold). With `stand_in`, a required top-level or image field gets a stand-in value
    (_STAND_INS) and a missing one takes its parent with it; returns the paths removed or stood
    in for in their place."""
    copy = copy_module.deepcopy(data)
    done: list[Path] = []
    for path in sorted(set(paths), key=_removal_order):
        if not path:
            continue
        parent = _at(copy, path[:-1])
        key = path[-1]
        if stand_in and isinstance(parent, dict) and (stood := _stand_in(path)) is not None:
            parent[key] = stood
            done.append(path)
            continue
        if _holds(parent, key):
            parent.pop(key)
            done.append(path)
        elif stand_in and len(path) > 1:
            grand = _at(copy, path[:-2])
            if isinstance(grand, dict) and path[-2] in grand:
                grand.pop(path[-2])
                done.append(path[:-1])
    return copy, done


def _holds(container: Any, key: str | int) -> bool:
    if isinstance(container, dict):
        return key in container
    return isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container)


def _stand_in(path: Path) -> Any:
    if path in _STAND_INS:
        return _STAND_INS[path]
    if len(path) == 3 and path[0] == "services":
        return _SERVICE_STAND_INS.get(str(path[2]))
    return None


def _removal_order(path: Path) -> tuple[int, list[tuple[int, str]]]:
    # Deepest first, and within a list the highest index first.
    return -len(path), [(-p, "") if isinstance(p, int) else (0, p) for p in path]


def _by_position(problem: SpecProblem) -> tuple[int, int]:
    return problem.line or 0, problem.column or 0


def load_spec_file(path: str, fence: StageFence | None = None) -> Spec:
    """Read and validate a spec from disk."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_READ)
    except OSError as exc:
        raise SpecError([SpecProblem(path, "", f"cannot read file: {exc.strerror}")]) from None
    return parse_spec(raw, path, fence)


# Read one byte past the limit so the size error can say the file is too large.
MAX_FILE_READ = 256 * 1024 + 1
