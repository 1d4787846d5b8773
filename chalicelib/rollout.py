"""Following rollouts: ECS's own events move deployment records to their outcome.

No Lambda waits on ECS: each event is one step of a record's life, and a scheduled sweep
settles the records whose events never came (ECS delivers them on a best-effort basis).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import ecs as ecs_api
from .deploy import Finished, finish, follow_up
from .events import EcsDeploymentStateChange, EcsServiceAction
from .notify import external_notification
from .records import DeploymentRecord, Status
from .runtime import Berth, Outcome, TriggerName, ignored, logger

_IMPAIRED = {
    "SERVICE_TASK_START_IMPAIRED",
    "SERVICE_TASK_PLACEMENT_FAILURE",
    "SERVICE_TASK_CONFIGURATION_FAILURE",
    "SERVICE_DEPLOYMENT_FAILED",
}


def _service_name(service_arn: str) -> str:
    return service_arn.rsplit("/", 1)[-1]


def _record_for(berth: Berth, event: EcsDeploymentStateChange) -> DeploymentRecord | None:
    """The record an ECS deployment event is about: by deployment id, else a rollback's origin."""
    record = berth.store.record_by_ecs_deployment(event.detail.deployment_id)
    if record is not None:
        return record
    # A rollback runs as a deployment of its own, whose id Berth never saw returned: it belongs
    # to the service's record that the circuit breaker is rolling back.
    for candidate in berth.store.records_with_status("ROLLING_BACK"):
        if candidate.ecs_service_arn == event.service_arn or (
            event.detail.deployment_id in candidate.rollback_deployment_ids
        ):
            return candidate
    return None


def _causes(berth: Berth, record: DeploymentRecord, reason: str) -> list[str]:
    causes = [reason] if reason else []
    try:
        causes += ecs_api.failure_causes(
            berth.clients.ecs, record.cluster, record.service, record.ecs_deployment_id
        )
    except (ClientError, BotoCoreError) as exc:
        causes.append(f"could not read the stopped tasks: {exc}")
    return list(dict.fromkeys([*record.causes, *causes]))


def on_deployment_event(berth: Berth, event: EcsDeploymentStateChange) -> list[Outcome]:
    """An "ECS Deployment State Change": move the matching record along its rollout."""
    detail = event.detail
    record = _record_for(berth, event)
    if record is None:
        if berth.store.claim_external(detail.deployment_id, event.service_arn, detail.event_name):
            logger.info("external deployment", extra={"deployment": detail.deployment_id})
            berth.notifier.publish(external_notification(event, berth.clock()))
            return [
                Outcome(
                    action="external",
                    service=_service_name(event.service_arn),
                    reason=f"{detail.event_name} for {detail.deployment_id}, not started by Berth",
                    ecs_deployment_id=detail.deployment_id,
                )
            ]
        return [ignored(f"external deployment {detail.deployment_id} already reported")]
    now = berth.clock()
    name = detail.event_name
    if name == "SERVICE_DEPLOYMENT_IN_PROGRESS" and event.rollback_target is None:
        return [
            ignored(
                f"{record.service} deployment {detail.deployment_id} in progress",
                record.environment,
                record.service,
            )
        ]
    # With nothing to go back to (a first deployment), the circuit breaker cannot roll back.
    can_roll_back = record.rollback_enabled and record.previous_task_definition_arn is not None
    if name == "SERVICE_DEPLOYMENT_IN_PROGRESS" or (
        name == "SERVICE_DEPLOYMENT_FAILED" and can_roll_back
    ):
        # The circuit breaker failed the deployment: the outcome is told once the rollback ends.
        ids = list(
            dict.fromkeys(
                [
                    *record.rollback_deployment_ids,
                    detail.deployment_id,
                    *([event.rollback_target] if event.rollback_target else []),
                ]
            )
        )
        failure = "" if event.rollback_target else detail.reason
        first = record.status != "ROLLING_BACK"
        moved = berth.store.transition(
            record,
            {"IN_PROGRESS", "ROLLING_BACK"},
            status="ROLLING_BACK",
            updated_at=now,
            rollback_deployment_ids=[i for i in ids if i != record.ecs_deployment_id],
            reason=(failure or "ECS deployment circuit breaker rolled it back")
            if first and not record.reason
            else (failure or record.reason),
            causes=_causes(berth, record, failure) if first or failure else record.causes,
        )
        return (
            [
                Outcome(
                    action="rolling-back",
                    environment=record.environment,
                    service=record.service,
                    reason=detail.reason,
                    record_id=record.record_id,
                )
            ]
            if moved
            else []
        )
    if name == "SERVICE_DEPLOYMENT_FAILED":
        causes = _causes(berth, record, detail.reason)
        return _conclude(
            berth, record, {"IN_PROGRESS"}, "FAILED", reason=detail.reason, causes=causes
        )
    if name == "SERVICE_DEPLOYMENT_COMPLETED":
        if record.status == "ROLLING_BACK" and detail.deployment_id != record.ecs_deployment_id:
            return _conclude(berth, record, {"ROLLING_BACK"}, "ROLLED_BACK")
        return _conclude(berth, record, {"IN_PROGRESS"}, "COMPLETED", reason=detail.reason)
    return [ignored(f"unhandled ECS deployment event {name}", record.environment, record.service)]


def _conclude(
    berth: Berth,
    record: DeploymentRecord,
    allowed: set[str],
    status: Finished,
    trigger: TriggerName = "ecs",
    **changes: Any,
) -> list[Outcome]:
    """Move a record from `allowed` to a terminal `status` and announce it. If a redelivered
    event finds it there already, only redo the follow-ups (head, dependents), which an
    earlier delivery may have left undone; it is announced once."""
    now = berth.clock()
    done = berth.store.transition(
        record, allowed, status=status, updated_at=now, finished_at=now, **changes
    )
    if done is not None:
        return finish(berth, done, status, trigger)
    current = berth.store.get_record(record.environment, record.service, record.record_id)
    if current is not None and current.status == status:
        return follow_up(berth, current, status)
    return []


def on_service_action(berth: Berth, event: EcsServiceAction) -> list[Outcome]:
    """An "ECS Service Action": keep trouble reports on the active record as causes."""
    name = event.detail.event_name
    if name not in _IMPAIRED:
        return [ignored(f"{name} needs no action")]
    for record in berth.store.records_with_status("IN_PROGRESS"):
        if record.ecs_service_arn == event.service_arn:
            note = f"{name}" + (f": {event.detail.reason}" if event.detail.reason else "")
            berth.store.transition(
                record, {"IN_PROGRESS"}, causes=[*record.causes, note], updated_at=berth.clock()
            )
            return [
                Outcome(
                    action="recorded",
                    environment=record.environment,
                    service=record.service,
                    reason=note,
                    record_id=record.record_id,
                )
            ]
    return [ignored(f"{name} for a service with no Berth deployment under way")]


def sweep(berth: Berth) -> list[Outcome]:
    """Settle deployments that had no terminal event within the rollout timeout."""
    cutoff = berth.clock() - timedelta(minutes=berth.settings.rollout_timeout_minutes)
    outcomes: list[Outcome] = []
    statuses: tuple[Status, ...] = ("IN_PROGRESS", "ROLLING_BACK", "PENDING")
    for status in statuses:
        for record in berth.store.records_with_status(status, created_before=cutoff):
            outcomes += _settle(berth, record)
    return outcomes


def _settle(berth: Berth, record: DeploymentRecord) -> list[Outcome]:
    state: dict[str, Any] | None = None
    if record.ecs_deployment_id:
        try:
            state = ecs_api.deployment_state(
                berth.clients.ecs, record.cluster, record.service, record.ecs_deployment_id
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("sweep could not describe the service", extra={"error": str(exc)})
    rollout = (state or {}).get("rolloutState")
    ecs_reason = (state or {}).get("rolloutStateReason", "")
    status: Finished
    if record.status == "PENDING":
        # Its dependency never finished, or the event that wrote it died before starting it.
        status, reason = "TIMED_OUT", f"never started; still {record.reason or 'pending'}"
    elif record.status == "ROLLING_BACK":
        status, reason = "ROLLED_BACK", record.reason or "rolled back (reconciled)"
    elif rollout == "COMPLETED":
        status, reason = "COMPLETED", f"reconciled from ECS: {ecs_reason}"
    elif rollout == "FAILED":
        status, reason = "FAILED", f"reconciled from ECS: {ecs_reason}"
    else:
        seen = (
            f"ECS says {rollout}: {ecs_reason}" if rollout else "ECS no longer lists the deployment"
        )
        minutes = berth.settings.rollout_timeout_minutes
        status, reason = "TIMED_OUT", f"no outcome after {minutes} min; {seen}"
    changes: dict[str, Any] = {"reason": reason}
    if status in ("FAILED", "TIMED_OUT"):
        changes["causes"] = _causes(berth, record, ecs_reason if status == "FAILED" else "")
    return _conclude(berth, record, {record.status}, status, "sweep", **changes)
