"""The sweep's verdict on a record whose ECS events never came, from what ECS says now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from chalicelib.values.records import DeploymentRecord, TerminalStatus


@dataclass(frozen=True)
class SweepVerdict:
    status: TerminalStatus
    reason: str
    read_causes: bool
    ecs_still_rolling: bool = False
    """ECS is still rolling the deployment out: Berth stops waiting but keeps the service's head
    on the image ECS is moving to, and corrects the record when ECS's outcome comes."""


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
