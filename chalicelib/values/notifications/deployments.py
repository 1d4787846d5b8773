"""News of one deployment: a record's start or outcome, a deployment Berth did not start, and
a push that deploys nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from chalicelib.values.events import EcsDeploymentStateChange
from chalicelib.values.records import SPEC_SERVICE, DeploymentRecord, EventSource, Image, Trigger

from .envelope import (
    NOTIFIED_ERRORS,
    Notification,
    NotificationStatus,
    TaskDefinitionChange,
    capped,
    subject_line,
)

# How a subject and a summary name a deployment a person asked for.
ASKED_FOR = {"rollback": "rollback", "promote": "promotion"}


def _asked_for(trigger: Trigger) -> tuple[str, str]:
    """The subject's prefix and the summary's last sentence for a rollback or a promotion."""
    what = ASKED_FOR.get(trigger.kind)
    if what is None:
        return "", ""
    source = f" from {trigger.from_environment}" if trigger.from_environment else ""
    who = f" asked by {trigger.requested_by}" if trigger.requested_by else ""
    return f"{what}: ", f" {what.capitalize()}{source}{who}."


def for_record(
    record: DeploymentRecord,
    status: NotificationStatus,
    trigger: EventSource,
    now: datetime,
    skipped: Sequence[str] = (),
) -> Notification:
    """The notification of a deployment record reaching `status`; `skipped` names the services
    that waited for it and will not be deployed."""
    held_back = (
        f"; {', '.join(skipped)}, which depend{'s' * (len(skipped) == 1)} on it, "
        "will not be deployed"
        if skipped
        else ""
    )
    env, svc = record.environment, record.service
    container, image, previous_image = record.changed
    label = record.label
    previous = previous_image.label if previous_image else "the previous version"
    subject, summary, action = {
        "STARTED": (
            f"[{env}] {svc} {label} deploying",
            f"Deploying {svc} {label} to {env} (cluster {record.cluster}).",
            "following the rollout; the outcome follows in another message",
        ),
        "COMPLETED": (
            f"[{env}] {svc} {label} deployed",
            f"{svc} {label} is deployed to {env}.",
            "",
        ),
        "FAILED": (
            f"[{env}] {svc} {label} FAILED",
            f"Deploying {svc} {label} to {env} failed.",
            "the service was left as it was" + held_back,
        ),
        "ROLLED_BACK": (
            f"[{env}] {svc} {label} FAILED, rolled back to {previous}",
            f"Deploying {svc} {label} to {env} failed; ECS rolled back to {previous}.",
            "push a fixed image or upload a corrected spec" + held_back,
        ),
        "TIMED_OUT": (
            f"[{env}] {svc} {label} TIMED OUT",
            f"Deploying {svc} {label} to {env} reported no outcome in time.",
            "marked timed out; check the service in the ECS console",
        ),
        "SKIPPED": (
            f"[{env}] {svc} {label} skipped",
            f"{svc} {label} was not deployed to {env}: a dependency did not deploy.",
            "nothing was changed for this service",
        ),
        "REJECTED": (
            f"[{env}] {svc if svc != SPEC_SERVICE else 'spec'} rejected",
            f"Berth rejected a change to {env}; nothing was deployed.",
            "fix the errors and upload the spec again",
        ),
        "SUPERSEDED": (
            f"[{env}] {svc} {label} superseded",
            f"{svc} {label} was replaced by a newer change before it finished ({record.reason}).",
            "following the newer deployment instead",
        ),
        "IGNORED": (f"[{env}] {svc} {label} ignored", f"{svc} {label}: push ignored.", ""),
        "EXTERNAL": (
            f"[{env}] {svc} external deployment",
            f"{svc}: a deployment Berth did not start.",
            "",
        ),
    }[status]
    prefix, asked = _asked_for(record.trigger)
    if status == "REJECTED" and record.trigger.spec is not None:
        # What was found, not what the record kept (it holds RECORDED_ERRORS at most).
        count = len(record.errors) if record.errors_total is None else record.errors_total
        subject = (
            f"[{env}] spec rejected: {record.trigger.spec.key} ({count} error{'s' * (count != 1)})"
        )
    duration = None
    if record.started_at and record.finished_at:
        duration = (record.finished_at - record.started_at).total_seconds()
    return Notification(
        status=status,
        environment=env,
        service=None if svc == SPEC_SERVICE else svc,
        trigger=trigger,
        started_by=record.trigger.kind,
        subject=subject_line(" ".join(subject.replace("] ", "] " + prefix, 1).split())),
        summary=" ".join((summary + asked).split()),
        reason=record.reason,
        causes=capped(record.causes, NOTIFIED_ERRORS),
        errors=capped(record.errors, NOTIFIED_ERRORS, record.errors_total),
        action=action,
        container=container,
        image=image,
        previous_image=previous_image,
        task_definition=TaskDefinitionChange(
            previous=record.previous_task_definition_arn, current=record.task_definition_arn
        )
        if record.task_definition_arn
        else None,
        ecs_deployment_id=record.ecs_deployment_id,
        cluster=record.cluster or None,
        spec=record.trigger.spec,
        record_id=record.record_id,
        duration_seconds=duration,
        requested_by=record.trigger.requested_by,
        request=record.trigger.note,
        time=now,
    )


def external_notification(event: EcsDeploymentStateChange, now: datetime) -> Notification:
    """A deployment Berth did not start (a console change, another tool): told once, as seen."""
    parts = event.service_arn.split(":service/")[-1].split("/")
    cluster, service = (parts[0], parts[-1]) if len(parts) > 1 else ("", parts[-1])
    d = event.detail
    return Notification(
        status="EXTERNAL",
        environment=cluster or "-",
        service=service or None,
        trigger="ecs",
        subject=subject_line(f"[{cluster or '-'}] {service} deployment not started by Berth"),
        summary=f"ECS reports {d.event_name} for deployment {d.deployment_id} of {service}, "
        "which Berth did not start.",
        reason=d.reason,
        action="recorded as external; Berth reports each such deployment once",
        ecs_deployment_id=d.deployment_id,
        cluster=cluster or None,
        time=now,
    )


def ignored_push_notification(
    environment: str,
    service: str,
    image: Image,
    reason: str,
    now: datetime,
    *,
    container: str | None = None,
) -> Notification:
    """A push that deploys nothing, told only where BERTH_NOTIFY_IGNORED_PUSHES asks for it;
    `container` names the tracked sidecar the push was for."""
    label = f"{container} {image.label}" if container else image.label
    return Notification(
        status="IGNORED",
        environment=environment,
        service=service,
        container=container,
        trigger="image",
        subject=subject_line(f"[{environment}] {service} {label} ignored"),
        summary=f"{service} {label}: the push was not deployed to {environment}.",
        reason=reason,
        action="nothing was changed",
        image=image,
        time=now,
    )
