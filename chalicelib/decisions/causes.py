"""Why a deployment's tasks failed, in words: stopped tasks first, then the service's events."""

from __future__ import annotations

import re
from typing import Any

_TROUBLE = re.compile(r"fail|unable|error|unhealthy|stopped|denied", re.IGNORECASE)


def failure_causes(
    stopped_tasks: list[dict[str, Any]], service: dict[str, Any] | None, deployment_id: str | None
) -> list[str]:
    """Causes as DescribeTasks and DescribeServices tell them, each once, in order found."""
    causes: list[str] = []
    for task in stopped_tasks:
        if task.get("stoppedReason"):
            causes.append(f"task stopped: {task['stoppedReason']}")
        for container in task.get("containers", []):
            detail = container.get("reason")
            code = container.get("exitCode")
            if detail or code not in (None, 0):
                text = f"container {container.get('name')}: {detail or 'exited'}"
                causes.append(text + (f" (exit code {code})" if code is not None else ""))
    if service is not None:
        for deployment in service.get("deployments", []):
            if deployment.get("id") == deployment_id and deployment.get("failedTasks"):
                causes.append(f"{deployment['failedTasks']} task(s) failed in this deployment")
        causes += [
            f"service event: {e['message']}"
            for e in service.get("events", [])[:5]
            if _TROUBLE.search(e.get("message", ""))
        ]
    return list(dict.fromkeys(causes))
