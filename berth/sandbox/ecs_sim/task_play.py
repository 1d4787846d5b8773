"""How a task of one task definition runs in the sandbox, or why it stops.

Played from what the sandbox holds, as Fargate and the ECS agent would find it: an image digest
missing from ECR stops the task with CannotPullContainerError, a missing awslogs log group or
secret with ResourceInitializationError, an image pushed with BROKEN_HEALTH_MARKER fails its
container health check. The containers start in `dependsOn` order, each once its dependencies
reached their condition (START, COMPLETE, SUCCESS, HEALTHY); an image annotated with
EXIT_CODE_MARKER exits with that code once started, and a container others wait for to COMPLETE
or SUCCEED exits 0 unless its image says otherwise. A dependency that can never be met stops the
waiting container, and an essential container that stops stops the task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from graphlib import TopologicalSorter
from typing import Any

BROKEN_HEALTH_MARKER = "berth.sandbox/health-check"
EXIT_CODE_MARKER = "berth.sandbox/exit-code"
"""Image annotation: a container of this image exits with this code (a decimal) once started."""
ESSENTIAL_EXITED = "Essential container in task exited"


def _secret_exists(value_from: str) -> bool:
    """Does the Secrets Manager secret or SSM parameter an ECS `valueFrom` names exist?
    (`arn:...:secret:NAME[-suffix][:json-key:stage:version]`, `arn:...:parameter/NAME`)."""
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.ssm.models import ssm_backends

    parts = value_from.split(":")
    if len(parts) < 6:
        return False
    region, account = parts[3], parts[4]
    if parts[2] == "secretsmanager" and len(parts) >= 7:
        return parts[6] in secretsmanager_backends[account][region].secrets
    if parts[2] == "ssm" and parts[5].startswith("parameter/"):
        name = parts[5].removeprefix("parameter")
        return ssm_backends[account][region].get_parameter(name) is not None
    return False


def _satisfied(condition: str, end: ContainerEnd, healthy: bool) -> bool:
    """Is a ContainerDependency met (ECS API reference, ContainerDependency.condition)?"""
    if not end.started:
        return False
    if condition == "COMPLETE":
        return end.status == "STOPPED"
    if condition == "SUCCESS":
        return end.status == "STOPPED" and end.exit_code == 0
    if condition == "HEALTHY":
        return end.status == "RUNNING" and healthy
    return True  # START


@dataclass(frozen=True)


class ContainerEnd:
    """Where one container of a simulated task ends up."""

    status: str  # RUNNING or STOPPED
    reason: str = ""
    exit_code: int | None = None
    started: bool = True


@dataclass(frozen=True)


class TaskPlay:
    """How a task of one task definition runs in the sandbox: `stopped_reason` is None when it
    keeps running; `started` is the order its containers started in."""

    stopped_reason: str | None
    containers: dict[str, ContainerEnd]
    started: tuple[str, ...] = ()


@dataclass


class TaskPlayer:
    """Plays tasks against one region's moto ECS, ECR and CloudWatch Logs backends."""

    ecs: Any
    ecr: Any
    logs: Any

    def _image(self, uri: str) -> Any:
        repository, _, digest = uri.split("/", 1)[-1].partition("@")
        repo = self.ecr.repositories.get(repository)
        return next((i for i in (repo.images if repo else []) if i.image_digest == digest), None)

    def _annotations(self, uri: str) -> dict[str, str]:
        image = self._image(uri)
        return dict(json.loads(image.image_manifest).get("annotations", {})) if image else {}

    def play(self, task_definition_arn: str, one_off: bool = False) -> TaskPlay:
        """How tasks of this task definition run in the sandbox, or why they stop; `one_off`:
        a RunTask task, whose containers run to completion."""
        definition = self.ecs.describe_task_definition(task_definition_arn)
        containers = definition.container_definitions
        every = {c["name"]: ContainerEnd("STOPPED", "", None, started=False) for c in containers}
        missing = next((c for c in containers if self._image(c["image"]) is None), None)
        if missing is not None:
            return TaskPlay(
                "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                f"failed to resolve ref {missing['image']}: not found",
                {**every, missing["name"]: ContainerEnd(
                    "STOPPED", "CannotPullContainerError: image not found", None, False)},
            )  # fmt: skip
        resources = self._resource_failure(definition)
        if resources is not None:
            return TaskPlay(resources, every)
        return self._start(containers, one_off)

    def _resource_failure(self, definition: Any) -> str | None:
        """Fargate's stopped reason when the task's log groups or secrets are missing."""
        groups = {
            (c.get("logConfiguration") or {}).get("options", {}).get("awslogs-group")
            for c in definition.container_definitions
            if (c.get("logConfiguration") or {}).get("logDriver") == "awslogs"
        }
        missing = sorted(g for g in groups if g not in self.logs.groups)
        if missing:
            # Fargate platform 1.4's stopped reason when the awslogs group does not exist
            # (quoted in tests/fixtures/aws/README.md); ECS does not create it.
            return (
                "ResourceInitializationError: failed to validate logger args: create stream has "
                "been retried 1 times: failed to create Cloudwatch log stream: "
                "ResourceNotFoundException: The specified log group does not exist. : exit "
                "status 1"
            )
        missing_secret = next(
            (
                secret["valueFrom"]
                for c in definition.container_definitions
                for secret in c.get("secrets") or []
                if not _secret_exists(secret["valueFrom"])
            ),
            None,
        )
        if missing_secret is not None:
            # Fargate's stopped reason when the execution role cannot fetch a secret that does
            # not exist (quoted in tests/fixtures/aws/README.md, case j).
            return (
                "ResourceInitializationError: unable to pull secrets or registry auth: execution "
                "resource retrieval failed: unable to retrieve secret from asm: service call has "
                f"been retried 1 time(s): failed to fetch secret {missing_secret} from secrets "
                "manager: ResourceNotFoundException: Secrets Manager can't find the specified "
                "secret."
            )
        return None

    def _start(self, containers: list[dict[str, Any]], one_off: bool = False) -> TaskPlay:
        """Start the containers as the ECS agent orders them (ContainerDependency), then stop
        the task if an essential container stopped."""
        by_name = {c["name"]: c for c in containers}
        waited = {
            d["containerName"]
            for c in containers
            for d in c.get("dependsOn") or []
            if d.get("condition") in ("COMPLETE", "SUCCESS")
        }
        sorter = TopologicalSorter(
            {c["name"]: {d["containerName"] for d in c.get("dependsOn") or []} for c in containers}
        )
        ends: dict[str, ContainerEnd] = {}
        started: list[str] = []
        for name in sorter.static_order():
            ends[name] = self._start_one(by_name, name, ends, name in waited or one_off)
            if ends[name].started:
                started.append(name)
        essential_stopped = any(
            by_name[n].get("essential", True) and e.status == "STOPPED" for n, e in ends.items()
        )
        health = self._health_failure(containers[0], ends)
        if health is not None:
            return TaskPlay("Task failed container health checks", health, tuple(started))
        if not essential_stopped:
            return TaskPlay(None, ends, tuple(started))
        # ECS stops the task's other containers once an essential one stopped.
        stopped = ContainerEnd("STOPPED", "", 0)
        ends = {n: e if e.status == "STOPPED" else stopped for n, e in ends.items()}
        return TaskPlay(ESSENTIAL_EXITED, ends, tuple(started))

    def _start_one(
        self, by_name: dict[str, dict[str, Any]], name: str, ends: dict[str, ContainerEnd],
        waited: bool,
    ) -> ContainerEnd:  # fmt: skip
        container = by_name[name]
        for dependency in container.get("dependsOn") or []:
            target = dependency["containerName"]
            end = ends[target]
            healthy = self._healthy(by_name[target])
            if not _satisfied(dependency.get("condition", "START"), end, healthy):
                # The ECS agent's words for a dependency that can never be met; the waiting
                # container is stopped with 143 (aws/amazon-ecs-agent#3218).
                return ContainerEnd(
                    "STOPPED",
                    "CannotStartContainerError: dependency graph: failed to resolve container "
                    f"ordering dependency [{target}({by_name[target]['image']}) "
                    f"({end.status}->RUNNING) - Exit: {end.exit_code}] for target "
                    f"[{name}({container['image']}) (NONE->RUNNING)]",
                    143,
                    started=False,
                )
        marked = self._annotations(container["image"]).get(EXIT_CODE_MARKER)
        if marked is not None:
            return ContainerEnd("STOPPED", "", int(marked))
        return ContainerEnd("STOPPED", "", 0) if waited else ContainerEnd("RUNNING")

    def _healthy(self, container: dict[str, Any]) -> bool:
        annotations = self._annotations(container["image"])
        return bool(container.get("healthCheck")) and (
            annotations.get(BROKEN_HEALTH_MARKER) != "failing"
        )

    def _health_failure(
        self, product: dict[str, Any], ends: dict[str, ContainerEnd]
    ) -> dict[str, ContainerEnd] | None:
        """The product container's health check fails with the broken-health-check marker."""
        if ends[product["name"]].status != "RUNNING":
            return None
        if self._annotations(product["image"]).get(BROKEN_HEALTH_MARKER) != "failing":
            return None
        reason = "Essential container in task exited: health check failed"
        failed = ContainerEnd("STOPPED", reason, 137)
        others = {n: ContainerEnd("STOPPED", "", e.exit_code if e.status == "STOPPED" else 0)
                  for n, e in ends.items()}  # fmt: skip
        return {**others, product["name"]: failed}
