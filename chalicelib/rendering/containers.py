"""Container definitions: the WSO2 product's (environment, secrets, ports, health check, logs,
ulimits), each sidecar's, their start order and mounts, and the task's volumes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.spec.containers import HealthCheck, Volume
from chalicelib.spec.model import Spec
from chalicelib.wso2.presets import HealthCheckPreset, heap_mib, port_name

from .images import PLACEHOLDER_DIGEST, ImageRef


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


def product_container(
    spec: Spec, name: str, image: ImageRef, account: str, region: str
) -> dict[str, Any]:
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


def sidecar_container(
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


def task_volume(name: str, volume: Volume) -> dict[str, Any]:
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
