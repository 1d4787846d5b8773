"""The sweep's verdict on a record whose ECS events never came, from what ECS says now.

A rolling deployment is judged from DescribeServices' `rolloutState`, which ECS documents for
rolling updates. A blue/green, canary or linear one is judged from its service deployment
(DescribeServiceDeployments: `decisions.service_deployments`), and only once its strategy's
schedule (`decisions.deadlines`) has passed on top of the stage's rollout timeout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.spec.deployment import Deployment
from chalicelib.values.records import DeploymentRecord, TerminalStatus

from .deadlines import deadline_minutes
from .service_deployments import service_deployment_verdict
from .stages import failure_reason


@dataclass(frozen=True)
class SweepVerdict:
    status: TerminalStatus
    reason: str
    read_causes: bool
    ecs_still_rolling: bool = False
    """ECS is still rolling the deployment out: Berth stops waiting but keeps the service's head
    on the image ECS is moving to, and corrects the record when ECS's outcome comes."""


@dataclass(frozen=True)
class Wait:
    """Leave the record as it is: ECS is still at it (rolling back) and will give the outcome."""

    reason: str


def wait_minutes(record: DeploymentRecord, deployment: Deployment | None, timeout: int) -> int:
    """How long the sweep lets `record` go without an outcome: the stage's rollout timeout, plus
    its strategy's schedule once its rollout started (`deployment`: the service's deployment
    settings in the accepted spec; None when the spec no longer has the service)."""
    if record.status == "PENDING" or deployment is None:
        return timeout
    return deadline_minutes(deployment, timeout)


def follows_service_deployment(record: DeploymentRecord, deployment: Deployment | None) -> bool:
    """Is the record judged from its service deployment rather than from `rolloutState`? ECS
    promises `rolloutState` for rolling updates only (botocore's ecs model, Deployment.
    rolloutState: "only returned for services that use the rolling update (ECS) deployment
    type"), and a blue/green, canary or linear rollback is a state of the same service
    deployment (ServiceDeploymentStatus: ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL, ...)."""
    return (
        deployment is not None
        and deployment.strategy != "rolling"
        and record.status in ("IN_PROGRESS", "ROLLING_BACK")
        and record.ecs_deployment_id is not None
    )


def service_deployment_sweep_verdict(
    record: DeploymentRecord, service_deployment: dict[str, Any], waited_minutes: int
) -> SweepVerdict | Wait:
    """How to settle a blue/green, canary or linear `record` whose schedule has passed, given
    its service deployment as DescribeServiceDeployments returns it."""
    verdict = service_deployment_verdict(service_deployment)
    if verdict.status is not None:
        failing = verdict.status in ("FAILED", "ROLLED_BACK")
        # Berth's verification, its approval gate or an alarm, with the stage, when they failed
        # it; else the reason the record got when ECS started rolling back; else ECS's words.
        explained = failure_reason(record, str(service_deployment.get("statusReason") or ""))
        kept = record.reason if record.status == "ROLLING_BACK" else ""
        reason = (explained if failing else None) or kept or (
            f"reconciled from ECS's service deployment: {verdict.reason}"
        )
        return SweepVerdict(
            verdict.status, reason,
            read_causes=failing and explained is None and record.status != "ROLLING_BACK",
        )  # fmt: skip
    if verdict.progress == "ROLLING_BACK":
        return Wait(f"{verdict.reason}; the rollback's outcome is ECS's to tell")
    return SweepVerdict(
        "TIMED_OUT",
        f"no outcome after {waited_minutes} min (the stage's timeout and the strategy's "
        f"schedule); {verdict.reason} (Berth stops waiting; ECS's outcome will correct this)",
        read_causes=True,
        ecs_still_rolling=True,
    )


def due(record: DeploymentRecord, now: datetime, timeout: timedelta) -> bool:
    """Has the record waited longer than the timeout, counted from when its rollout started (a
    service that waited for its dependency has not been rolling all that time)?"""
    since = record.started_at or record.created_at
    approval = record.approval
    if approval is not None and record.status == "IN_PROGRESS":
        # Held at an approval gate: the hook rolls it back at the deadline; ECS's rollout goes on
        # only from the approval.
        since = max(since, approval.approved_at or approval.deadline)
    return now - since >= timeout


def sweep_verdict(
    record: DeploymentRecord, deployment: dict[str, Any] | None, timeout_minutes: int
) -> SweepVerdict:
    """How to settle `record`, given its ECS deployment as DescribeServices lists it (or None)."""
    rollout = (deployment or {}).get("rolloutState")
    ecs_reason = str((deployment or {}).get("rolloutStateReason", ""))
    if record.status == "PENDING":
        # Its dependency never finished, or the event that wrote it died before starting it.
        return SweepVerdict(
            "TIMED_OUT", f"never started; still {record.reason or 'pending'}", read_causes=True
        )
    if record.status == "ROLLING_BACK":
        return SweepVerdict(
            "ROLLED_BACK", record.reason or "rolled back (reconciled)", read_causes=False
        )
    if rollout == "COMPLETED":
        return SweepVerdict("COMPLETED", f"reconciled from ECS: {ecs_reason}", read_causes=False)
    if rollout == "FAILED":
        return SweepVerdict(
            "FAILED", f"reconciled from ECS: {ecs_reason}", read_causes=True
        )
    if rollout == "IN_PROGRESS":
        return SweepVerdict(
            "TIMED_OUT",
            f"no outcome after {timeout_minutes} min; ECS says IN_PROGRESS: {ecs_reason} "
            "(Berth stops waiting; ECS's outcome will correct this)",
            read_causes=True,
            ecs_still_rolling=True,
        )
    return SweepVerdict(
        "TIMED_OUT",
        f"no outcome after {timeout_minutes} min; ECS no longer lists the deployment",
        read_causes=True,
    )
