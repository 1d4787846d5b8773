"""The sweep's verdict on a record whose ECS events never came, from what ECS says now."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..records import DeploymentRecord, TerminalStatus


@dataclass(frozen=True)
class SweepVerdict:
    status: TerminalStatus
    reason: str
    read_causes: bool
    lead_cause: str = ""


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
            "FAILED", f"reconciled from ECS: {ecs_reason}", read_causes=True, lead_cause=ecs_reason
        )
    seen = f"ECS says {rollout}: {ecs_reason}" if rollout else "ECS no longer lists the deployment"
    return SweepVerdict(
        "TIMED_OUT", f"no outcome after {timeout_minutes} min; {seen}", read_causes=True
    )
