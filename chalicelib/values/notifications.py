"""Notification content: one message per outcome, text for people and versioned JSON for machines.

Building a message is pure; `adapters.sns.Notifier` only sends what `sns_message` returns.

The JSON document's schema is `Notification.model_json_schema()`, kept in
docs/notification.schema.json (a test keeps the two equal and validates every published message).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from chalicelib.model import Model

from .events import EcsDeploymentStateChange
from .records import (
    SPEC_SERVICE,
    AcceptedSpec,
    DeploymentRecord,
    EventSource,
    Image,
    RunOutcome,
    RunTally,
    SpecVersion,
    TerminalStatus,
    Trigger,
    TriggerKind,
)

# A record's terminal statuses, plus the news that is not a record's end.
NotificationStatus = Literal[
    "STARTED", TerminalStatus, "IGNORED", "EXTERNAL", "WARNING", "RETIRED", "SECURITY"
]


# What one record and one message hold: a DynamoDB item is at most 400 KB and an SNS message
# 256 KB (the JSON document goes out once per protocol), while a spec can have thousands of
# problems, each quoting what it found.
RECORDED_ERRORS = 100
NOTIFIED_ERRORS = 20
LONGEST_ERROR = 1000
SNS_LIMIT = 256 * 1024


def shortened(errors: list[str], keep: int) -> list[str]:
    """The first `keep` errors, each at most LONGEST_ERROR characters."""
    return [e if len(e) <= LONGEST_ERROR else e[: LONGEST_ERROR - 1] + "…" for e in errors[:keep]]


def capped(errors: list[str], keep: int, total: int | None = None) -> list[str]:
    """`shortened`, plus a last line saying how many of `total` (default: all given) were left
    out and where they all are."""
    kept = shortened(errors, keep)
    total = len(errors) if total is None else total
    if total > len(kept):
        kept.append(
            f"… and {total - len(kept)} more ({total} in all); "
            "`berth validate FILE` lists every one"
        )
    return kept


class TaskDefinitionChange(Model):
    previous: str | None = None
    current: str | None = None


class Notification(Model):
    """The machine-readable document sent to sqs, lambda and https subscribers."""

    model_config = ConfigDict(populate_by_name=True)

    schema_id: Literal["berth.notification/v1"] = Field(
        default="berth.notification/v1", alias="schema"
    )
    status: NotificationStatus
    environment: str
    service: str | None = None
    trigger: EventSource
    """What told this: the trigger itself, or the ECS event (`ecs`) or sweep (`sweep`) that
    concluded a rollout."""
    started_by: TriggerKind | None = None
    """What started the deployment a record's notification is about (`image`, `spec`,
    `rollback`, `promote`), on its start and on its outcome alike: with starts untold by default
    (BERTH_NOTIFY_STARTED), an SNS filter on what started a deployment still gets its outcome."""
    subject: str = Field(max_length=99)
    summary: str
    reason: str = ""
    causes: list[str] = []
    errors: list[str] = []
    action: str = ""
    container: str | None = None
    """The sidecar whose image changed; None when it is the product container's."""
    image: Image | None = None
    previous_image: Image | None = None
    task_definition: TaskDefinitionChange | None = None
    ecs_deployment_id: str | None = None
    cluster: str | None = None
    spec: SpecVersion | None = None
    record_id: str | None = None
    duration_seconds: float | None = None
    requested_by: str | None = None
    """Who asked for a rollback or a promotion."""
    request: str = ""
    """What they asked for, and any judgement it overrode."""
    run_id: str | None = None
    services: list[RunOutcome] = []
    """A wide run's summary: each service's outcome (or, when it starts, each service)."""
    time: datetime

    def text(self) -> str:
        """The message for email and SMS: what, where, which image, what changed, why, what next."""
        lines = [self.summary]
        if self.image is not None:
            of = f" of container {self.container}" if self.container else ""
            lines.append(
                f"Image{of}: {self.image.repository}:{self.image.tag or '-'} ({self.image.digest})"
            )
        if self.previous_image is not None and self.status != "STARTED":
            lines.append(f"Previous image: {self.previous_image.label}")
        if self.task_definition is not None and self.task_definition.current:
            before = _revision(self.task_definition.previous)
            lines.append(f"Task definition: {before} -> {_revision(self.task_definition.current)}")
        if self.ecs_deployment_id:
            lines.append(f"ECS deployment: {self.ecs_deployment_id} on cluster {self.cluster}")
        if self.duration_seconds is not None:
            lines.append(f"Duration: {self.duration_seconds:.0f} s")
        if self.spec is not None:
            version = f" (version {self.spec.version_id})" if self.spec.version_id else ""
            lines.append(f"Spec: s3://{self.spec.bucket}/{self.spec.key}{version}")
            if self.requested_by:
                lines.append(f"Uploaded by: {self.requested_by}")
        if self.request:
            lines.append(f"Requested: {self.request}")
        if self.reason:
            lines.append(f"Reason: {self.reason}")
        lines += [
            f"{o.service}: {o.status}" + (f" ({o.reason})" if o.reason else "")
            for o in self.services
        ]
        lines += [f"Cause: {c}" for c in self.causes]
        lines += [f"Error: {e}" for e in self.errors]
        if self.action:
            lines.append(f"Berth: {self.action}")
        return "\n".join(lines)


def _revision(arn: str | None) -> str:
    return arn.rsplit("/", 1)[-1] if arn else "(none)"


def _subject(text: str) -> str:
    return text if len(text) < 100 else text[:96] + "..."


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
        count = len(record.errors)
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
        subject=_subject(" ".join(subject.replace("] ", "] " + prefix, 1).split())),
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
        subject=_subject(f"[{cluster or '-'}] {service} deployment not started by Berth"),
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
        subject=_subject(f"[{environment}] {service} {label} ignored"),
        summary=f"{service} {label}: the push was not deployed to {environment}.",
        reason=reason,
        action="nothing was changed",
        image=image,
        time=now,
    )


def _warning(
    environment: str, service: str, subject: str, summary: str, now: datetime, **fields: Any
) -> Notification:
    """News a person should act on that is no record's outcome."""
    return Notification(
        status="WARNING", environment=environment, service=service,
        subject=_subject(f"[{environment}] {service} {subject}"), summary=summary, time=now,
        **fields,
    )  # fmt: skip


def approval_wanted_notification(
    record: DeploymentRecord, stage: str, deadline: datetime, now: datetime
) -> Notification:
    """A deployment waits at an approval gate: who may let it on, how, and until when (then it
    rolls back). Sent once, when Berth's hook first asks; its outcome is told as any other."""
    label = record.image.label if record.image else "the new revision"
    env, svc = record.environment, record.service
    until = deadline.strftime("%Y-%m-%d %H:%M UTC")
    return _warning(
        env, svc, f"{label} waits for approval",
        f"{svc} {label} waits for approval at {stage}, before production traffic moves.", now,
        trigger="ecs", image=record.image, previous_image=record.previous_image,
        ecs_deployment_id=record.ecs_deployment_id, cluster=record.cluster or None,
        record_id=record.record_id,
        reason=f"{env} asks for an approval before production traffic moves",
        action=f"approve with `berth approve {env} {svc}` before {until}; without an approval "
        "by then, ECS rolls the deployment back",
    )  # fmt: skip


def running_image_deleted_notification(
    environment: str, service: str, image: Image, now: datetime
) -> Notification:
    """The digest a service runs was deleted from ECR: the next task ECS starts cannot pull it."""
    return _warning(
        environment, service, f"{image.label}: running image deleted",
        f"{service} runs {image.label} ({image.digest}), which was deleted from ECR.", now,
        trigger="image", image=image,
        reason="ECR reported the deletion of the digest this service runs",
        action="push or restore the image before ECS needs to start a task (scale-out, a "
        "replaced task): it can no longer be pulled",
    )  # fmt: skip


def removed_service_notification(
    environment: str, service: str, cluster: str, spec: SpecVersion, now: datetime
) -> Notification:
    """A service left the spec: Berth stops tracking it, and it keeps running as it is."""
    return _warning(
        environment, service, "left the spec; still running",
        f"{service} is no longer in {environment}'s spec; it keeps running on {cluster}, "
        "untracked by Berth.", now,
        trigger="spec", cluster=cluster, spec=spec,
        reason="the accepted spec no longer names this service",
        action="delete the ECS service if it is retired, or add it back to the spec",
    )  # fmt: skip


def spec_file_deleted_notification(
    environment: str, accepted: AcceptedSpec, requester: str | None, now: datetime
) -> Notification:
    """The environment's spec file was deleted: nothing is undeployed or retired for it."""
    where = f"s3://{accepted.source.bucket}/{accepted.source.key}"
    version = f" (version {accepted.source.version_id})" if accepted.source.version_id else ""
    return Notification(
        status="WARNING", environment=environment, trigger="spec",
        subject=_subject(f"[{environment}] spec file deleted; services keep running"),
        summary=f"{where} was deleted. Every service of {environment} keeps running as last "
        f"deployed, and Berth keeps deploying pushes by the last accepted spec{version}.",
        reason="the spec file has no current version", spec=accepted.source,
        requested_by=requester,
        action="nothing was changed. To stop a service, upload the spec with it under `retire:`; "
        "to roll back, restore the file or delete only its newest version",
        time=now,
    )  # fmt: skip


def retired_notification(
    environment: str, service: str, cluster: str, how: str, *, spec: SpecVersion,
    requester: str | None, now: datetime,
) -> Notification:
    """A service the spec retires was deleted (`how` "delete") or left running ("keep")."""
    if how == "delete":
        subject, summary = "retired: scaled to 0 and deleted", (
            f"{service} was scaled to 0 and its ECS service deleted from {cluster}, as "
            f"{environment}'s spec retires it."
        )
        action = "nothing more; add it back under services to deploy it again"
    else:
        subject, summary = "retired: left running, unmanaged", (
            f"{service} keeps running on {cluster}, but Berth no longer deploys it, as "
            f"{environment}'s spec retires it with `keep`."
        )
        action = "delete the ECS service yourself when it is no longer needed, or retire it " \
            "with `delete`"
    return Notification(
        status="RETIRED", environment=environment, service=service, trigger="spec",
        subject=_subject(f"[{environment}] {service} {subject}"), summary=summary,
        reason=f"retire: {{{service}: {how}}} in the accepted spec", action=action,
        cluster=cluster, spec=spec, requested_by=requester, time=now,
    )  # fmt: skip


def forged_batch_notification(
    environment: str | None, event_id: str, run_id: str, reason: str, now: datetime
) -> Notification:
    """A wide-run batch event Berth did not send was refused (flows.batches): someone allowed to
    put events on the stage's bus tried to make Berth deploy. Nothing was changed. Who put it is
    in CloudTrail where a trail logs the bus's data events: PutEvents is a data event, not a
    management one (EventBridge user guide, "Logging Amazon EventBridge API calls using AWS
    CloudTrail")."""
    where = environment or "-"
    return Notification(
        status="SECURITY", environment=where, trigger="batch", run_id=run_id,
        subject=_subject(f"[SECURITY] [{where}] forged deployment batch refused"),
        summary=f"A deployment batch event ({event_id}) naming run {run_id} was not one Berth "
        "sent, and was refused.",
        reason=reason,
        action="nothing was changed; find who put the event on the bus (CloudTrail's PutEvents "
        "data events of the default bus) and narrow who may call events:PutEvents on it",
        time=now,
    )  # fmt: skip


# The run's status is its worst outcome's, in this order; all COMPLETED (or SUPERSEDED by a newer
# change, or IGNORED: not newer than what runs) is COMPLETED.
_WORST_FIRST: tuple[TerminalStatus, ...] = (
    "FAILED", "ROLLED_BACK", "TIMED_OUT", "REJECTED", "SKIPPED",
)  # fmt: skip
_TOLD_ORDER = ("COMPLETED", "IGNORED", "SUPERSEDED", *reversed(_WORST_FIRST))


def _what_started(trigger: Trigger) -> str:
    if trigger.image is not None:
        return f"{trigger.image.repository}:{trigger.image.label} pushed"
    if trigger.spec is not None:
        return f"spec s3://{trigger.spec.bucket}/{trigger.spec.key} uploaded"
    return f"{trigger.kind} change"


def run_started_notification(
    environment: str, run_id: str, services: Sequence[str], trigger: Trigger, now: datetime
) -> Notification:
    """A wide run starts: one notification for all its services instead of one each."""
    what = _what_started(trigger)
    return Notification(
        status="STARTED", environment=environment, trigger=trigger.kind, run_id=run_id,
        subject=_subject(f"[{environment}] deploying {len(services)} services: {what}"),
        summary=f"{what}: {len(services)} services of {environment} are being deployed, in "
        "batches; their outcomes come in one run summary.",
        image=trigger.image, spec=trigger.spec, requested_by=trigger.requested_by,
        services=[RunOutcome(service=s, status="STARTED") for s in services],
        action="deploying; the run summary follows when every service has an outcome",
        time=now,
    )  # fmt: skip


def run_finished_notification(tally: RunTally, now: datetime) -> Notification:
    """A wide run's outcomes, told once every service of it has one."""
    outcomes = sorted(tally.outcomes.values(), key=lambda o: o.service)
    present = {o.status for o in outcomes}
    status: NotificationStatus = next((s for s in _WORST_FIRST if s in present), "COMPLETED")
    counts = Counter(o.status for o in outcomes)
    told = ", ".join(
        f"{counts[s]} {s.lower().replace('_', ' ')}" for s in _TOLD_ORDER if counts[s]
    )
    what = _what_started(tally.trigger)
    return Notification(
        status=status, environment=tally.environment, trigger=tally.trigger.kind,
        run_id=tally.run_id,
        subject=_subject(f"[{tally.environment}] run of {tally.total} services: {told}"),
        summary=f"{what}: {tally.total} services of {tally.environment}: {told}.",
        image=tally.trigger.image, spec=tally.trigger.spec,
        requested_by=tally.trigger.requested_by, services=outcomes,
        action="nothing more" if status == "COMPLETED" else
        "see each service's reason; `berth history ENV SERVICE` has its record",
        time=now,
    )  # fmt: skip


@dataclass(frozen=True)
class SnsMessage:
    """What one SNS Publish carries for a notification."""

    subject: str
    message: str
    attributes: dict[str, str]


def sns_message(note: Notification) -> SnsMessage:
    """The notification as SNS `MessageStructure=json`: text for email and SMS, the JSON
    document for machine subscribers, and attributes for subscription filter policies."""
    document = note.model_dump_json(by_alias=True)
    text = note.text()
    per_protocol = {
        "default": text,
        "email": text,
        "sms": note.subject,
        "sqs": document,
        "lambda": document,
        "https": document,
        "http": document,
    }
    attributes = {
        "environment": note.environment,
        "service": note.service or "-",
        "status": note.status,
        "trigger": note.trigger,
        **({"started_by": note.started_by} if note.started_by else {}),
    }
    message = json.dumps(per_protocol)
    if len(message.encode()) > SNS_LIMIT and (note.errors or note.causes):
        # Still too large (long causes, say): keep the news, say where the detail is.
        where = f"see deployment record {note.record_id}" if note.record_id else "see the logs"
        left_out = (
            f"{len(note.errors)} errors and {len(note.causes)} causes left out, too long for "
            f"one message: {where}"
        )
        slim = note.model_copy(
            update={"errors": [], "causes": [], "action": f"{note.action}; {left_out}"}
        )
        return sns_message(slim)  # with no errors or causes left, this recurses once at most
    return SnsMessage(note.subject, message, attributes)
