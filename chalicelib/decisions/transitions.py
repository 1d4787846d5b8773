"""What an "ECS Deployment State Change" means for the deployment record it is about.

ECS sends SERVICE_DEPLOYMENT_IN_PROGRESS for new deployments and for circuit-breaker rollbacks
(reason "ECS deployment circuit breaker: rolling back to deploymentId ..."), FAILED only with the
circuit breaker on, and COMPLETED for the deployment that finished, which during a rollback is
the rollback's own deployment (ECS developer guide, "service deployment state change events").
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.values.events import EcsDeploymentStateChange
from chalicelib.values.records import DeploymentRecord, Status, TerminalStatus

ROLLED_BACK_BY_BREAKER = "ECS deployment circuit breaker rolled it back"


@dataclass(frozen=True)
class Ignore:
    """Nothing to record (a plain "in progress", or an event of an unknown name)."""

    reason: str


@dataclass(frozen=True)
class RollBack:
    """The circuit breaker failed the deployment; the outcome is told once the rollback ends."""

    allowed: frozenset[Status]
    rollback_deployment_ids: list[str]
    reason: str
    read_causes: bool
    """Read the stopped tasks again: on the first rollback event, or when ECS gave a reason."""


@dataclass(frozen=True)
class Conclude:
    """The record reaches a terminal status, from one of the statuses it may be in."""

    allowed: frozenset[Status]
    status: TerminalStatus
    reason: str | None
    """The record's new reason; None keeps the one it has."""
    read_causes: bool = False


Transition = Ignore | RollBack | Conclude


AFTER_TIMEOUT = "ECS finished it after Berth had timed it out"


def rolling(record: DeploymentRecord) -> frozenset[Status]:
    """The statuses in which ECS's news about the record's own deployment still moves it: a
    record the sweep timed out while ECS was still rolling is corrected by ECS's late outcome."""
    return frozenset({"IN_PROGRESS", "TIMED_OUT"} if record.ecs_still_rolling else {"IN_PROGRESS"})


def transition_for(record: DeploymentRecord, event: EcsDeploymentStateChange) -> Transition:
    """The step `event` moves `record` by."""
    detail = event.detail
    name = detail.event_name
    target = event.rollback_target
    if name == "SERVICE_DEPLOYMENT_IN_PROGRESS" and target is None:
        return Ignore(f"{record.service} deployment {detail.deployment_id} in progress")
    # With nothing to go back to (a first deployment), the circuit breaker cannot roll back.
    can_roll_back = record.rollback_enabled and record.previous_task_definition_arn is not None
    if name == "SERVICE_DEPLOYMENT_IN_PROGRESS" or (
        name == "SERVICE_DEPLOYMENT_FAILED" and can_roll_back
    ):
        return _roll_back(record, detail.deployment_id, target, detail.reason)
    late = record.status == "TIMED_OUT"
    if name == "SERVICE_DEPLOYMENT_FAILED":
        reason = f"{AFTER_TIMEOUT}: {detail.reason}" if late else detail.reason
        return Conclude(rolling(record), "FAILED", reason, read_causes=True)
    if name == "SERVICE_DEPLOYMENT_COMPLETED":
        if detail.deployment_id != record.ecs_deployment_id:
            # Another deployment of the record's service finished: its rollback (the flow only
            # hands such an event over when ECS says so), possibly before the FAILED that
            # announced it, since EventBridge does not order events.
            first = record.status != "ROLLING_BACK"
            return Conclude(
                rolling(record) | {"ROLLING_BACK"},
                "ROLLED_BACK",
                ROLLED_BACK_BY_BREAKER if first and not record.reason else None,
                read_causes=first,
            )
        reason = f"{AFTER_TIMEOUT}: {detail.reason}" if late else detail.reason
        return Conclude(rolling(record), "COMPLETED", reason)
    return Ignore(f"unhandled ECS deployment event {name}")


def _roll_back(
    record: DeploymentRecord, deployment_id: str, target: str | None, event_reason: str
) -> RollBack:
    ids = [*record.rollback_deployment_ids, deployment_id, *([target] if target else [])]
    failure = "" if target else event_reason
    first = record.status != "ROLLING_BACK"
    if first and not record.reason:
        reason = failure or ROLLED_BACK_BY_BREAKER
    else:
        reason = failure or record.reason
    return RollBack(
        allowed=rolling(record) | {"ROLLING_BACK"},
        rollback_deployment_ids=[i for i in dict.fromkeys(ids) if i != record.ecs_deployment_id],
        reason=reason,
        read_causes=first or bool(failure),
    )
