"""ECS and ECR calls Berth makes, as small functions over an injected client."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from .policy import newest, tag_matches
from .render import same_task_definition
from .spec import Spec

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecs import ECSClient


_TROUBLE = re.compile(r"fail|unable|error|unhealthy|stopped|denied", re.IGNORECASE)


@dataclass(frozen=True)
class LiveService:
    arn: str
    task_definition_arn: str
    primary_deployment_id: str | None
    primary_rollout_state: str | None
    description: dict[str, Any]


def live_service(ecs: ECSClient, cluster: str, name: str) -> LiveService | None:
    """The service as ECS runs it now, or None when it does not exist (or is being deleted)."""
    found = ecs.describe_services(cluster=cluster, services=[name]).get("services", [])
    active = [s for s in found if s.get("status") == "ACTIVE"]
    if not active:
        return None
    service = active[0]
    return LiveService(
        arn=service["serviceArn"],
        task_definition_arn=service.get("taskDefinition", ""),
        primary_deployment_id=_primary(service),
        primary_rollout_state=next(
            (
                d.get("rolloutState")
                for d in service.get("deployments", [])
                if d.get("status") == "PRIMARY"
            ),
            None,
        ),
        description=dict(service),
    )


def _primary(service: Any) -> str | None:
    return next(
        (d["id"] for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None
    )


def matches_live(ecs: ECSClient, rendered: dict[str, Any], live_arn: str | None) -> bool:
    """Does the live task definition already say what `rendered` says (compared normalised)?"""
    if not live_arn:
        return False
    live = ecs.describe_task_definition(taskDefinition=live_arn)["taskDefinition"]
    return same_task_definition(dict(live), rendered)


def register_if_changed(ecs: ECSClient, rendered: dict[str, Any], live_arn: str | None) -> str:
    """The ARN to deploy: the live one when it matches `rendered`, else a new registration."""
    if live_arn and matches_live(ecs, rendered, live_arn):
        return live_arn
    return ecs.register_task_definition(**rendered)["taskDefinition"]["taskDefinitionArn"]


def _covers(live: Any, wanted: Any) -> bool:
    """Does `live` hold every value of `wanted`? ECS adds fields of its own; lists are sets."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(_covers(live.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        if not isinstance(live, list) or len(live) != len(wanted):
            return False
        remaining = list(live)
        for item in wanted:
            found = next((x for x in remaining if _covers(x, item)), None)
            if found is None:
                return False
            remaining.remove(found)
        return True
    return bool(live == wanted)


def settings_differ(wanted: dict[str, Any], live_description: dict[str, Any]) -> bool:
    """Do the service settings Berth owns differ from the live service's?"""
    return not _covers(live_description, wanted)


def service_settings(spec: Spec, name: str) -> dict[str, Any]:
    """The CreateService/UpdateService settings Berth owns for a service."""
    svc = spec.services[name]
    cb = svc.deployment.circuit_breaker
    settings: dict[str, Any] = {
        "desiredCount": svc.desired_count,
        "deploymentConfiguration": {
            "minimumHealthyPercent": svc.deployment.minimum_healthy_percent,
            "maximumPercent": svc.deployment.maximum_percent,
            "deploymentCircuitBreaker": {"enable": cb.enable, "rollback": cb.rollback},
        },
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
    if svc.load_balancer is not None:
        settings["loadBalancers"] = [
            {
                "targetGroupArn": svc.load_balancer.target_group_arn,
                "containerName": name,
                "containerPort": svc.load_balancer.container_port or svc.preset.lb_port,
            }
        ]
        # WSO2 servers take minutes to start: without a grace period the target group's checks
        # kill them mid-start-up (the most reported WSO2 container failure, wso2.md).
        settings["healthCheckGracePeriodSeconds"] = (
            svc.health_check_grace_period
            if svc.health_check_grace_period is not None
            else svc.preset.grace_period
        )
    return settings


def apply_service(
    ecs: ECSClient, spec: Spec, name: str, task_definition_arn: str, live: LiveService | None
) -> tuple[str, str | None]:
    """Create or update the service; (service ARN, PRIMARY deployment id)."""
    settings = service_settings(spec, name)
    if live is None:
        created = ecs.create_service(
            cluster=spec.cluster,
            serviceName=name,
            taskDefinition=task_definition_arn,
            launchType=spec.launch_type_of(name),  # type: ignore[arg-type]
            propagateTags="TASK_DEFINITION",
            enableECSManagedTags=True,
            tags=[{"key": "berth:environment", "value": spec.environment}],
            **settings,
        )["service"]
        return created["serviceArn"], _primary(created)
    updated = ecs.update_service(
        cluster=spec.cluster, service=name, taskDefinition=task_definition_arn, **settings
    )["service"]
    return updated["serviceArn"], _primary(updated)


def deployment_state(
    ecs: ECSClient, cluster: str, service: str, deployment_id: str
) -> dict[str, Any] | None:
    """The deployment as DescribeServices lists it (rolloutState, reason, failedTasks)."""
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    for svc in found:
        for deployment in svc.get("deployments", []):
            if deployment.get("id") == deployment_id:
                return dict(deployment)
    return None


def failure_causes(
    ecs: ECSClient, cluster: str, service: str, deployment_id: str | None
) -> list[str]:
    """Why a deployment's tasks failed: stopped tasks' reasons, then the service's latest events."""
    causes: list[str] = []
    if deployment_id:
        arns = ecs.list_tasks(
            cluster=cluster, startedBy=deployment_id, desiredStatus="STOPPED"
        ).get("taskArns", [])
        if arns:
            for task in ecs.describe_tasks(cluster=cluster, tasks=arns[:20]).get("tasks", []):
                if task.get("stoppedReason"):
                    causes.append(f"task stopped: {task['stoppedReason']}")
                for container in task.get("containers", []):
                    detail = container.get("reason")
                    code = container.get("exitCode")
                    if detail or code not in (None, 0):
                        text = f"container {container.get('name')}: {detail or 'exited'}"
                        causes.append(text + (f" (exit code {code})" if code is not None else ""))
    found = ecs.describe_services(cluster=cluster, services=[service]).get("services", [])
    for svc in found:
        for deployment in svc.get("deployments", []):
            if deployment.get("id") == deployment_id and deployment.get("failedTasks"):
                causes.append(f"{deployment['failedTasks']} task(s) failed in this deployment")
        causes += [
            f"service event: {e['message']}"
            for e in svc.get("events", [])[:5]
            if _TROUBLE.search(e.get("message", ""))
        ]
    return list(dict.fromkeys(causes))


def newest_image(ecr: ECRClient, repository: str, track: str) -> tuple[str, str, datetime] | None:
    """(tag, digest, pushed_at) of the newest image in `repository` whose tag follows `track`."""
    candidates: dict[str, tuple[str, datetime]] = {}
    try:
        pages = ecr.get_paginator("describe_images").paginate(
            repositoryName=repository, filter={"tagStatus": "TAGGED"}
        )
        for page in pages:
            for image in page.get("imageDetails", []):
                for tag in image.get("imageTags", []):
                    if tag_matches(tag, track):
                        candidates[tag] = (image["imageDigest"], image["imagePushedAt"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "RepositoryNotFoundException":
            return None
        raise
    chosen = newest([(t, when) for t, (_, when) in candidates.items()])
    if chosen is None:
        return None
    digest, pushed_at = candidates[chosen]
    return chosen, digest, pushed_at
