"""Live and rendered task definitions compared on what Berth owns, with ECS's documented defaults:
an unchanged spec registers nothing."""

from __future__ import annotations

import json
from typing import Any


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
