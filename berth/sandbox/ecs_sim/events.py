"""What the simulated ECS tells: the EventBridge events it emits and the service's own events.

ECS sends "ECS Deployment State Change" for each service deployment (SERVICE_DEPLOYMENT_IN_PROGRESS,
COMPLETED, FAILED) and "ECS Task State Change" when a task stops (ECS developer guide, "Amazon ECS
service deployment state change events", "Amazon ECS task state change events"); DescribeServices
lists the service's events ("has reached a steady state."). moto emits none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.moto_api._internal import mock_random

from berth.sandbox.ecs_sim.task_play import ESSENTIAL_EXITED, TaskPlay


@dataclass


class EmittedEvent:
    detail_type: str
    detail: dict[str, Any]
    resources: list[str]


def deployment_event(
    service: Any, deployment_id: str, name: str, reason: str, event_type: str = "INFO"
) -> EmittedEvent:
    return EmittedEvent(
        detail_type="ECS Deployment State Change",
        detail={
            "eventType": event_type,
            "eventName": name,
            "deploymentId": deployment_id,
            "updatedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "reason": reason,
        },
        resources=[service.arn],
    )


def task_stopped_event(
    task: Any, task_definition: str, play: TaskPlay, stop_code: str | None = None
) -> EmittedEvent:
    """A RunTask task stopped, told as ECS does (lastStatus STOPPED, stopCode
    EssentialContainerExited, or `stop_code` (UserInitiated for StopTask), each container's
    exitCode)."""
    stopped_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    detail = {
        "clusterArn": task.cluster_arn,
        "taskArn": task.task_arn,
        "taskDefinitionArn": task_definition,
        "group": task.group,
        "startedBy": task.started_by,
        "launchType": task.launch_type,
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": stop_code or (
            "EssentialContainerExited"
            if play.stopped_reason == ESSENTIAL_EXITED
            else "TaskFailedToStart"
        ),
        "stoppedReason": play.stopped_reason or "",
        "stoppedAt": stopped_at,
        "containers": [
            {"name": c.name, "lastStatus": "STOPPED", "taskArn": task.task_arn,
             **({"exitCode": c.exitCode} if c.exitCode is not None else {}),
             **({"reason": c.reason} if getattr(c, "reason", "") else {})}
            for c in task.containers
        ],
    }  # fmt: skip
    return EmittedEvent("ECS Task State Change", detail, [task.task_arn])


def service_event(service: Any, message: str) -> None:
    """Add an event to the service's own list, newest first, as DescribeServices shows it."""
    service.events.insert(
        0,
        {
            "id": str(mock_random.uuid4()),
            "createdAt": datetime.now(UTC),
            "message": message,
        },
    )
