"""Task definition rendering: a pure function of spec, service, image and account/region.

The output is the exact RegisterTaskDefinition input. Same input, byte-identical JSON: dicts are
built in a fixed order and every list that ECS treats as a set is sorted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.spec.model import Spec

from .containers import product_container, sidecar_container, task_volume
from .images import ImageRef, family


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
            product_container(spec, name, image, account, region),
            *(
                sidecar_container(spec, name, c, account, region, tracked=tracked)
                for c in sorted(svc.containers)
            ),
        ],
    }
    volumes = svc.task_volumes()
    if volumes:
        task["volumes"] = [task_volume(v, volumes[v]) for v in sorted(volumes)]
    if svc.ephemeral_storage is not None:
        task["ephemeralStorage"] = {"sizeInGiB": svc.ephemeral_storage}
    if execution_role := spec.execution_role_of(name):
        task["executionRoleArn"] = execution_role
    if task_role := spec.task_role_of(name):
        task["taskRoleArn"] = task_role
    tags = {**spec.tags, **svc.tags, "berth:environment": spec.environment, "berth:service": name}
    task["tags"] = [{"key": k, "value": v} for k, v in sorted(tags.items())]
    return task


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
