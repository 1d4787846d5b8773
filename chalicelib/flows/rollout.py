"""Following rollouts: ECS's own events move deployment records to their outcome.

No Lambda waits on ECS: each event is one step of a record's life (`decisions.transitions` says
which), and the sweep settles the records whose events never came (ECS delivers them on a
best-effort basis).
"""

from __future__ import annotations

from datetime import timedelta

from ..context import Berth, logger
from ..decisions.transitions import Conclude, Ignore, RollBack, transition_for
from ..events import EcsDeploymentStateChange, EcsServiceAction
from ..notifications import external_notification
from ..outcomes import Outcome, ignored
from ..records import DeploymentRecord
from .runs import causes_of, conclude

IMPAIRED = frozenset(
    {
        "SERVICE_TASK_START_IMPAIRED",
        "SERVICE_TASK_PLACEMENT_FAILURE",
        "SERVICE_TASK_CONFIGURATION_FAILURE",
        "SERVICE_DEPLOYMENT_FAILED",
    }
)


# How long an external deployment is remembered, so its repeated events are told once: ECS stops
# sending news of a deployment long before.
EXTERNAL_REMEMBERED = timedelta(days=30)


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


def on_deployment_event(berth: Berth, event: EcsDeploymentStateChange) -> list[Outcome]:
    """An "ECS Deployment State Change": move the matching record along its rollout."""
    record = _record_for(berth, event)
    if record is None:
        return _external(berth, event)
    step = transition_for(record, event)
    if isinstance(step, Ignore):
        return [ignored(step.reason, record.environment, record.service)]
    if isinstance(step, RollBack):
        return _rolling_back(berth, record, step, event.detail.reason)
    return _conclude(berth, record, step)


def _rolling_back(
    berth: Berth, record: DeploymentRecord, step: RollBack, event_reason: str
) -> list[Outcome]:
    moved = berth.store.transition(
        record,
        step.allowed,
        status="ROLLING_BACK",
        updated_at=berth.clock(),
        rollback_deployment_ids=step.rollback_deployment_ids,
        reason=step.reason,
        causes=causes_of(berth, record, step.lead_cause) if step.read_causes else record.causes,
    )
    if moved is None:
        return []
    return [
        Outcome(
            action="rolling-back",
            environment=record.environment,
            service=record.service,
            reason=event_reason,
            record_id=record.record_id,
        )
    ]


def _conclude(berth: Berth, record: DeploymentRecord, step: Conclude) -> list[Outcome]:
    changes: dict[str, object] = {}
    if step.reason is not None:
        changes["reason"] = step.reason
    if step.read_causes:
        changes["causes"] = causes_of(berth, record, step.reason or "")
    return conclude(berth, record, step.allowed, step.status, "ecs", **changes)


def _external(berth: Berth, event: EcsDeploymentStateChange) -> list[Outcome]:
    """A deployment Berth did not start: reported once per deployment id."""
    detail = event.detail
    expires = berth.clock() + EXTERNAL_REMEMBERED
    if not berth.store.claim_external(
        detail.deployment_id, event.service_arn, detail.event_name, expires
    ):
        return [ignored(f"external deployment {detail.deployment_id} already reported")]
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


def on_service_action(berth: Berth, event: EcsServiceAction) -> list[Outcome]:
    """An "ECS Service Action": keep trouble reports on the active record as causes."""
    name = event.detail.event_name
    if name not in IMPAIRED:
        return [ignored(f"{name} needs no action")]
    for record in berth.store.records_with_status("IN_PROGRESS"):
        if record.ecs_service_arn == event.service_arn:
            note = name + (f": {event.detail.reason}" if event.detail.reason else "")
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
