"""The service deployments ECS keeps, where moto keeps fewer.

moto's CreateService drops the settings ECS keeps (deploymentConfiguration, grace period,
Service Connect) and runs none of the rules moto's backend cannot see; its UpdateService never
starts a deployment. Here CreateService keeps them, and an UpdateService that changes what runs
starts a new PRIMARY deployment (the old one turns ACTIVE), as ECS does; the scheduler plays it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from moto.ecs.exceptions import InvalidParameterException
from moto.moto_api._internal import mock_random

from berth.sandbox.strict_ecs.services import service_connect_problem
from berth.sandbox.strict_ecs.strategies import strategy_problem

_KEPT_CREATE_SETTINGS = {
    "deploymentConfiguration": "deployment_configuration",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
}


def _keep_create_settings() -> None:
    """moto's CreateService drops settings ECS keeps and DescribeServices returns: keep them."""
    from moto.ecs.responses import EC2ContainerServiceResponse

    original: Any = EC2ContainerServiceResponse.create_service
    if getattr(original, "berth_sandbox", False):
        return

    def create_service(self: Any) -> Any:
        connect = self._get_param("serviceConnectConfiguration")
        task_definition = self._get_param("taskDefinition")
        if connect is not None and task_definition:
            definition = self.ecs_backend.describe_task_definition(task_definition)
            problem = service_connect_problem(definition, connect)
            if problem:
                raise InvalidParameterException(problem)
        # moto's backend takes no deploymentConfiguration: the strategy rules run here.
        problem = strategy_problem(
            self._get_param("deploymentConfiguration"), self._get_param("loadBalancers")
        )
        if problem:
            raise InvalidParameterException(problem)
        result = original(self)
        service = result.result["service"]
        for param, attr in _KEPT_CREATE_SETTINGS.items():
            value = self._get_param(param)
            if value is not None:
                setattr(service, attr, value)
        if connect is not None:
            # moto drops it. AWS reports it on each deployment, never at the service's top level
            # (ECS API reference: Deployment.serviceConnectConfiguration, "used by this
            # deployment"; the Service shape has no such member).
            service.service_connect_configuration = connect
            for deployment in service.deployments:
                deployment["serviceConnectConfiguration"] = connect
        return result

    create_service.berth_sandbox = True  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.create_service = create_service  # type: ignore[method-assign]


_keep_create_settings()


def _redeploying_state(service: Any) -> str:
    return json.dumps(
        [service.task_definition, service.load_balancers, service.network_configuration,
         getattr(service, "service_connect_configuration", None)],
        sort_keys=True,
        default=str,
    )


def new_deployment(service: Any, task_definition: str, rollback: bool = False) -> dict[str, Any]:
    """A new PRIMARY deployment of `task_definition`; the PRIMARY one before it turns ACTIVE."""
    now = datetime.now(UTC)
    for deployment in service.deployments:
        if deployment["status"] == "PRIMARY":
            deployment["status"] = "ACTIVE"
    deployment = {
        "id": f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}",
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": service.desired_count,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "launchType": service.launch_type,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": "ECS deployment in progress."
        if not rollback
        else "ECS deployment circuit breaker: rolling back.",
    }
    connect = getattr(service, "service_connect_configuration", None)
    if connect is not None:
        deployment["serviceConnectConfiguration"] = connect
    service.deployments.insert(0, deployment)
    service.task_definition = task_definition
    return deployment


def start_deployments_on_update(ecs: Any) -> None:
    """Wrap one moto ECS backend's UpdateService so that a change of what runs starts a new
    deployment."""
    original_update: Any = ecs.update_service

    def update_service(service_properties: dict[str, Any]) -> Any:
        cluster = str(service_properties.get("cluster", "default")).split("/")[-1]
        key = f"{cluster}:{str(service_properties.get('service', '')).split('/')[-1]}"
        existing = ecs.services.get(key)
        before = _redeploying_state(existing) if existing is not None else None
        service = original_update(service_properties)
        # A new task definition, load balancers, network or Service Connect configuration
        # each start a new deployment (ECS API reference, UpdateService: "This parameter
        # triggers a new service deployment"); desired count and deployment configuration
        # do not. (moto keeps serviceConnectConfiguration as an attribute of the service;
        # DescribeServices shows it only on deployments, as AWS does.)
        if _redeploying_state(service) != before:
            new_deployment(service, service.task_definition)
        return service

    ecs.update_service = update_service
