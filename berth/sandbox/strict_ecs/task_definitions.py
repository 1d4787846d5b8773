"""RegisterTaskDefinition as AWS refuses it, and DescribeTaskDefinition as AWS answers it.

The rules for one task definition (Fargate sizes, execution role, the set of containers and their
dependsOn graph), each with the AWS text and the public report it was collected from; and the
fields AWS adds to what it returns, which moto leaves out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from graphlib import CycleError, TopologicalSorter
from typing import Any


def _steps(low: int, high: int, step: int) -> frozenset[int]:
    return frozenset(range(low, high + 1, step))


# AWS Fargate "Task CPU and memory" table (ECS developer guide): cpu units -> memory MiB allowed.
# Written out here independently of chalicelib.spec.rules.services, so that a mistake in Berth's
# own table shows up in the sandbox instead of being agreed with.
FARGATE_SIZES: dict[int, frozenset[int]] = {
    256: frozenset({512, 1024, 2048}),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}
REGISTERED_BY = "arn:aws:sts::{account}:assumed-role/berth-sandbox/berth"


def _fargate_size_problem(cpu: str | None, memory: str | None) -> str | None:
    if not cpu:
        # mongodb/terraform-aws-ecs-task-definition#38
        return "Fargate requires that 'cpu' be defined at the task level."
    if int(memory or 0) not in FARGATE_SIZES.get(int(cpu), frozenset()):
        # aws-games/cloud-game-development-toolkit#737 (2025)
        return (
            f"No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. "
            "See the Amazon ECS documentation for the valid values."
        )
    return None


MAX_CONTAINERS = 10  # ECS service quota "Containers per task definition" (not adjustable)


def _dependency_problem(containers: list[dict[str, Any]]) -> str | None:
    by_name = {c.get("name"): c for c in containers}
    for container in containers:
        for dependency in container.get("dependsOn") or []:
            target = by_name.get(dependency.get("containerName"))
            if target is None:
                # AWS's text, "+" included (eagletmt/hako#99)
                return (
                    f"Cannot depend on container + '{dependency.get('containerName')}' because "
                    "it does not exist"
                )
            if dependency.get("condition") in ("COMPLETE", "SUCCESS") and target.get(
                "essential", True
            ):
                # boto/boto3#2436, compose-x/ecs_composex#302
                return (
                    "A dependency container with SUCCESS or COMPLETE condition cannot be an "
                    "essential container"
                )
    graph = {c.get("name"): {d.get("containerName") for d in c.get("dependsOn") or []}
             for c in containers}  # fmt: skip
    try:
        TopologicalSorter(graph).prepare()
    except CycleError:
        # AWS's wording for a dependsOn cycle was not found in public reports; this is the
        # sandbox's own, in AWS's style (links: "Container links should not have a cycle").
        return "Container dependencies should not have a cycle"
    return None


def _resources_problem(arguments: dict[str, Any], containers: list[dict[str, Any]]) -> str | None:
    cpu = int(arguments.get("cpu") or 0)
    if cpu and sum(int(c.get("cpu") or 0) for c in containers) > cpu:
        # aws/aws-cdk#1553
        return (
            "The sum of all container 'cpu' values cannot be greater than the value of the task "
            "'cpu'."
        )
    memory = int(arguments.get("memory") or 0)
    for container in containers:
        if memory and int(container.get("memory") or 0) > memory:
            # pulumi/pulumi-awsx#188
            name = container.get("name")
            return f"The 'memory' setting for container '{name}' is greater than for the task."
    return None


def containers_problem(arguments: dict[str, Any]) -> str | None:
    """Why AWS refuses this task definition's set of containers, in AWS's words."""
    containers = arguments.get("container_definitions") or []
    if len(containers) > MAX_CONTAINERS:
        return "Too many containers."  # aws/amazon-ecs-cli#184
    names = [c.get("name") for c in containers]
    if len(set(names)) != len(names):
        return "Container names must be unique within a Task Definition."  # Shippable/support#2946
    if containers and not any(c.get("essential", True) for c in containers):
        return "Task definition doesn't have any essential container."  # eagletmt/hako#68
    return _dependency_problem(containers) or _resources_problem(arguments, containers)


def registration_problem(arguments: dict[str, Any]) -> str | None:
    """Why AWS would refuse this RegisterTaskDefinition, in AWS's words; None if it accepts it."""
    containers = arguments.get("container_definitions") or []
    execution_role = arguments.get("execution_role_arn")
    problem = containers_problem(arguments)
    if problem:
        return problem
    if any(c.get("secrets") for c in containers) and not execution_role:
        # fabfuel/ecs-deploy#87, sil-org/ecs-deploy#179
        return (
            "When you are specifying container secrets, you must also specify a value for "
            "'executionRoleArn'."
        )
    if "FARGATE" not in (arguments.get("requires_compatibilities") or []):
        return None
    size = _fargate_size_problem(arguments.get("cpu"), arguments.get("memory"))
    if size:
        return size
    if not execution_role:
        drivers = {(c.get("logConfiguration") or {}).get("logDriver") for c in containers}
        if "awslogs" in drivers:
            # virtual-kubelet/virtual-kubelet#193, aws/aws-cdk#1279
            return (
                "Fargate requires task definition to have execution role ARN to support log "
                "driver awslogs."
            )
        if any(".dkr.ecr." in str(c.get("image", "")) for c in containers):
            return (
                "Fargate requires task definition to have execution role ARN to support ECR "
                "images."
            )
    return None


def _requires_attributes(definition: Any) -> list[dict[str, str]]:
    """What AWS computes into requiresAttributes (observed mapping; tests/fixtures/aws/README)."""
    names = {"com.amazonaws.ecs.capability.docker-remote-api.1.18"}
    if definition.network_mode == "awsvpc":
        names.add("ecs.capability.task-eni")
    if getattr(definition, "task_role_arn", None):
        names.add("com.amazonaws.ecs.capability.task-iam-role")
    for container in definition.container_definitions:
        if (container.get("logConfiguration") or {}).get("logDriver") == "awslogs":
            names |= {
                "com.amazonaws.ecs.capability.logging-driver.awslogs",
                "ecs.capability.execution-role-awslogs",
                "com.amazonaws.ecs.capability.docker-remote-api.1.19",
            }
        if ".dkr.ecr." in str(container.get("image", "")):
            names |= {
                "com.amazonaws.ecs.capability.ecr-auth",
                "ecs.capability.execution-role-ecr-pull",
            }
        if container.get("healthCheck"):
            names |= {
                "ecs.capability.container-health-check",
                "com.amazonaws.ecs.capability.docker-remote-api.1.29",
            }
        for secret in container.get("secrets") or []:
            kind = "asm" if ":secretsmanager:" in secret.get("valueFrom", "") else "ssm"
            names.add(f"ecs.capability.secrets.{kind}.environment-variables")
    return [{"name": n} for n in sorted(names)]


def shape_as_aws(definition: Any, account: str) -> None:
    """Give a moto task definition the fields AWS's DescribeTaskDefinition returns."""
    definition.enable_fault_injection = False  # returned since January 2025 (ECS API reference)
    definition.requires_attributes = _requires_attributes(definition)
    definition.registered_at = datetime.now(UTC)
    definition.registered_by = REGISTERED_BY.format(account=account)
    definition.compatibilities = sorted({*definition.compatibilities, "MANAGED_INSTANCES"})
    for container in definition.container_definitions:
        for mapping in container.get("portMappings") or []:
            # awsvpc: hostPort = containerPort; "The default is tcp" (ECS API reference).
            mapping.setdefault("hostPort", mapping.get("containerPort"))
            mapping.setdefault("protocol", "tcp")
        container.setdefault("systemControls", [])
        container.setdefault("essential", True)
        container.setdefault("cpu", 0)
