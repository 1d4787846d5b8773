"""WSO2 product presets: the container facts Berth renders for each product.

One source of truth for ports, health checks, sizing and start-up timing; the Dockerfiles under
`docker/` are tested against these values. Sources are named next to each fact (see
docs/wso2.md, "Products and images", for the long form).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Product = Literal["wso2am", "wso2mi", "wso2ei", "generic"]
SidecarPresetName = Literal["firelens", "otel-collector", "keystore-init"]
# ECS ContainerDependency.condition (ECS API reference, ContainerDependency).
Condition = Literal["START", "COMPLETE", "SUCCESS", "HEALTHY"]
# PortMapping.appProtocol (ECS API reference): "This parameter only applies to Service Connect";
# without it the proxy handles the port as TCP. Only plain HTTP ports get `http`: on a TLS port
# (9443, 8243, 8253, 9164) the proxy cannot read HTTP, so those stay TCP and TLS passes through.
AppProtocol = Literal["http", "http2", "grpc"]


@dataclass(frozen=True)
class HealthCheckPreset:
    command: tuple[str, ...]
    interval: int
    timeout: int
    retries: int
    start_period: int


@dataclass(frozen=True)
class ProductPreset:
    product: Product
    title: str
    ports: dict[int, str]
    """Container ports with their meaning, in the order they are rendered."""
    lb_port: int | None
    """The port a load balancer fronts by default."""
    health_check: HealthCheckPreset | None
    health_path: str | None
    """The HTTP path a load balancer probes (docs/wso2.md "Health checks and the load
    balancer"); for MI it differs from the container health check."""
    cpu: int
    memory: int
    heap_ratio: float
    """Share of container memory given to the JVM heap; the rest is metaspace, threads, off-heap."""
    stop_timeout: int
    grace_period: int
    """healthCheckGracePeriodSeconds for services behind a load balancer."""
    nofile: int = 65535
    home: str = ""
    uid: int = 0
    extra_env: dict[str, str] = field(default_factory=dict)
    port_names: dict[int, tuple[str, AppProtocol | None]] = field(default_factory=dict)
    """Port -> its portMappings name and appProtocol, rendered when the service offers ports
    through Service Connect (which selects a port by its name)."""
    config_volume: str | None = None
    """WSO2's entrypoint copies this folder over the product home at start (wso2/docker-apim
    docker-entrypoint.sh; docs/wso2.md "Products and images"): where a shared volume can hand
    files to the product without a wrapper."""


def _curl(url: str) -> tuple[str, ...]:
    # Ubuntu variants of the WSO2 images ship curl (docs/wso2.md "Products and images").
    return ("CMD-SHELL", f"curl --silent --fail --insecure {url} > /dev/null || exit 1")


# The same folder in WSO2's APIM, MI and EI 6.6 images (their docker-entrypoint.sh).
WSO2_CONFIG_VOLUME = "/home/wso2carbon/wso2-config-volume"

PRESETS: dict[Product, ProductPreset] = {
    # APIM 4.x: ports from wso2/docker-apim and the APIM docs; readiness path from helm-apim;
    # start-up takes about 3 minutes (users report 2-5), so use ECS's maximum startPeriod (300 s).
    "wso2am": ProductPreset(
        product="wso2am",
        title="WSO2 API Manager",
        ports={
            9443: "HTTPS servlet: Publisher, Developer Portal, Admin, REST APIs",
            8243: "Gateway HTTPS",
            8280: "Gateway HTTP",
            9763: "HTTP servlet",
        },
        lb_port=8243,
        # PortMapping.name: "up to 64 characters ... lowercase letters, numbers, underscores (_),
        # and hyphens (-). The name can't start with a hyphen" (ECS API reference, PortMapping).
        port_names={
            9443: ("servlet-https", None),
            8243: ("gateway-https", None),
            8280: ("gateway-http", "http"),
            9763: ("servlet-http", "http"),
            # The two-node pattern's ports, named as helm-apim's per-node services name them
            # (all-in-one/templates/am/instance-1/wso2am-service.yaml: jms-tcp 5672, binary 9611,
            # binary-secure 9711); TCP, not HTTP.
            5672: ("jms-tcp", None),
            9611: ("binary", None),
            9711: ("binary-secure", None),
        },
        # Liveness is the servlet's /services/Version on 9763, readiness the gateway's startup
        # health check: helm-apim's all-in-one probes (templates/am/instance-1/
        # wso2am-deployment.yaml: livenessProbe httpGet /services/Version on 9763,
        # readinessProbe /api/am/gateway/v2/server-startup-healthcheck on 9443), as WSO2's
        # compose checks /services/Version too. The startup check answers 500 while no API is
        # deployed (wso2/api-manager#3359): as ECS's container check it would restart a healthy
        # node; it stays the load balancer's and the verification hook's (health_path).
        health_check=HealthCheckPreset(
            command=_curl("http://localhost:9763/services/Version"),
            interval=30,
            timeout=10,
            retries=5,
            start_period=300,
        ),
        health_path="/api/am/gateway/v2/server-startup-healthcheck",
        cpu=2048,
        memory=4096,
        # helm-apim 4.7: 2 GiB heap; on a 4 GiB Fargate task that is half the memory.
        heap_ratio=0.5,
        # APIM 4.7's entrypoint traps SIGTERM and shuts down cleanly; Fargate allows at most 120 s.
        stop_timeout=120,
        grace_period=300,
        home="/home/wso2carbon/wso2am-4.7.0",
        uid=10001,
        config_volume=WSO2_CONFIG_VOLUME,
    ),
    # Micro Integrator 4.x, port 9201: /liveness answers while the server runs; /healthz only once
    # every CApp is deployed. wso2/helm-mi (mi/templates/mi-deployment.yaml) probes /liveness for
    # liveness and /healthz for readiness: as ECS's container check, /healthz would stop the task
    # whenever one CApp is faulty and ECS would replace it endlessly. So the container checks
    # /liveness and the load balancer probes /healthz (health_path), which takes a task out of
    # rotation without killing it. Calling 9201 before start-up completes can kill MI's internal
    # listener: keep a start period.
    "wso2mi": ProductPreset(
        product="wso2mi",
        title="WSO2 Micro Integrator",
        ports={
            8290: "HTTP pass-through",
            8253: "HTTPS pass-through",
            9201: "internal HTTP API (/healthz, /liveness)",
            9164: "HTTPS management API",
        },
        lb_port=8253,
        port_names={
            8290: ("passthrough-http", "http"),
            8253: ("passthrough-https", None),
            9201: ("internal-http", "http"),
            9164: ("management-https", None),
        },
        health_check=HealthCheckPreset(
            command=_curl("http://localhost:9201/liveness"),
            interval=10,
            timeout=5,
            retries=3,
            start_period=60,
        ),
        health_path="/healthz",
        cpu=1024,
        memory=2048,
        # helm-mi: heap equal to the limit risks OOM kills; docs/wso2.md: at most about 70 %.
        heap_ratio=0.6,
        # WSO2's MI entrypoint has no SIGTERM trap; Berth's (docker/mi/berth-entrypoint.sh) runs
        # MI's own stop on SIGTERM, which must finish before ECS SIGKILLs after stopTimeout.
        stop_timeout=30,
        grace_period=120,
        home="/home/wso2carbon/wso2mi-4.4.0",
        uid=10802,
        config_volume=WSO2_CONFIG_VOLUME,
        # No JAVA_OPTS=-DforceConfigUpdate: it appears in no WSO2 source, and WSO2's config mapper
        # applies deployment.toml on every fresh container anyway (wso2/config-mapper
        # ConfigParser.java; docs/wso2.md "Stopping and restarting").
    ),
    # EI 6.6 integrator profile: WSO2's EC2 CloudFormation probes /services/Version.
    "wso2ei": ProductPreset(
        product="wso2ei",
        title="WSO2 Enterprise Integrator 6.x",
        ports={
            8280: "HTTP pass-through",
            8243: "HTTPS pass-through",
            9443: "HTTPS management console",
        },
        lb_port=8243,
        port_names={
            8280: ("passthrough-http", "http"),
            8243: ("passthrough-https", None),
            9443: ("console-https", None),
        },
        health_check=HealthCheckPreset(
            command=_curl("http://localhost:8280/services/Version"),
            interval=15,
            timeout=5,
            retries=4,
            start_period=180,
        ),
        health_path="/services/Version",
        cpu=1024,
        memory=3072,
        heap_ratio=0.6,
        stop_timeout=60,
        grace_period=240,
        home="/home/wso2carbon/wso2ei-6.6.0",
        uid=802,
        config_volume=WSO2_CONFIG_VOLUME,
    ),
    "generic": ProductPreset(
        product="generic",
        title="container",
        ports={},
        lb_port=None,
        health_check=None,
        health_path=None,
        cpu=512,
        memory=1024,
        heap_ratio=0.0,
        stop_timeout=30,
        grace_period=60,
    ),
}



# ---- sidecar presets ------------------------------------------------------------------------


@dataclass(frozen=True)
class SidecarPreset:
    """What a common sidecar needs in the task, so that an operator does not hand-write it. The
    image is always the spec's (pinned by digest, from the stage's repositories)."""

    name: SidecarPresetName
    title: str
    essential: bool
    memory_reservation: int | None
    ports: tuple[int, ...] = ()
    health_check: HealthCheckPreset | None = None
    product_waits_for: Condition | None = None
    """The product container starts only once this container reached this condition."""
    mount: str | None = None
    """Where the preset's own shared volume is mounted in this container (keystore-init)."""


# keystore-init's shared volume, and what the product sees of it: WSO2's entrypoint copies the
# config volume over the product home, so stores written here land in
# repository/resources/security, the same path in APIM, MI and EI (docs/wso2.md "Keystores").
KEYSTORE_VOLUME = "berth-keystores"
KEYSTORE_INIT_PATH = "/keystores"
KEYSTORE_PRODUCT_PATH = "repository/resources/security"

SIDECAR_PRESETS: dict[SidecarPresetName, SidecarPreset] = {
    # FireLens with Fluent Bit (ECS developer guide, "Send Amazon ECS logs to an AWS service or
    # AWS Partner"): the router is essential (without it the other containers' logs are lost),
    # AWS's examples reserve 50 MiB for it, and every other container of the task logs through
    # it (awsfirelens) and starts after it.
    "firelens": SidecarPreset(
        name="firelens",
        title="FireLens log router (Fluent Bit)",
        essential=True,
        memory_reservation=50,
    ),
    # AWS Distro for OpenTelemetry collector: OTLP on 4317 (gRPC) and 4318 (HTTP), reachable as
    # localhost from the task's other containers (awsvpc). Its image ships a /healthcheck binary
    # for ECS container health checks (aws-observability/aws-otel-collector, cmd/healthcheck).
    # Not essential: losing telemetry must not stop the API gateway.
    "otel-collector": SidecarPreset(
        name="otel-collector",
        title="OpenTelemetry collector (ADOT)",
        essential=False,
        memory_reservation=256,
        ports=(4317, 4318),
        health_check=HealthCheckPreset(
            command=("CMD", "/healthcheck"), interval=30, timeout=5, retries=3, start_period=10
        ),
        product_waits_for="START",
    ),
    # Writes the operator's keystore and truststore (Secrets Manager, base64) into a volume the
    # product reads through WSO2's config volume, then exits 0. ECS requires a container others
    # wait for with SUCCESS to be non-essential ("A dependency container with SUCCESS or COMPLETE
    # condition cannot be an essential container", RegisterTaskDefinition).
    "keystore-init": SidecarPreset(
        name="keystore-init",
        title="keystore init container",
        essential=False,
        memory_reservation=64,
        product_waits_for="SUCCESS",
        mount=KEYSTORE_INIT_PATH,
    ),
}

def port_name(preset: ProductPreset, port: int) -> tuple[str, AppProtocol | None]:
    """A port's portMappings name and appProtocol: the preset's, else `port-<number>`."""
    return preset.port_names.get(port, (f"port-{port}", None))


# What each image requires from a spec (the encryption key among APIM's) is in wso2_contract.py.


def heap_mib(memory_mib: int, ratio: float) -> int:
    """JVM heap for a container: the ratio of its memory, rounded down to 64 MiB."""
    return max(256, int(memory_mib * ratio) // 64 * 64)
