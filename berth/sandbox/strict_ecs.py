"""The sandbox's ECS refuses what AWS refuses and answers with AWS's full shapes.

moto's ECS accepts task definitions and services AWS rejects, and returns only part of what AWS
returns (see /tests/fixtures/aws/README.md). A test that passes only because moto is lenient is
a false test, so this module wraps moto's ECS backend in the sandbox:

- RegisterTaskDefinition refuses Fargate sizes outside AWS's table, Fargate definitions without
  task-level cpu, awslogs or ECR images on Fargate without an execution role, and secrets without
  an execution role, each with AWS's ClientException text; and for tasks of several containers:
  more than ten, duplicate names, no essential container, a dependsOn on a container that does
  not exist or (with COMPLETE/SUCCESS) on an essential one, a dependsOn cycle, container cpu or
  memory beyond the task's;
- what DescribeTaskDefinition returns gains the fields AWS adds (enableFaultInjection,
  requiresAttributes, registeredAt/By, hostPort/protocol defaults, systemControls);
- CreateService refuses an awsvpc task definition without networkConfiguration, a launch type
  the task definition does not support, and EFS volumes on a Fargate platform version before
  1.4.0; UpdateService refuses the launch type too, and a service that is not ACTIVE (deleted);
  both refuse load balancers naming a container or port the task definition lacks, or more than
  five target groups.
- both refuse deployment configurations ECS refuses for blue/green, canary and linear deployments
  (strategy_problem: bake times, percentages, the configuration of another strategy, load
  balancers without advancedConfiguration, Lambda hooks without target or role).

Each rule names its source. Error texts were collected from AWS's answers quoted in public issue
reports (listed in tests/fixtures/aws/README.md and beside each rule).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import UTC, datetime
from graphlib import CycleError, TopologicalSorter
from typing import Any

from moto.ecs.exceptions import EcsClientException, ECSException, InvalidParameterException


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


class ServiceNotActiveException(ECSException):
    def __init__(self) -> None:
        super().__init__("ServiceNotActiveException", "Service was not ACTIVE.")


class PlatformTaskDefinitionIncompatibilityException(ECSException):
    def __init__(self, message: str) -> None:
        super().__init__("PlatformTaskDefinitionIncompatibilityException", message)


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


def _platform_problem(definition: Any, launch_type: str | None, platform: str | None) -> None:
    """EFS volumes on Fargate need platform version 1.4.0 or later (LATEST is 1.4.0 since
    2021): on 1.3.0 CreateService answers PlatformTaskDefinitionIncompatibilityException
    (ansible-collections/community.aws#136, CircleCI-Public/aws-ecs-orb#121)."""
    efs = any("efsVolumeConfiguration" in v for v in definition.volumes or [])
    if not efs or launch_type != "FARGATE" or platform in (None, "LATEST"):
        return
    if tuple(int(p) for p in str(platform).split(".") if p.isdigit()) < (1, 4, 0):
        raise PlatformTaskDefinitionIncompatibilityException(
            "One or more of the requested capabilities are not supported."
        )


def _service_problem(backend: Any, task_definition: str | None, launch_type: str | None,
                     network_configuration: Any) -> str | None:  # fmt: skip
    if not task_definition:
        return None
    definition = backend.describe_task_definition(task_definition)
    if launch_type and launch_type not in (definition.requires_compatibilities or ["EC2"]):
        # sil-org/ecs-deploy#134, aws/aws-cli#3983
        return f"Task definition does not support launch_type {launch_type}."
    if definition.network_mode == "awsvpc" and network_configuration is None:
        # aws-actions/amazon-ecs-deploy-task-definition#616, fabfuel/ecs-deploy#133
        return "Network Configuration must be provided when networkMode 'awsvpc' is specified."
    return None


def service_connect_problem(definition: Any, connect: dict[str, Any] | None) -> str | None:
    """ServiceConnectService.portName "must match the name of one of the portMappings from all
    the containers in the task definition"; clientAliases: "The maximum number of client
    aliases that you can have in this list is 1" (ECS API reference). The wording of AWS's
    refusal is not quoted in a public report found; these texts are the sandbox's own."""
    if not connect or not connect.get("enabled"):
        return None
    names = {
        m.get("name")
        for c in definition.container_definitions
        for m in c.get("portMappings") or []
        if m.get("name")
    }
    for service in connect.get("services") or []:
        if service.get("portName") not in names:
            return (
                f"The portName {service.get('portName')} does not match any port mapping name "
                "in the task definition."
            )
        if len(service.get("clientAliases") or []) > 1:
            return "The maximum number of client aliases per Service Connect service is 1."
    return None


# "you cannot attach more than five target groups to a service" (ECS developer guide,
# "Registering multiple target groups with an Amazon ECS service").
MAX_TARGET_GROUPS = 5


def load_balancer_problem(
    definition: Any, load_balancers: list[dict[str, Any]] | None
) -> str | None:
    """What CreateService/UpdateService refuse in `loadBalancers` (moto accepts anything): the
    container must be in the task definition ("The container Frontend does not exist in the task
    definition.", aws/amazon-ecs-agent#1276) and map the port ("The container app did not have a
    container port 80 defined.", pulumi/pulumi-aws#3095; from CreateService in
    aws-samples/aws-modern-application-workshop#165); at most five target groups. The wording of
    the last refusal is the sandbox's own."""
    entries = load_balancers or []
    if len(entries) > MAX_TARGET_GROUPS:
        return f"A service can have at most {MAX_TARGET_GROUPS} target groups."
    containers = {c.get("name"): c for c in definition.container_definitions}
    for entry in entries:
        name, port = entry.get("containerName"), entry.get("containerPort")
        if name not in containers:
            return f"The container {name} does not exist in the task definition."
        ports = {m.get("containerPort") for m in containers[name].get("portMappings") or []}
        if port not in ports:
            return f"The container {name} did not have a container port {port} defined."
    return None


def _update_problem(backend: Any, service: Any, properties: dict[str, Any]) -> str | None:
    """Service Connect and load balancers of an UpdateService, against the task definition the
    service will run. Load balancers the request does not name are the service's own, checked
    against a new task definition too (Terraform reports quote the same text from "updating ECS
    Service")."""
    definition = backend.describe_task_definition(
        properties.get("task_definition") or service.task_definition
    )
    connect = properties.get("service_connect_configuration")
    balancers = properties.get("load_balancers")
    return service_connect_problem(definition, connect) or load_balancer_problem(
        definition, service.load_balancers if balancers is None else balancers
    )


def _bound(method: Callable[..., Any], args: Any, kwargs: Any) -> dict[str, Any]:
    bound = inspect.signature(method).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _update_refusal(backend: Any, service: Any, properties: dict[str, Any]) -> str | None:
    """Why ECS refuses an UpdateService: its task definition, network, Service Connect, load
    balancers or deployment configuration."""
    balancers = properties.get("load_balancers")
    return (
        _service_problem(
            backend, properties.get("task_definition"), service.launch_type,
            properties.get("network_configuration") or service.network_configuration,
        )
        or _update_problem(backend, service, properties)
        or strategy_problem(
            properties.get("deployment_configuration")
            or getattr(service, "deployment_configuration", None),
            balancers if balancers is not None else service.load_balancers,
        )
    )  # fmt: skip


def make_strict(backend: Any, account: str) -> None:
    """Wrap one moto ECS backend (a region's) so it refuses and answers as AWS does."""
    if getattr(backend, "berth_strict", False):
        return
    register: Any = backend.register_task_definition
    create: Any = backend.create_service
    update: Any = backend.update_service

    @functools.wraps(register)
    def register_task_definition(*args: Any, **kwargs: Any) -> Any:
        problem = registration_problem(_bound(register, args, kwargs))
        if problem:
            raise EcsClientException(problem)
        definition = register(*args, **kwargs)
        shape_as_aws(definition, account)
        return definition

    @functools.wraps(create)
    def create_service(*args: Any, **kwargs: Any) -> Any:
        a = _bound(create, args, kwargs)
        problem = _service_problem(
            backend, a.get("task_definition_str"), a.get("launch_type") or "EC2",
            a.get("network_configuration"),
        )  # fmt: skip
        if problem:
            raise InvalidParameterException(problem)
        if a.get("task_definition_str"):
            definition = backend.describe_task_definition(a["task_definition_str"])
            _platform_problem(definition, a.get("launch_type"), a.get("platform_version"))
            problem = load_balancer_problem(definition, a.get("load_balancers"))
            if problem:
                raise InvalidParameterException(problem)
        return create(*args, **kwargs)

    @functools.wraps(update)
    def update_service(service_properties: dict[str, Any]) -> Any:
        cluster = service_properties.get("cluster", "default")
        name = str(service_properties.get("service", "")).split("/")[-1]
        service = backend._get_service(cluster, name)
        if service.status != "ACTIVE":
            # moto updates a deleted (DRAINING/INACTIVE) service; AWS refuses: "You can't update a
            # service that's inactive." (ECS API reference, UpdateService, Errors).
            raise ServiceNotActiveException()
        problem = _update_refusal(backend, service, service_properties)
        if problem:
            raise InvalidParameterException(problem)
        return update(service_properties)

    backend.register_task_definition = register_task_definition
    backend.create_service = create_service
    backend.update_service = update_service
    backend.berth_strict = True


# ---- deployment strategies ----------------------------------------------------------------------
# ECS API reference (botocore's ecs service model): DeploymentConfiguration.bakeTimeInMinutes "You
# must provide this parameter when you use the BLUE_GREEN deployment strategy"; canaryConfiguration
# and linearConfiguration "Only valid when the deployment strategy is CANARY" / "LINEAR";
# CanaryConfiguration.canaryPercent "multiples of 0.1 from 0.1 to 100.0", LinearConfiguration.
# stepPercent "multiples of 0.1 from 3.0 to 100.0", their bake times "0 to 1440 minutes";
# DeploymentLifecycleHook.hookTargetArn "You must provide this parameter when configuring an
# AWS_LAMBDA lifecycle hook"; AdvancedConfiguration (alternate target group, production listener
# rule, role: CloudFormation's AdvancedConfiguration marks AlternateTargetGroupArn and RoleArn
# required). ECS developer guide, "Required resources for Amazon ECS blue/green deployments": an
# Application or Network Load Balancer with an alternate target group and listener rules. AWS's
# refusal texts for these were not found in public reports: the wording below is the sandbox's
# own, in the style of AWS's InvalidParameterException messages.
NON_ROLLING = frozenset({"BLUE_GREEN", "CANARY", "LINEAR"})
BAKE_MAX = 1440


def _tenths(value: Any, low: float, high: float) -> bool:
    number = float(value)
    return low <= number <= high and abs(number * 10 - round(number * 10)) < 1e-9


def _bake_problem(name: str, value: Any) -> str | None:
    if value is not None and not 0 <= int(value) <= BAKE_MAX:
        return f"{name} must be between 0 and {BAKE_MAX}."
    return None


def _configuration_problem(config: dict[str, Any], strategy: str) -> str | None:
    if strategy == "BLUE_GREEN" and config.get("bakeTimeInMinutes") is None:
        return "bakeTimeInMinutes must be specified for the BLUE_GREEN deployment strategy."
    canary = config.get("canaryConfiguration")
    linear = config.get("linearConfiguration")
    if canary is not None and strategy != "CANARY":
        return "canaryConfiguration is only valid when the deployment strategy is CANARY."
    if linear is not None and strategy != "LINEAR":
        return "linearConfiguration is only valid when the deployment strategy is LINEAR."
    if canary is not None and "canaryPercent" in canary and not _tenths(
        canary["canaryPercent"], 0.1, 100.0
    ):
        return "canaryPercent must be a multiple of 0.1 between 0.1 and 100.0."
    if linear is not None and "stepPercent" in linear and not _tenths(
        linear["stepPercent"], 3.0, 100.0
    ):
        return "stepPercent must be a multiple of 0.1 between 3.0 and 100.0."
    return (
        _bake_problem("bakeTimeInMinutes", config.get("bakeTimeInMinutes"))
        or _bake_problem("canaryBakeTimeInMinutes", (canary or {}).get("canaryBakeTimeInMinutes"))
        or _bake_problem("stepBakeTimeInMinutes", (linear or {}).get("stepBakeTimeInMinutes"))
    )


def _hooks_problem(hooks: list[dict[str, Any]]) -> str | None:
    for hook in hooks:
        if hook.get("targetType", "AWS_LAMBDA") == "AWS_LAMBDA":
            if not hook.get("hookTargetArn"):
                return "hookTargetArn must be specified for an AWS_LAMBDA lifecycle hook."
            if ":lambda:" not in str(hook["hookTargetArn"]):
                return f"hookTargetArn {hook['hookTargetArn']} is not a Lambda function ARN."
            if not hook.get("roleArn"):
                return "roleArn must be specified for an AWS_LAMBDA lifecycle hook."
        if not hook.get("lifecycleStages"):
            return "lifecycleStages must contain at least one stage."
    return None


def _balancers_problem(balancers: list[dict[str, Any]], strategy: str) -> str | None:
    for balancer in balancers:
        advanced = balancer.get("advancedConfiguration")
        if advanced is None:
            if strategy in NON_ROLLING:
                return (
                    f"advancedConfiguration must be specified for each load balancer of a "
                    f"service using the {strategy} deployment strategy."
                )
            continue
        for key in ("alternateTargetGroupArn", "productionListenerRule", "roleArn"):
            if not advanced.get(key):
                return f"advancedConfiguration.{key} must be specified."
        if advanced["alternateTargetGroupArn"] == balancer.get("targetGroupArn"):
            return "The alternate target group must be different from the target group."
    return None


def strategy_problem(
    config: dict[str, Any] | None, balancers: list[dict[str, Any]] | None
) -> str | None:
    """Why AWS refuses this deployment configuration and these load balancers (ECS's
    blue/green, canary and linear deployments); None when it accepts them."""
    config = config or {}
    strategy = str(config.get("strategy") or "ROLLING")
    problem = _configuration_problem(config, strategy)
    if problem:
        return problem
    if strategy in NON_ROLLING and not balancers:
        # Berth's sandbox plays traffic shifting through a load balancer only (Service Connect
        # blue/green is not played): without one, ECS would shift no traffic.
        return f"The {strategy} deployment strategy requires a load balancer in this sandbox."
    return _hooks_problem(config.get("lifecycleHooks") or []) or _balancers_problem(
        balancers or [], strategy
    )
