"""CreateService and UpdateService input: the service settings Berth owns, composed with the
strategies' parts (chalicelib.rendering.strategies)."""

from __future__ import annotations

from typing import Any

from chalicelib.spec.model import Spec
from chalicelib.spec.networking import LoadBalancer
from chalicelib.wso2.presets import port_name

from .strategies import RolloutRoles, advanced_configuration, deployment_configuration


def render_service_settings(
    spec: Spec, name: str, roles: RolloutRoles | None = None
) -> dict[str, Any]:
    """The service settings Berth owns, as CreateService takes them. `loadBalancers` is always
    there, empty when the spec has none: UpdateService removes load balancers only when given an
    empty list (ECS API reference, UpdateService `loadBalancers`). `roles`: the environment's
    roles for blue/green, canary and linear deployments (chalicelib.rendering.strategies)."""
    svc = spec.services[name]
    settings: dict[str, Any] = {
        "desiredCount": svc.desired_count,
        "deploymentConfiguration": {
            "minimumHealthyPercent": svc.deployment.minimum_healthy_percent,
            "maximumPercent": svc.deployment.maximum_percent,
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
    *,
    stage: str | None = None,
) -> dict[str, Any]:
    """The CreateService input for a service Berth creates (tagged as Berth's, for `stage` when
    the stage is known). The client token makes a retried CreateService for the same deployment
    record idempotent."""
    stage_tag = [{"key": "berth:stage", "value": stage}] if stage else []
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
            *stage_tag,
        ],
        "clientToken": client_token,
        **render_service_settings(spec, name, roles),
    }
