"""News a person should act on that is no record's outcome (WARNING): an approval gate waits,
a running image was deleted, a service or the spec file left; and a service retired (RETIRED).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.values.records import AcceptedSpec, DeploymentRecord, Image, SpecVersion

from .envelope import Notification, subject_line


def _warning(
    environment: str, service: str, subject: str, summary: str, now: datetime, **fields: Any
) -> Notification:
    """News a person should act on that is no record's outcome."""
    return Notification(
        status="WARNING", environment=environment, service=service,
        subject=subject_line(f"[{environment}] {service} {subject}"), summary=summary, time=now,
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
        subject=subject_line(f"[{environment}] spec file deleted; services keep running"),
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
        subject=subject_line(f"[{environment}] {service} {subject}"), summary=summary,
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
        subject=subject_line(f"[SECURITY] [{where}] forged deployment batch refused"),
        summary=f"A deployment batch event ({event_id}) naming run {run_id} was not one Berth "
        "sent, and was refused.",
        reason=reason,
        action="nothing was changed; find who put the event on the bus (CloudTrail's PutEvents "
        "data events of the default bus) and narrow who may call events:PutEvents on it",
        time=now,
    )  # fmt: skip
