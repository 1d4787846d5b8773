"""What ECS's own account of a service deployment (DescribeServiceDeployments) says of the
deployment record it belongs to: its outcome, or that ECS is still at it.

Blue/green, canary and linear deployments roll back as a state of the same service deployment,
not as a second deployment (botocore's ecs model, `ServiceDeploymentStatus`: PENDING,
IN_PROGRESS, SUCCESSFUL, STOP_REQUESTED, STOPPED, ROLLBACK_REQUESTED, ROLLBACK_IN_PROGRESS,
ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED; `Rollback.reason`; `ServiceDeploymentAlarms.
triggeredAlarmNames`; `ServiceDeploymentCircuitBreaker.status`), and ECS promises `rolloutState`
only for rolling updates, so for those strategies this is what Berth concludes from when events
are not enough (the sweep asks before it concludes anything). terraform-provider-aws and ecspresso
read the same API for these strategies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from chalicelib.values.records import TerminalStatus

Progress = Literal["IN_PROGRESS", "ROLLING_BACK"]


@dataclass(frozen=True)
class ServiceDeploymentVerdict:
    """Either the record's outcome (`status`) or how far ECS is (`progress`), with why."""

    reason: str
    status: TerminalStatus | None = None
    progress: Progress | None = None


# ServiceDeploymentStatus -> the record's terminal status, for the states ECS ends in.
OUTCOMES: dict[str, TerminalStatus] = {
    "SUCCESSFUL": "COMPLETED",
    "ROLLBACK_SUCCESSFUL": "ROLLED_BACK",
    "ROLLBACK_FAILED": "FAILED",
    # Stopped by a newer deployment of the same service (UpdateService while it ran): ECS says
    # STOP_REQUESTED, then STOPPED.
    "STOPPED": "SUPERSEDED",
}
ROLLING_BACK = frozenset({"ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"})
GOING = frozenset({"PENDING", "IN_PROGRESS", "STOP_REQUESTED"})


def _why(deployment: dict[str, Any]) -> str:
    """ECS's own words: the status reason, the rollback's reason, what tripped."""
    parts = [str(deployment.get("statusReason") or "").strip()]
    rollback = deployment.get("rollback") or {}
    if rollback.get("reason"):
        parts.append(f"rollback: {rollback['reason']}")
    fired = (deployment.get("alarms") or {}).get("triggeredAlarmNames") or []
    if fired:
        parts.append("alarms in ALARM: " + ", ".join(fired))
    breaker = deployment.get("deploymentCircuitBreaker") or {}
    if breaker.get("status") == "TRIGGERED":
        parts.append(
            f"circuit breaker: {breaker.get('failureCount')} of {breaker.get('threshold')} "
            "tasks failed"
        )
    stage = deployment.get("lifecycleStage")
    if stage:
        parts.append(f"at {stage}")
    return "; ".join(p for p in parts if p)


def service_deployment_verdict(deployment: dict[str, Any]) -> ServiceDeploymentVerdict:
    """The verdict on one ServiceDeployment as DescribeServiceDeployments returns it."""
    status = str(deployment.get("status") or "")
    why = _why(deployment)
    said = f"ECS says {status}" + (f": {why}" if why else "")
    if status in OUTCOMES:
        return ServiceDeploymentVerdict(said, status=OUTCOMES[status])
    if status in ROLLING_BACK:
        return ServiceDeploymentVerdict(said, progress="ROLLING_BACK")
    if status in GOING:
        return ServiceDeploymentVerdict(said, progress="IN_PROGRESS")
    # A status this botocore does not know yet: keep waiting rather than conclude.
    return ServiceDeploymentVerdict(f"ECS says {status or 'nothing'} (not a status Berth knows)",
                                    progress="IN_PROGRESS")  # fmt: skip
