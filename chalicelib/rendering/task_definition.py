"""Task definition rendering: a pure function of spec, service, image and account/region.

The output is the exact RegisterTaskDefinition input. Same input, byte-identical JSON: dicts are
built in a fixed order and every list that ECS treats as a set is sorted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.spec.containers import HealthCheck, Volume
from chalicelib.spec.model import Spec
from chalicelib.spec.networking import LoadBalancer
from chalicelib.wso2.presets import HealthCheckPreset, heap_mib, port_name

from .schema_init import PLAN_VARIABLE, SCRIPTS_MOUNT, schema_plan
from .strategies import RolloutRoles, advanced_configuration, deployment_configuration

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# A clearly fake digest for `berth render` without --image: it can never be pulled.
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64


@dataclass(frozen=True)
class ImageRef:
    """An image pinned by digest; the tag travels along for people."""

    repository: str
    digest: str
    tag: str | None = None

    def uri(self, account: str, region: str) -> str:
        return f"{registry_host(account, region)}/{self.repository}@{self.digest}"


def registry_host(account: str, region: str) -> str:
    host = f"{account}.dkr.ecr.{region}.amazonaws.com"
    return host + ".cn" if region.startswith("cn-") else host


def family(spec: Spec, service: str) -> str:
    return f"{spec.environment}-{service}"


def _environment(spec: Spec, name: str) -> dict[str, str]:
    svc = spec.services[name]
    preset = svc.preset
    env: dict[str, str] = dict(preset.extra_env)
    if preset.heap_ratio:
        # The sidecars' reservations are not the JVM's: the heap is a share of what is left.
        available = svc.effective_memory - svc.sidecar_memory
        heap = svc.heap or heap_mib(available, preset.heap_ratio)
        # WSO2 start scripts read JVM_MEM_OPTS; container limits alone do not size the heap.
        env["JVM_MEM_OPTS"] = f"-Xms{heap}m -Xmx{heap}m"
    env.update(svc.environment)
    return env


def _health_check(spec: Spec, name: str) -> dict[str, Any] | None:
    svc = spec.services[name]
    check = svc.health_check or svc.preset.health_check
    return _health_check_of(check) if check is not None else None


def _health_check_of(check: HealthCheck | HealthCheckPreset) -> dict[str, Any]:
    return {
        "command": list(check.command),
        "interval": check.interval,
        "timeout": check.timeout,
        "retries": check.retries,
        "startPeriod": check.start_period,
    }


def _container(spec: Spec, name: str, image: ImageRef, account: str, region: str) -> dict[str, Any]:
    svc = spec.services[name]
    preset = svc.preset
    container: dict[str, Any] = {
        "name": name,
        "image": image.uri(account, region),
        "essential": True,
        "portMappings": _port_mappings(spec, name),
        "environment": [
            {"name": k, "value": v} for k, v in sorted(_environment(spec, name).items())
        ],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(svc.secrets.items())],
        "ulimits": [{"name": "nofile", "softLimit": preset.nofile, "hardLimit": preset.nofile}],
        "stopTimeout": svc.stop_timeout or preset.stop_timeout,
        "logConfiguration": _log_configuration(spec, name, name, region),
        "dockerLabels": {
            "berth.environment": spec.environment,
            "berth.image.repository": image.repository,
            "berth.image.tag": image.tag or "",
            "berth.product": svc.product,
            "berth.service": name,
        },
    }
    health = _health_check(spec, name)
    if health is not None:
        container["healthCheck"] = health
    container.update(_ordering_and_mounts(spec, name, name))
    return container


def offers_service_connect(spec: Spec, name: str) -> bool:
    """Does this service offer ports in the environment's Service Connect namespace?"""
    svc = spec.services[name]
    offers = svc.service_connect.offers if svc.service_connect else []
    return spec.service_connect is not None and bool(offers)


def _port_mappings(spec: Spec, name: str) -> list[dict[str, Any]]:
    """The product container's ports. A service that offers ports through Service Connect names
    them: ServiceConnectService.portName "must match the name of one of the portMappings from
    all the containers in the task definition" (ECS API reference); the others render as before,
    so their task definitions do not change."""
    svc = spec.services[name]
    named = offers_service_connect(spec, name)
    mappings: list[dict[str, Any]] = []
    for port in svc.effective_ports:
        mapping: dict[str, Any] = {"containerPort": port, "hostPort": port, "protocol": "tcp"}
        if named:
            mapping["name"], protocol = port_name(svc.preset, port)
            if protocol is not None:
                mapping["appProtocol"] = protocol
        mappings.append(mapping)
    return mappings


def _log_configuration(spec: Spec, name: str, container: str, region: str) -> dict[str, Any]:
    """awslogs into the environment's group; with a FireLens router in the task, every other
    container logs through it (awsfirelens), and Fluent Bit's cloudwatch_logs output writes to
    the same group, so the log group fence holds (ECS developer guide, FireLens; Fluent Bit
    cloudwatch_logs output: log_group_name, log_stream_prefix, auto_create_group)."""
    router = spec.services[name].log_router
    group = spec.log_group_of(name)
    if router is None or container == router:
        options = {"awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": name}
        return {"logDriver": "awslogs", "options": options}
    return {
        "logDriver": "awsfirelens",
        "options": {
            "Name": "cloudwatch_logs",
            "auto_create_group": "false",
            "log_group_name": group,
            "log_stream_prefix": f"{name}/",
            "region": region,
        },
    }


def _ordering_and_mounts(spec: Spec, name: str, container: str) -> dict[str, Any]:
    """ECS `dependsOn` and `mountPoints` of one container, only when it has any: a task of one
    container renders exactly as before. In awsvpc mode containers reach each other on
    localhost; `links` exist only in bridge mode (ContainerDefinition.links), so start order is
    all a "link" needs."""
    svc = spec.services[name]
    rendered: dict[str, Any] = {}
    after = svc.start_order(name)[container]
    if after:
        rendered["dependsOn"] = [
            {"containerName": target, "condition": condition}
            for target, condition in sorted(after.items())
        ]
    mounts = svc.mounts_of(name, container)
    if mounts:
        rendered["mountPoints"] = [
            {"sourceVolume": m.volume, "containerPath": m.path, "readOnly": m.read_only}
            for m in mounts
        ]
    return rendered


def sidecar_image(
    spec: Spec, name: str, container: str, tracked: Mapping[str, ImageRef]
) -> ImageRef:
    """A sidecar's image pinned by digest: the spec's digest, or for a tracked sidecar the
    image Berth resolved (`tracked`; the never-pullable placeholder when none was given, as
    `berth render` without --image)."""
    image = spec.services[name].containers[container].image
    if image.digest is not None:
        return ImageRef(image.repository, image.digest, image.tag)
    return tracked.get(container) or ImageRef(image.repository, PLACEHOLDER_DIGEST)


def _sidecar(
    spec: Spec,
    name: str,
    container: str,
    account: str,
    region: str,
    *,
    tracked: Mapping[str, ImageRef],
) -> dict[str, Any]:
    """One more container of the service's task, its image pinned by digest."""
    sidecar = spec.services[name].containers[container]
    preset = sidecar.sidecar_preset
    image = sidecar_image(spec, name, container, tracked)
    rendered: dict[str, Any] = {
        "name": container,
        "image": image.uri(account, region),
        "essential": sidecar.effective_essential,
    }
    sizes = {
        "cpu": sidecar.cpu,
        "memory": sidecar.memory,
        "memoryReservation": sidecar.effective_memory_reservation,
    }
    rendered.update({k: v for k, v in sizes.items() if v is not None})
    rendered["portMappings"] = [
        {"containerPort": port, "hostPort": port, "protocol": "tcp"}
        for port in sidecar.effective_ports
    ]
    environment = sorted(sidecar.environment.items())
    rendered["environment"] = [{"name": k, "value": v} for k, v in environment]
    rendered["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(sidecar.secrets.items())]
    check = sidecar.health_check or (preset.health_check if preset else None)
    if check is not None:
        rendered["healthCheck"] = _health_check_of(check)
    rendered.update(_ordering_and_mounts(spec, name, container))
    rendered["logConfiguration"] = _log_configuration(spec, name, container, region)
    if sidecar.preset == "firelens":
        # ECS adds the task's metadata (cluster, task ARN, container name) to each record.
        options = {"enable-ecs-log-metadata": "true"}
        rendered["firelensConfiguration"] = {"type": "fluentbit", "options": options}
    rendered["dockerLabels"] = {
        "berth.container": container,
        "berth.environment": spec.environment,
        "berth.image.repository": image.repository,
        "berth.image.tag": image.tag or "",
        "berth.preset": sidecar.preset or "",
        "berth.service": name,
    }
    return rendered


def _volume(name: str, volume: Volume) -> dict[str, Any]:
    """A task volume: bind (task storage) or EFS (ECS API reference, Volume,
    EFSVolumeConfiguration, EFSAuthorizationConfig)."""
    if volume.efs is None:
        return {"name": name}
    efs = volume.efs
    configuration: dict[str, Any] = {"fileSystemId": efs.file_system_id}
    if efs.root_directory is not None:
        configuration["rootDirectory"] = efs.root_directory
    configuration["transitEncryption"] = "ENABLED" if efs.transit_encryption else "DISABLED"
    if efs.access_point_id is not None or efs.iam:
        authorization: dict[str, Any] = {"iam": "ENABLED" if efs.iam else "DISABLED"}
        if efs.access_point_id is not None:
            authorization["accessPointId"] = efs.access_point_id
        configuration["authorizationConfig"] = authorization
    return {"name": name, "efsVolumeConfiguration": configuration}


def render_task_definition(
    spec: Spec,
    name: str,
    image: ImageRef,
    account: str,
    region: str,
    *,
    sidecars: Mapping[str, ImageRef] | None = None,
) -> dict[str, Any]:
    """The RegisterTaskDefinition input for one service of a spec, pinned to `image`; tracked
    sidecars are pinned to `sidecars` (by container name)."""
    svc = spec.services[name]
    tracked = sidecars or {}
    launch_type = spec.launch_type_of(name)
    task: dict[str, Any] = {
        "family": family(spec, name),
        "networkMode": "awsvpc",
        "requiresCompatibilities": [launch_type],
        "cpu": str(svc.effective_cpu),
        "memory": str(svc.effective_memory),
        "runtimePlatform": {"cpuArchitecture": svc.architecture, "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [
            _container(spec, name, image, account, region),
            *(
                _sidecar(spec, name, c, account, region, tracked=tracked)
                for c in sorted(svc.containers)
            ),
        ],
    }
    volumes = svc.task_volumes()
    if volumes:
        task["volumes"] = [_volume(v, volumes[v]) for v in sorted(volumes)]
    if svc.ephemeral_storage is not None:
        task["ephemeralStorage"] = {"sizeInGiB": svc.ephemeral_storage}
    if execution_role := spec.execution_role_of(name):
        task["executionRoleArn"] = execution_role
    if task_role := spec.task_role_of(name):
        task["taskRoleArn"] = task_role
    tags = {**spec.tags, **svc.tags, "berth:environment": spec.environment, "berth:service": name}
    task["tags"] = [{"key": k, "value": v} for k, v in sorted(tags.items())]
    return task


def render_service_settings(
    spec: Spec, name: str, roles: RolloutRoles | None = None
) -> dict[str, Any]:
    """The service settings Berth owns, as CreateService takes them. `loadBalancers` is always
    there, empty when the spec has none: UpdateService removes load balancers only when given an
    empty list (ECS API reference, UpdateService `loadBalancers`). `roles`: the environment's
    roles for blue/green, canary and linear deployments (chalicelib.rendering.strategies)."""
    svc = spec.services[name]
    cb = svc.deployment.circuit_breaker
    settings: dict[str, Any] = {
        "desiredCount": svc.desired_count,
        "deploymentConfiguration": {
            "minimumHealthyPercent": svc.deployment.minimum_healthy_percent,
            "maximumPercent": svc.deployment.maximum_percent,
            "deploymentCircuitBreaker": {"enable": cb.enable, "rollback": cb.rollback},
            **deployment_configuration(spec, name, roles),
        },
        "loadBalancers": [],
    }
    network = spec.network_of(name)
    if network is not None:
        settings["networkConfiguration"] = {
            "awsvpcConfiguration": {
                "subnets": list(network.subnets),
                "securityGroups": list(network.security_groups),
                "assignPublicIp": "ENABLED" if network.assign_public_ip else "DISABLED",
            }
        }
    settings["loadBalancers"] = [
        render_load_balancer(spec, name, lb, roles) for _, lb in svc.target_groups()
    ]
    settings["serviceConnectConfiguration"] = service_connect_configuration(spec, name)
    grace = svc.health_check_grace_period
    if grace is None and svc.target_groups():
        # WSO2 servers take minutes to start: without a grace period the target group's checks
        # kill them mid-start-up (the most reported WSO2 container failure, wso2.md).
        grace = svc.preset.grace_period
    if grace is not None:
        # ECS applies the grace period to load balancer and container health checks alike
        # (ECS API reference, CreateService `healthCheckGracePeriodSeconds`).
        settings["healthCheckGracePeriodSeconds"] = grace
    return settings


def render_load_balancer(
    spec: Spec, name: str, lb: LoadBalancer, roles: RolloutRoles | None = None
) -> dict[str, Any]:
    """One entry of CreateService/UpdateService `loadBalancers` (ECS API reference,
    LoadBalancer): the product container, named as the service, at the entry's port, with its
    advancedConfiguration for blue/green, canary and linear deployments."""
    balancer: dict[str, Any] = {
        "targetGroupArn": lb.target_group_arn,
        "containerName": name,
        "containerPort": spec.services[name].target_port(lb),
    }
    if advanced := advanced_configuration(lb, roles):
        balancer["advancedConfiguration"] = advanced
    return balancer


def service_connect_configuration(spec: Spec, name: str) -> dict[str, Any]:
    """ECS ServiceConnectConfiguration of one service (ECS API reference). Berth owns it: with no
    namespace in the spec it is `enabled: false`, so a namespace removed from the spec turns
    Service Connect off. Every service of an environment with a namespace joins it (a client
    reaches every name in it); `services` are the ports it offers, each one ServiceConnectService
    (portName: the port mapping's name; discoveryName: the Cloud Map service ECS creates; one
    client alias, "The maximum number of client aliases that you can have in this list is 1",
    on the container's own port)."""
    if spec.service_connect is None:
        return {"enabled": False}
    config: dict[str, Any] = {"enabled": True, "namespace": spec.service_connect.namespace}
    svc = spec.services[name]
    # Always the list, empty for a client only: an offer removed from the spec is then one the
    # live comparison sees (decisions.changes.covers compares lists whole).
    offers = svc.service_connect.offers if svc.service_connect else []
    config["services"] = [
        {
            "portName": port_name(svc.preset, offer.port)[0],
            "discoveryName": offer.name,
            "clientAliases": [{"port": offer.port, "dnsName": offer.alias}],
        }
        for offer in offers
    ]
    return config


def create_service_request(
    spec: Spec,
    name: str,
    task_definition_arn: str,
    client_token: str,
    roles: RolloutRoles | None = None,
) -> dict[str, Any]:
    """The CreateService input for a service Berth creates (tagged as Berth's). The client token
    makes a retried CreateService for the same deployment record idempotent."""
    return {
        "cluster": spec.cluster,
        "serviceName": name,
        "taskDefinition": task_definition_arn,
        "launchType": spec.launch_type_of(name),
        "propagateTags": "TASK_DEFINITION",
        "enableECSManagedTags": True,
        # Berth changes only services whose tags say it created them for this environment.
        "tags": [
            {"key": "berth:environment", "value": spec.environment},
            {"key": "berth:service", "value": name},
        ],
        "clientToken": client_token,
        **render_service_settings(spec, name, roles),
    }


def log_groups(task: dict[str, Any]) -> set[str]:
    """The log groups a task definition's containers write to: awslogs groups, and the groups
    Fluent Bit writes to for containers that log through FireLens."""
    groups: set[str] = set()
    for container in task.get("containerDefinitions", []):
        log = container.get("logConfiguration") or {}
        options = log.get("options") or {}
        if log.get("logDriver") == "awslogs":
            groups.add(str(options["awslogs-group"]))
        elif log.get("logDriver") == "awsfirelens" and "log_group_name" in options:
            groups.add(str(options["log_group_name"]))
    return groups


def to_json(task: dict[str, Any]) -> str:
    """Canonical JSON text of a rendered task definition."""
    return json.dumps(task, indent=2, sort_keys=True)


# What Berth renders, and so all it compares: DescribeTaskDefinition also returns fields Berth
# never sets (enableFaultInjection since January 2025, requiresAttributes, compatibilities,
# registeredAt/By, revision, status, volumes, placementConstraints, container cpu 0, empty
# mountPoints/volumesFrom/systemControls: ECS API reference, DescribeTaskDefinition; see
# tests/fixtures/aws/). Keeping any of them made every comparison differ on AWS, so every upload
# redeployed. A key added to the renderer must be added here, or changes to it go unnoticed.
OWNED_TASK_KEYS = (
    "family",
    "networkMode",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "runtimePlatform",
    "executionRoleArn",
    "taskRoleArn",
    "containerDefinitions",
    "volumes",
    "ephemeralStorage",
)
OWNED_CONTAINER_KEYS = (
    "name",
    "image",
    "essential",
    "portMappings",
    "environment",
    "secrets",
    "ulimits",
    "stopTimeout",
    "logConfiguration",
    "dockerLabels",
    "healthCheck",
    "cpu",
    "memory",
    "memoryReservation",
    "dependsOn",
    "mountPoints",
    "firelensConfiguration",
)


def _port_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    # awsvpc: "the hostPort is set to the same value as the containerPort"; protocol "The default
    # is tcp" (ECS API reference, PortMapping).
    # name and appProtocol are returned as registered (PortMapping); absent ones are pruned.
    port = mapping.get("containerPort")
    return {
        "containerPort": port,
        "hostPort": mapping.get("hostPort", port),
        "protocol": mapping.get("protocol", "tcp"),
        "name": mapping.get("name"),
        "appProtocol": mapping.get("appProtocol"),
    }


def _owned_container(container: dict[str, Any]) -> dict[str, Any]:
    owned = {k: container.get(k) for k in OWNED_CONTAINER_KEYS}
    # "If the essential parameter of a container isn't specified, it's assumed to be true."
    owned["essential"] = container.get("essential", True)
    owned["portMappings"] = sorted(
        (_port_mapping(m) for m in container.get("portMappings", [])),
        key=lambda m: (m["containerPort"] or 0, m["protocol"]),
    )
    for key in ("environment", "secrets"):
        owned[key] = sorted(container.get(key) or [], key=lambda item: str(item.get("name")))
    log = container.get("logConfiguration")
    if log:
        owned["logConfiguration"] = {
            "logDriver": log.get("logDriver"),
            "options": log.get("options"),
        }
    # DescribeTaskDefinition returns container cpu 0 when none was given (tests/fixtures/aws).
    owned["cpu"] = container.get("cpu") or None
    # MountPoint.readOnly: "The default value is false."
    owned["mountPoints"] = sorted(
        (
            {"sourceVolume": m.get("sourceVolume"), "containerPath": m.get("containerPath"),
             "readOnly": bool(m.get("readOnly", False))}
            for m in container.get("mountPoints") or []
        ),
        key=lambda m: (str(m["sourceVolume"]), str(m["containerPath"])),
    )  # fmt: skip
    owned["dependsOn"] = sorted(
        container.get("dependsOn") or [], key=lambda d: str(d.get("containerName"))
    )
    return owned


def _owned_volume(volume: dict[str, Any]) -> dict[str, Any]:
    owned: dict[str, Any] = {"name": volume.get("name")}
    efs = volume.get("efsVolumeConfiguration")
    if efs:
        # EFSVolumeConfiguration: rootDirectory "If this parameter is omitted, the root of the
        # Amazon EFS volume will be used" ("/"); transitEncryption "the default value of
        # DISABLED is used"; EFSAuthorizationConfig.iam "the default value of DISABLED is used".
        authorization = efs.get("authorizationConfig") or {}
        owned["efsVolumeConfiguration"] = {
            "fileSystemId": efs.get("fileSystemId"),
            "rootDirectory": efs.get("rootDirectory") or "/",
            "transitEncryption": efs.get("transitEncryption") or "DISABLED",
            "authorizationConfig": {
                "accessPointId": authorization.get("accessPointId"),
                "iam": authorization.get("iam") or "DISABLED",
            },
        }
    return owned


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def normalise(task: dict[str, Any]) -> dict[str, Any]:
    """The part of a task definition Berth owns, with ECS's defaults applied: what rendered and
    live definitions are compared on (and what `berth diff` would show)."""
    body = {k: task.get(k) for k in OWNED_TASK_KEYS}
    body["containerDefinitions"] = sorted(
        (_owned_container(c) for c in task.get("containerDefinitions", [])),
        key=lambda c: str(c.get("name")),
    )
    body["cpu"] = str(task.get("cpu", ""))
    body["memory"] = str(task.get("memory", ""))
    body["volumes"] = sorted(
        (_owned_volume(v) for v in task.get("volumes") or []), key=lambda v: str(v["name"])
    )
    return dict(_prune(body))


def same_task_definition(live: dict[str, Any], rendered: dict[str, Any]) -> bool:
    return normalise(live) == normalise(rendered)


# ---- schema initialisation: a one-off task before a service's first deployment ----------------
# (chalicelib/rendering/schema_init.py says which scripts; issue 16). ECS API reference: RunTask,
# ContainerDefinition (entryPoint, command, dependsOn SUCCESS, user), TaskDefinition volumes.

SCHEMA_COPIER = "dbscripts"
SCHEMA_CLIENT = "schema"
STARTED_BY_SCHEMA = "berth-schema"


def schema_family(spec: Spec, service: str) -> str:
    return f"{spec.environment}-{service}-schema"


def render_schema_task_definition(
    spec: Spec, name: str, product: ImageRef, account: str, region: str
) -> dict[str, Any]:
    """The RegisterTaskDefinition input of `name`'s schema task: the product image (the build
    being deployed) copies `<HOME>/dbscripts` into a task volume and exits; then the spec's SQL
    client runs the plan (`BERTH_SCHEMA_PLAN`: `VARIABLE=SCRIPT` pairs) against the service's own
    database URLs, as the service's own database user. Raises ValueError for a service without a
    schema plan (the spec rules refuse one that asks for it and cannot have it)."""
    svc = spec.services[name]
    plan = schema_plan(svc)
    if plan is None or svc.schema_init is None:
        raise ValueError(f"service {name} has no schema initialisation")
    client = svc.schema_init.image
    logs = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": spec.log_group_of(name), "awslogs-region": region,
                    "awslogs-stream-prefix": schema_family(spec, name)},
    }  # fmt: skip
    mount = {"sourceVolume": SCHEMA_COPIER, "containerPath": SCRIPTS_MOUNT}
    variables = {var: svc.environment[var] for var, _ in plan.steps}
    variables[plan.user_variable] = svc.environment[plan.user_variable]
    variables[PLAN_VARIABLE] = plan.text
    copier = {
        "name": SCHEMA_COPIER,
        "image": product.uri(account, region),
        "essential": False,
        # Not the product's entrypoint (it would start WSO2): a copy, then exit 0. As root: the
        # volume's directory is made by ECS, not owned by the image's user.
        "entryPoint": ["sh", "-c"],
        "command": [f"cp -R {svc.preset.home}/dbscripts/. {SCRIPTS_MOUNT}/"],
        "user": "0",
        "mountPoints": [{**mount, "readOnly": False}],
        "logConfiguration": logs,
    }
    runner = {
        "name": SCHEMA_CLIENT,
        # SchemaInit refuses a tracked client image: it is always pinned by digest.
        "image": ImageRef(client.repository, client.digest or "", client.tag).uri(account, region),
        "essential": True,
        "dependsOn": [{"containerName": SCHEMA_COPIER, "condition": "SUCCESS"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(variables.items())],
        "secrets": [{"name": plan.password_secret, "valueFrom": svc.secrets[plan.password_secret]}],
        "mountPoints": [{**mount, "readOnly": True}],
        "logConfiguration": logs,
    }
    task: dict[str, Any] = {
        "family": schema_family(spec, name),
        "networkMode": "awsvpc",
        "requiresCompatibilities": [spec.launch_type_of(name)],
        "cpu": "512",
        "memory": "1024",
        "runtimePlatform": {"cpuArchitecture": svc.architecture, "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [copier, runner],
        "volumes": [{"name": SCHEMA_COPIER}],
    }
    if execution_role := spec.execution_role_of(name):
        task["executionRoleArn"] = execution_role
    tags = {**spec.tags, **svc.tags, "berth:environment": spec.environment, "berth:service": name,
            "berth:purpose": "schema"}  # fmt: skip
    task["tags"] = [{"key": k, "value": v} for k, v in sorted(tags.items())]
    return task


def schema_run_task_request(
    spec: Spec, name: str, task_definition_arn: str, client_token: str
) -> dict[str, Any]:
    """The RunTask input of `name`'s schema task: one task in the service's cluster and network,
    started by Berth (`startedBy`, at most 36 characters), its client token making a retry of
    the same record's run idempotent (RunTask clientToken)."""
    request: dict[str, Any] = {
        "cluster": spec.cluster,
        "taskDefinition": task_definition_arn,
        "count": 1,
        "launchType": spec.launch_type_of(name),
        "startedBy": STARTED_BY_SCHEMA,
        "propagateTags": "TASK_DEFINITION",
        "enableECSManagedTags": True,
        "clientToken": client_token,
    }
    network = render_service_settings(spec, name).get("networkConfiguration")
    if network is not None:
        request["networkConfiguration"] = network
    return request
