"""Following rollouts: ECS's own events move deployment records to their outcome.

No Lambda waits on ECS: each event is one step of a record's life (`decisions.transitions` says
which), and the sweep settles the records whose events never came (ECS delivers them on a
best-effort basis).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.context import Berth, logger
from chalicelib.decisions.stages import explained, stage_line, with_line
from chalicelib.decisions.sweep import (
    SweepVerdict,
    follows_service_deployment,
    service_deployment_sweep_verdict,
)
from chalicelib.decisions.transitions import Conclude, Ignore, RollBack, transition_for
from chalicelib.errors import AwsCallFailed
from chalicelib.spec.model import Spec
from chalicelib.values.events import EcsDeploymentStateChange, EcsServiceAction
from chalicelib.values.notifications.deployments import external_notification
from chalicelib.values.outcomes import Outcome, ignored
from chalicelib.values.records import ACTIVE, DeploymentRecord

from .runs.finish import StaleCopy, causes_of, conclude
from .runs.shared import Known

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


class EventBeforeItsRecord(Exception):
    """ECS told of a deployment of a service Berth is deploying before Berth recorded the
    deployment's id (the write after UpdateService is in flight, or failed and will be retried):
    Lambda retries the event. A retry signal, not a user error."""


def _service_of(service_arn: str) -> tuple[str, str]:
    """(cluster, service) of a long-format service ARN."""
    parts = service_arn.split(":service/", 1)[-1].split("/")
    return (parts[0], parts[-1]) if len(parts) > 1 else ("", parts[-1])


def _owner_of(berth: Berth, service_arn: str) -> DeploymentRecord | None:
    """The active record of the Berth service an ARN names, read through its head with strongly
    consistent reads (the indexes may not have caught up with a record just written)."""
    cluster, name = _service_of(service_arn)
    for accepted in berth.store.accepted_specs():
        services = accepted.document.get("services")
        if accepted.document.get("cluster") != cluster or not isinstance(services, dict):
            continue
        if name not in services:
            continue
        head = berth.store.get_head(accepted.environment, name)
        if head.active_record_id is None:
            continue
        record = berth.store.get_record(accepted.environment, name, head.active_record_id)
        if record is not None and (record.status in ACTIVE or record.ecs_still_rolling):
            return record
    return None


def _environment_of(berth: Berth, cluster: str) -> str | None:
    """The one environment the stage binds `cluster` to (its environments file's `clusters`),
    if any."""
    fence = berth.settings.fence
    declared = fence.clusters if fence else {}
    bound = [env for env, clusters in declared.items() if cluster in clusters]
    return bound[0] if len(bound) == 1 else None


def _through_head(
    berth: Berth, event: EcsDeploymentStateChange
) -> tuple[DeploymentRecord, Known, bool] | None:
    """The record of the deployment an event is about, found through its service's head: the
    event names the cluster and service, the stage binds the cluster to one environment. One
    consistent Query (which also returns who waits for the service), instead of an eventually
    consistent index lookup; the record is the head's copy when it holds one of this deployment
    (True: every write based on it is conditioned on the record being unchanged since), else
    read (a GetItem, as before the copy was kept)."""
    cluster, name = _service_of(event.service_arn)
    environment = _environment_of(berth, cluster)
    if environment is None:
        return None
    head, waiters = berth.store.head_and_waiters(environment, name)
    copy = head.copy_of_active
    if copy is not None and copy.ecs_deployment_id == event.detail.deployment_id:
        return copy, (head, waiters), True
    found = _read_active(berth, event, (head, waiters))
    return (*found, False) if found is not None else None


def _read_active(
    berth: Berth, event: EcsDeploymentStateChange, known: Known
) -> tuple[DeploymentRecord, Known] | None:
    """The record the head names, read (consistently), if the event is about its deployment."""
    head = known[0]
    if head.active_record_id is None:
        return None
    record = berth.store.get_record(head.environment, head.service, head.active_record_id)
    if record is None or record.ecs_deployment_id != event.detail.deployment_id:
        return None
    return record, known


def _record_for(berth: Berth, event: EcsDeploymentStateChange) -> DeploymentRecord | None:
    """The record an ECS deployment event is about: by deployment id, else a rollback's origin,
    else the service's active record; None for a deployment Berth did not start."""
    deployment_id = event.detail.deployment_id
    record = berth.store.record_by_ecs_deployment(deployment_id)
    if record is not None:
        return record
    # A rollback runs as a deployment of its own, whose id Berth never saw returned: it belongs
    # to the service's record that the circuit breaker is rolling back.
    for candidate in berth.store.records_with_status("ROLLING_BACK"):
        if candidate.ecs_service_arn == event.service_arn or (
            deployment_id in candidate.rollback_deployment_ids
        ):
            return candidate
    owner = _owner_of(berth, event.service_arn)
    if owner is None:
        return None
    if owner.ecs_deployment_id in (deployment_id, None) or owner.status == "ROLLING_BACK":
        if owner.ecs_deployment_id is None:
            raise EventBeforeItsRecord(
                f"{owner.target}: ECS reported {deployment_id} before Berth recorded it; retry"
            )
        return owner
    return owner if _rolled_back_to(berth, owner, deployment_id) else None


def _rolled_back_to(berth: Berth, record: DeploymentRecord, deployment_id: str) -> bool:
    """Is `deployment_id` the circuit breaker's rollback of `record`? EventBridge does not
    order events, so the rollback's COMPLETED can come before the FAILED that announced it; ECS
    then says the record's deployment failed (or dropped it) and the other one runs the
    previous task definition."""
    ours = berth.ecs.deployment(record.cluster, record.service, record.ecs_deployment_id or "")
    theirs = berth.ecs.deployment(record.cluster, record.service, deployment_id)
    return (
        (ours is None or ours.get("rolloutState") == "FAILED")
        and theirs is not None
        and theirs.get("taskDefinition") == record.previous_task_definition_arn
    )


RECENT_RECORDS = 3
"""How many of a service's newest records a repeated event is matched against."""


def _concluded_for(berth: Berth, event: EcsDeploymentStateChange) -> DeploymentRecord | None:
    """A record Berth already concluded that a repeated or late event is about, read from the
    service's newest records (the table itself, not the by-ecs-deployment index, which may not
    have caught up). EventBridge delivers at least once: the rollback's COMPLETED carries the
    rollback deployment's own id, which no record holds, and once the record is ROLLED_BACK no
    head points at it; only ECS then tells that deployment is the rollback."""
    cluster, name = _service_of(event.service_arn)
    environment = _environment_of(berth, cluster)
    if environment is None:
        return None
    deployment_id = event.detail.deployment_id
    for record in berth.store.history(environment, name, limit=RECENT_RECORDS):
        if record.cluster != cluster or record.ecs_deployment_id is None:
            continue
        if deployment_id in (record.ecs_deployment_id, *record.rollback_deployment_ids):
            return record
        if record.status == "ROLLED_BACK" and _rolled_back_to(berth, record, deployment_id):
            return record
    return None


def on_deployment_event(berth: Berth, event: EcsDeploymentStateChange) -> list[Outcome]:
    """An "ECS Deployment State Change": move the matching record along its rollout."""
    through_head = _through_head(berth, event)
    found: tuple[DeploymentRecord, Known] | None = None
    if through_head is not None:
        copy_or_read, head_known, copied = through_head
        found = (copy_or_read, head_known)
        if copied:
            try:
                return _step(berth, copy_or_read, event, head_known, unchanged=True)
            except StaleCopy:
                # Written since the head's copy (a stage line, an approval, a cause, a rollback
                # start: writes of the record alone): read it and decide again, as without copy.
                found = _read_active(berth, event, head_known)
    if found is not None:
        return _step(berth, found[0], event, found[1])
    record = _record_for(berth, event) or _concluded_for(berth, event)
    if record is None:
        return _external(berth, event)
    return _step(berth, record, event, None)


def _step(
    berth: Berth,
    record: DeploymentRecord,
    event: EcsDeploymentStateChange,
    known: Known | None,
    *,
    unchanged: bool = False,
) -> list[Outcome]:
    """Move `record` by the step `event` means for it. With `unchanged`, `record` is the head's
    copy: its writes require the record unchanged since, else raise `StaleCopy`. (An `Ignore` is
    decided from the event's name alone, so a copy that missed a write cannot make it wrong.)"""
    step = transition_for(record, event)
    if isinstance(step, Ignore):
        return [ignored(step.reason, record.environment, record.service)]
    # Blue/green, canary, linear: the stage and cause (Berth's verification, an alarm) as reason.
    step = explained(step, record, event)
    line = stage_line(event, record, step.reason or record.reason)
    if isinstance(step, RollBack):
        return _rolling_back(berth, record, step, event.detail.reason, line, unchanged=unchanged)
    return _conclude(berth, record, step, known, line, unchanged=unchanged)


def _rolling_back(
    berth: Berth,
    record: DeploymentRecord,
    step: RollBack,
    event_reason: str,
    line: str,
    *,
    unchanged: bool = False,
) -> list[Outcome]:
    moved = berth.store.transition(
        record,
        step.allowed,
        unchanged=unchanged,
        status="ROLLING_BACK",
        updated_at=berth.clock(),
        rollback_deployment_ids=step.rollback_deployment_ids,
        reason=step.reason,
        causes=causes_of(berth, record) if step.read_causes else record.causes,
        stages=with_line(record, line),
    )
    if moved is None and unchanged:
        raise StaleCopy(f"{record.target} {record.record_id} was written since its copy")
    if moved is None:
        return []
    return [
        Outcome(
            action="rolling-back",
            environment=record.environment,
            service=record.service,
            reason=event_reason,
            record_id=record.record_id,
        ),
        *_rolled_back_per_ecs(berth, moved),
    ]


def _rolled_back_per_ecs(berth: Berth, record: DeploymentRecord) -> list[Outcome]:
    """Conclude a blue/green, canary or linear record that just went ROLLING_BACK when its
    service deployment already says how the rollback ended. Such a rollback is a state of the
    same service deployment (botocore's ecs model, ServiceDeploymentStatus), so no second
    deployment's COMPLETED need ever come; while ECS is still rolling back, its later events or
    the sweep (which asks again) conclude it."""
    accepted = berth.store.accepted_spec(record.environment)
    services = Spec.model_validate(accepted.document).services if accepted else {}
    settings = services[record.service].deployment if record.service in services else None
    if not follows_service_deployment(record, settings):
        return []
    try:
        found = berth.ecs.service_deployment(
            record.cluster, record.service, record.ecs_deployment_id or "",
            recorded_at=record.created_at,
        )  # fmt: skip
    except AwsCallFailed as failure:
        logger.warning("could not read the service deployment", extra={"error": str(failure)})
        return []
    if found is None:
        return []
    verdict = service_deployment_sweep_verdict(record, found, waited_minutes=0)
    if not isinstance(verdict, SweepVerdict) or verdict.status not in ("ROLLED_BACK", "FAILED"):
        return []
    return conclude(berth, record, {"ROLLING_BACK"}, verdict.status, "ecs", reason=verdict.reason)


def _conclude(
    berth: Berth,
    record: DeploymentRecord,
    step: Conclude,
    known: Known | None,
    line: str,
    *,
    unchanged: bool = False,
) -> list[Outcome]:
    changes: dict[str, Any] = {"stages": with_line(record, line)}
    if step.reason is not None:
        changes["reason"] = step.reason
    if step.read_causes:
        changes["causes"] = causes_of(berth, record)
    return conclude(
        berth, record, step.allowed, step.status, "ecs", known=known, unchanged=unchanged,
        **changes,
    )  # fmt: skip


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
    record = _owner_of(berth, event.service_arn)
    if record is None or record.status != "IN_PROGRESS":
        return [ignored(f"{name} for a service with no Berth deployment under way")]
    note = name + (f": {event.detail.reason}" if event.detail.reason else "")
    if note in record.causes:
        return [ignored(f"{name} already recorded", record.environment, record.service)]
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
