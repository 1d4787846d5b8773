"""CreateService and UpdateService as AWS refuses them, against the task definition they run.

Launch type and awsvpc network, EFS on old Fargate platforms, Service Connect port names and
aliases, load balancers naming containers and ports the task definition lacks, and the
exceptions ECS answers with that moto does not define; each rule names its source.
"""

from __future__ import annotations

from typing import Any

from moto.ecs.exceptions import ECSException


class ServiceNotActiveException(ECSException):
    def __init__(self) -> None:
        super().__init__("ServiceNotActiveException", "Service was not ACTIVE.")


class PlatformTaskDefinitionIncompatibilityException(ECSException):
    def __init__(self, message: str) -> None:
        super().__init__("PlatformTaskDefinitionIncompatibilityException", message)


def platform_problem(definition: Any, launch_type: str | None, platform: str | None) -> None:
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


def service_problem(backend: Any, task_definition: str | None, launch_type: str | None,
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


def update_problem(backend: Any, service: Any, properties: dict[str, Any]) -> str | None:
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
