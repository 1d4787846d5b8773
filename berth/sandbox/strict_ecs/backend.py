"""One moto ECS backend wrapped so that it refuses and answers as AWS does.

RegisterTaskDefinition, CreateService and UpdateService run the rules of `task_definitions`,
`services` and `strategies` before moto's own, and raise ECS's exception with AWS's text.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from moto.ecs.exceptions import EcsClientException, InvalidParameterException

from berth.sandbox.strict_ecs.services import (
    ServiceNotActiveException,
    load_balancer_problem,
    platform_problem,
    service_problem,
    update_problem,
)
from berth.sandbox.strict_ecs.strategies import strategy_problem
from berth.sandbox.strict_ecs.task_definitions import registration_problem, shape_as_aws


def _bound(method: Callable[..., Any], args: Any, kwargs: Any) -> dict[str, Any]:
    bound = inspect.signature(method).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _update_refusal(backend: Any, service: Any, properties: dict[str, Any]) -> str | None:
    """Why ECS refuses an UpdateService: its task definition, network, Service Connect, load
    balancers or deployment configuration."""
    balancers = properties.get("load_balancers")
    return (
        service_problem(
            backend, properties.get("task_definition"), service.launch_type,
            properties.get("network_configuration") or service.network_configuration,
        )
        or update_problem(backend, service, properties)
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
        problem = service_problem(
            backend, a.get("task_definition_str"), a.get("launch_type") or "EC2",
            a.get("network_configuration"),
        )  # fmt: skip
        if problem:
            raise InvalidParameterException(problem)
        if a.get("task_definition_str"):
            definition = backend.describe_task_definition(a["task_definition_str"])
            platform_problem(definition, a.get("launch_type"), a.get("platform_version"))
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
