"""Plan and apply: turn a spec upload or an image push into ECS deployments, in dependency order.

Planning reads (S3, ECR, ECS) and decides; nothing is written to ECS until every service of the
change has an image and a rendered task definition, so a bad spec or a missing image deploys
nothing. Applying registers task definitions only when they differ from the live ones and
records every step, including the ones that fail.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from . import ecs as ecs_api
from .aws import as_aws_failure, error_code
from .errors import BerthError, SpecError
from .events import EcrImageAction, SpecObject
from .notify import ignored_push_notification
from .policy import RunningImage, judge_push, tag_matches
from .records import (
    ACTIVE,
    SPEC_SERVICE,
    AcceptedSpec,
    DeploymentRecord,
    Head,
    Image,
    SpecVersion,
    Trigger,
)
from .render import ImageRef, render_task_definition
from .runtime import Action, Berth, Outcome, TriggerName, ignored, logger
from .spec import MAX_FILE_READ, Spec, parse_spec

SPEC_KEY = re.compile(r"^specs/(?P<env>[a-z][a-z0-9-]{0,30})/[^/]+\.(ya?ml|json)$")


Finished = Literal["COMPLETED", "FAILED", "ROLLED_BACK", "TIMED_OUT", "SKIPPED"]
_ACTION_OF: dict[Finished, Action] = {
    "COMPLETED": "completed",
    "FAILED": "failed",
    "ROLLED_BACK": "rolled-back",
    "TIMED_OUT": "timed-out",
    "SKIPPED": "skipped",
}


class ConcurrentChange(BerthError):
    """Other events kept moving a service while this one judged it: Lambda retries the event."""


class PlanRefused(Exception):
    """The change cannot be planned; nothing was deployed."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass(frozen=True)
class Step:
    service: str
    image: Image


def _new_record(
    berth: Berth, spec_env: str, service: str, run_id: str, trigger: Trigger, **fields: Any
) -> DeploymentRecord:
    now = berth.clock()
    return DeploymentRecord(
        environment=spec_env,
        service=service,
        record_id=f"D#{now.isoformat()}#{run_id}",
        run_id=run_id,
        trigger=trigger,
        created_at=now,
        updated_at=now,
        **fields,
    )


def _new_run_id() -> str:
    return uuid.uuid4().hex[:12]


# ---- spec uploads ------------------------------------------------------------------------------


def _read_spec_object(berth: Berth, obj: SpecObject) -> bytes | None:
    kwargs: dict[str, Any] = {"Bucket": obj.bucket, "Key": obj.key}
    if obj.version_id:
        kwargs["VersionId"] = obj.version_id
    try:
        body = berth.clients.s3.get_object(**kwargs)["Body"]
        return body.read(MAX_FILE_READ)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchKey", "NoSuchVersion", "404"):
            return None
        raise


def reject(
    berth: Berth, environment: str, trigger: Trigger, errors: list[str], reason: str
) -> Outcome:
    """Record and announce a change that deploys nothing, with every error found."""
    record = _new_record(
        berth,
        environment,
        SPEC_SERVICE,
        _new_run_id(),
        trigger,
        status="REJECTED",
        errors=errors,
        reason=reason,
        finished_at=berth.clock(),
    )
    berth.store.put_record(record)
    berth.announce(record, "REJECTED", trigger.kind)
    logger.warning("rejected", extra={"environment": environment, "errors": errors})
    return Outcome(
        action="rejected", environment=environment, reason=reason, record_id=record.record_id
    )


def on_spec_uploaded(berth: Berth, obj: SpecObject) -> list[Outcome]:
    """A spec file version was written: validate it, plan it, and deploy what changed."""
    if obj.bucket != berth.settings.spec_bucket:
        return [ignored(f"bucket {obj.bucket} is not the spec bucket {berth.settings.spec_bucket}")]
    match = SPEC_KEY.match(obj.key)
    if match is None:
        return [
            ignored(f"{obj.key} is not a spec key (specs/<environment>/<name>.yaml|.yml|.json)")
        ]
    environment = match.group("env")
    source = SpecVersion(bucket=obj.bucket, key=obj.key, version_id=obj.version_id)
    trigger = Trigger(kind="spec", event_id=obj.event_id, spec=source)
    try:
        raw = _read_spec_object(berth, obj)
    except (ClientError, BotoCoreError) as exc:
        failure = as_aws_failure(getattr(exc, "operation_name", "GetObject"), exc)
        return [reject(berth, environment, trigger, [str(failure)], "the spec could not be read")]
    if raw is None:
        return [
            ignored(
                f"s3://{obj.bucket}/{obj.key} version {obj.version_id} no longer exists",
                environment,
            )
        ]
    try:
        spec = parse_spec(raw, f"s3://{obj.bucket}/{obj.key}")
    except SpecError as exc:
        return [
            reject(
                berth,
                environment,
                trigger,
                [str(p) for p in exc.problems],
                "the spec did not validate",
            )
        ]
    if spec.environment != environment:
        error = (
            f"s3://{obj.bucket}/{obj.key}: environment: {spec.environment!r} does not match the "
            f"folder it was uploaded to (specs/{environment}/)"
        )
        return [reject(berth, environment, trigger, [error], "the spec is in the wrong folder")]
    account = obj.account
    region = obj.region or berth.settings.region
    try:
        steps = plan_spec(berth, spec, account, region)
    except PlanRefused as exc:
        return [reject(berth, environment, trigger, exc.errors, "the spec could not be planned")]
    except (ClientError, BotoCoreError) as exc:
        failure = as_aws_failure(getattr(exc, "operation_name", "planning"), exc)
        return [
            reject(berth, environment, trigger, [str(failure)], "an AWS call failed while planning")
        ]
    accepted = AcceptedSpec(
        environment=environment,
        account=account,
        region=region,
        source=source,
        sequencer=obj.sequencer or "",
        accepted_at=berth.clock(),
        document=spec.model_dump(by_alias=True, exclude_defaults=True),
    )
    if not berth.store.accept_spec(accepted):
        return [
            ignored("a later upload of this environment's spec is already accepted", environment)
        ]
    if not steps:
        return [
            ignored(
                "nothing changed: every service already runs what the spec renders", environment
            )
        ]
    return run_steps(berth, spec, accepted, steps, trigger)


def _image_for(berth: Berth, spec: Spec, name: str) -> Image | None:
    """The image a service should run: what it runs now if still on track, else the newest match."""
    source = spec.services[name].image
    head = berth.store.get_head(spec.environment, name)
    if (
        head.image is not None
        and head.image.repository == source.repository
        and tag_matches(head.image.tag or "", source.track)
    ):
        return head.image
    found = ecs_api.newest_image(berth.clients.ecr, source.repository, source.track)
    if found is None:
        return None
    tag, digest, pushed_at = found
    return Image(repository=source.repository, tag=tag, digest=digest, pushed_at=pushed_at)


def plan_spec(berth: Berth, spec: Spec, account: str, region: str) -> list[Step]:
    """The services of `spec` whose rendered state differs from what ECS runs, in order."""
    errors: list[str] = []
    steps: list[Step] = []
    for name in spec.deployment_order():
        source = spec.services[name].image
        image = _image_for(berth, spec, name)
        if image is None:
            errors.append(
                f"services.{name}.image: no image in ECR repository {source.repository!r} has a "
                f"tag that follows track {source.track!r}; push one first"
            )
            continue
        if _differs_from_live(berth, spec, name, image=image, account=account, region=region):
            steps.append(Step(name, image))
    if errors:
        raise PlanRefused(errors)
    return steps


def _differs_from_live(
    berth: Berth, spec: Spec, name: str, *, image: Image, account: str, region: str
) -> bool:
    ecs = berth.clients.ecs
    live = ecs_api.live_service(ecs, spec.cluster, name)
    if live is None:
        return True
    rendered = render_task_definition(spec, name, _ref(image), account, region)
    if not ecs_api.matches_live(ecs, rendered, live.task_definition_arn):
        return True
    return ecs_api.settings_differ(ecs_api.service_settings(spec, name), live.description)


def _ref(image: Image) -> ImageRef:
    return ImageRef(image.repository, image.digest, image.tag)


def run_steps(
    berth: Berth, spec: Spec, accepted: AcceptedSpec, steps: list[Step], trigger: Trigger
) -> list[Outcome]:
    """Record every step of a run, then start those whose dependencies are not part of it."""
    run_id = _new_run_id()
    changing = {step.service for step in steps}
    outcomes: list[Outcome] = []
    ready: list[DeploymentRecord] = []
    for step in steps:
        waiting = [d for d in spec.services[step.service].depends_on if d in changing]
        record = _claim(
            berth,
            spec,
            step.service,
            image=step.image,
            run_id=run_id,
            trigger=trigger,
            waiting=waiting,
        )
        if record is None:
            outcomes.append(
                ignored("superseded by a concurrent change", spec.environment, step.service)
            )
            continue
        if waiting:
            outcomes.append(_pending_outcome(record))
        else:
            ready.append(record)
    for record in ready:
        outcomes += start(berth, record, spec, accepted)
    return outcomes


def _pending_outcome(record: DeploymentRecord) -> Outcome:
    return Outcome(
        action="pending",
        environment=record.environment,
        service=record.service,
        reason=f"waiting for {', '.join(record.waiting_for)}",
        record_id=record.record_id,
    )


def _claim(
    berth: Berth,
    spec: Spec,
    name: str,
    *,
    image: Image,
    run_id: str,
    trigger: Trigger,
    waiting: list[str],
    head: Head | None = None,
) -> DeploymentRecord | None:
    """Move the service's head to `image` and write a PENDING record; None if the head moved."""
    head = head or berth.store.get_head(spec.environment, name)
    record = _new_record(
        berth,
        spec.environment,
        name,
        run_id,
        trigger,
        status="PENDING",
        cluster=spec.cluster,
        image=image,
        previous_image=head.image,
        waiting_for=waiting,
        previous_task_definition_arn=head.task_definition_arn,
        reason=f"waiting for {', '.join(waiting)}" if waiting else "",
    )
    # The record first: a head must never name a record that was not written. A record whose
    # head claim loses (or whose writer dies) stays PENDING with no head naming it: it is
    # closed here, or by the sweep after the rollout timeout.
    berth.store.put_record(record)
    moved = berth.store.put_head(
        head.model_copy(update={"image": image, "active_record_id": record.record_id})
    )
    if moved is None:
        berth.store.transition(
            record, {"PENDING"}, status="SUPERSEDED", finished_at=berth.clock(),
            reason="another event changed the service first",
        )  # fmt: skip
        return None
    _supersede(berth, head, record)
    return record


def _supersede(berth: Berth, head: Head, by: DeploymentRecord) -> None:
    if head.active_record_id is None:
        return
    previous = berth.store.get_record(head.environment, head.service, head.active_record_id)
    if previous is None or previous.status not in ACTIVE:
        return
    label = by.image.label if by.image else "a newer change"
    done = berth.store.transition(
        previous,
        ACTIVE,
        status="SUPERSEDED",
        reason=f"replaced by {label}",
        finished_at=berth.clock(),
        updated_at=berth.clock(),
    )
    if done is not None:
        berth.announce(done, "SUPERSEDED", by.trigger.kind)


# ---- starting a step ---------------------------------------------------------------------------


def start(
    berth: Berth, record: DeploymentRecord, spec: Spec, accepted: AcceptedSpec
) -> list[Outcome]:
    """Register the task definition and create or update the service; record what happened."""
    ecs = berth.clients.ecs
    name = record.service
    assert record.image is not None
    rendered = render_task_definition(
        spec, name, _ref(record.image), accepted.account, accepted.region
    )
    try:
        live = ecs_api.live_service(ecs, spec.cluster, name)
        arn = ecs_api.register_if_changed(ecs, rendered, live.task_definition_arn if live else None)
        service_arn, deployment_id = ecs_api.apply_service(ecs, spec, name, arn, live)
    except (ClientError, BotoCoreError) as exc:
        failure = as_aws_failure(getattr(exc, "operation_name", "ECS"), exc)
        return fail(
            berth,
            record,
            reason="an AWS call failed; the service was not changed",
            errors=[str(failure)],
            trigger=record.trigger.kind,
        )
    now = berth.clock()
    breaker = spec.services[name].deployment.circuit_breaker
    # An earlier delivery of this event may have updated the service and died before recording
    # it: the service then already runs `arn`, and the rollout to follow is the live one.
    resumed = live is not None and live.task_definition_arn == arn
    changes: dict[str, Any] = {
        "task_definition_arn": arn,
        "previous_task_definition_arn": record.previous_task_definition_arn
        if resumed
        else (live.task_definition_arn if live else None),
        "ecs_service_arn": service_arn,
        "ecs_deployment_id": deployment_id,
        "rollback_enabled": breaker.enable and breaker.rollback,
        "started_at": now,
        "updated_at": now,
        "waiting_for": [],
        "reason": "",
    }
    rolled = deployment_id is not None and (
        live is None
        or deployment_id != live.primary_deployment_id
        or live.primary_rollout_state == "IN_PROGRESS"
    )
    if not rolled:
        # Only service settings changed (desired count, deployment configuration): ECS applies
        # them in place, without a deployment to follow.
        done = berth.store.transition(
            record,
            {"PENDING"},
            status="COMPLETED",
            finished_at=now,
            reason="service settings updated in place",
            **changes,
        )
        return finish(berth, done, "COMPLETED", record.trigger.kind) if done else []
    started = berth.store.transition(record, {"PENDING"}, status="IN_PROGRESS", **changes)
    if started is None:
        return []
    _update_head(berth, started, task_definition_arn=arn)
    berth.announce(started, "STARTED", record.trigger.kind)
    return [
        Outcome(
            action="started",
            environment=started.environment,
            service=name,
            record_id=started.record_id,
            ecs_deployment_id=deployment_id,
            task_definition_arn=arn,
        )
    ]


def _update_head(berth: Berth, record: DeploymentRecord, **changes: Any) -> None:
    """Apply `changes` to the service head if this record still owns it."""
    for _ in range(3):
        head = berth.store.get_head(record.environment, record.service)
        if head.active_record_id != record.record_id:
            return
        if berth.store.put_head(head.model_copy(update=changes)) is not None:
            return


# ---- outcomes ----------------------------------------------------------------------------------


def fail(
    berth: Berth, record: DeploymentRecord, reason: str, errors: list[str], trigger: TriggerName
) -> list[Outcome]:
    done = berth.store.transition(
        record,
        ACTIVE,
        status="FAILED",
        reason=reason,
        errors=errors,
        finished_at=berth.clock(),
        updated_at=berth.clock(),
    )
    return finish(berth, done, "FAILED", trigger) if done else []


def finish(
    berth: Berth, record: DeploymentRecord, status: Finished, trigger: TriggerName
) -> list[Outcome]:
    """A record reached a terminal status: announce it, fix the head, move its dependents on."""
    berth.announce(record, status, trigger)
    return follow_up(berth, record, status)


def follow_up(berth: Berth, record: DeploymentRecord, status: Finished) -> list[Outcome]:
    """What a terminal record implies for its head and dependents; safe to repeat, so a
    redelivered event finishes work an earlier, failed delivery left undone."""
    outcomes = [
        Outcome(
            action=_ACTION_OF[status],
            environment=record.environment,
            service=record.service,
            reason=record.reason,
            record_id=record.record_id,
            ecs_deployment_id=record.ecs_deployment_id,
            task_definition_arn=record.task_definition_arn,
        )
    ]
    if status == "COMPLETED":
        _update_head(berth, record, active_record_id=None)
        outcomes += release_dependents(berth, record)
    else:
        # The service keeps (or went back to) what it ran before this record.
        _update_head(
            berth,
            record,
            image=record.previous_image,
            task_definition_arn=record.previous_task_definition_arn,
            active_record_id=None,
        )
        outcomes += skip_dependents(berth, record)
    return outcomes


def _dependents(berth: Berth, record: DeploymentRecord) -> list[DeploymentRecord]:
    return [
        r
        for r in berth.store.records_with_status("PENDING")
        if r.environment == record.environment and record.service in r.waiting_for
    ]


def release_dependents(berth: Berth, record: DeploymentRecord) -> list[Outcome]:
    """Start the PENDING records that were waiting only for `record`'s service."""
    outcomes: list[Outcome] = []
    accepted = berth.store.accepted_spec(record.environment)
    for dependent in _dependents(berth, record):
        waiting = [w for w in dependent.waiting_for if w != record.service]
        if waiting or accepted is None:
            moved = berth.store.transition(
                dependent,
                {"PENDING"},
                waiting_for=waiting,
                reason=f"waiting for {', '.join(waiting)}",
            )
            if moved:
                outcomes.append(_pending_outcome(moved))
            continue
        spec = Spec.model_validate(accepted.document)
        if dependent.service not in spec.services:
            outcomes += skip(berth, dependent, f"{dependent.service} is no longer in the spec")
            continue
        outcomes += start(berth, dependent, spec, accepted)
    return outcomes


def skip(berth: Berth, record: DeploymentRecord, reason: str) -> list[Outcome]:
    done = berth.store.transition(
        record,
        {"PENDING"},
        status="SKIPPED",
        reason=reason,
        finished_at=berth.clock(),
        updated_at=berth.clock(),
    )
    return finish(berth, done, "SKIPPED", "ecs") if done else []


def skip_dependents(berth: Berth, record: DeploymentRecord) -> list[Outcome]:
    outcomes: list[Outcome] = []
    label = f"{record.service} {record.image.label}" if record.image else record.service
    verb = {
        "ROLLED_BACK": "failed and was rolled back",
        "TIMED_OUT": "timed out",
        "SKIPPED": "was skipped",
    }.get(record.status, "failed")
    for dependent in _dependents(berth, record):
        outcomes += skip(berth, dependent, f"its dependency {label} {verb}")
    return outcomes


# ---- image pushes ------------------------------------------------------------------------------


def on_image_pushed(berth: Berth, event: EcrImageAction) -> list[Outcome]:
    """An image was pushed: deploy it to every service of every accepted spec that tracks it."""
    detail = event.detail
    if not event.pushed:
        return [ignored(f"ECR {detail.action_type} {detail.result} of {detail.repository_name}")]
    if not detail.image_tag:
        return [ignored(f"untagged push to {detail.repository_name}; Berth follows tags")]
    image = Image(
        repository=detail.repository_name,
        tag=detail.image_tag,
        digest=detail.image_digest,
        pushed_at=event.time,
    )
    trigger = Trigger(kind="image", event_id=event.id, image=image)
    outcomes: list[Outcome] = []
    for accepted in berth.store.accepted_specs():
        if (accepted.account, accepted.region) != (event.account, event.region):
            continue
        spec = Spec.model_validate(accepted.document)
        for name in spec.deployment_order():
            if spec.services[name].image.repository == image.repository:
                outcomes += deploy_image(
                    berth, spec, accepted, name=name, image=image, trigger=trigger
                )
    if not outcomes:
        return [
            ignored(
                f"no accepted spec tracks {image.repository} "
                f"in account {event.account}, region {event.region}"
            )
        ]
    return outcomes


def deploy_image(
    berth: Berth, spec: Spec, accepted: AcceptedSpec, *, name: str, image: Image, trigger: Trigger
) -> list[Outcome]:
    """Judge a pushed image for one service and start (or queue) its deployment."""
    track = spec.services[name].image.track
    for _ in range(5):
        head = berth.store.get_head(spec.environment, name)
        resumable = _unstarted_claim(berth, head, image)
        if resumable is not None:
            return start(berth, resumable, spec, accepted)
        running = head.image
        verdict = judge_push(
            track,
            image.tag or "",
            image.digest,
            image.pushed_at or berth.clock(),
            RunningImage(running.tag, running.digest, running.pushed_at) if running else None,
        )
        if not verdict.deploy:
            if berth.settings.notify_ignored_pushes:
                berth.notifier.publish(
                    ignored_push_notification(
                        spec.environment, name, image, verdict.reason, berth.clock()
                    )
                )
            return [ignored(verdict.reason, spec.environment, name)]
        waiting = _busy_dependencies(berth, spec, name)
        record = _claim(
            berth,
            spec,
            name,
            image=image,
            run_id=_new_run_id(),
            trigger=trigger,
            waiting=waiting,
            head=head,
        )
        if record is None:
            continue  # another event moved the head: judge again against what it holds now
        if waiting:
            return [_pending_outcome(record)]
        return start(berth, record, spec, accepted)
    raise ConcurrentChange(f"{spec.environment}/{name}: the service head kept moving; retry")


def _unstarted_claim(berth: Berth, head: Head, image: Image) -> DeploymentRecord | None:
    """A record an earlier delivery of this push claimed but never started (it died first)."""
    if head.active_record_id is None or head.image is None or head.image.digest != image.digest:
        return None
    record = berth.store.get_record(head.environment, head.service, head.active_record_id)
    if record is None or record.status != "PENDING" or record.waiting_for:
        return None
    return record


def _busy_dependencies(berth: Berth, spec: Spec, name: str) -> list[str]:
    """Dependencies of `name` that have a deployment under way: it waits for them."""
    busy = []
    for dependency in spec.services[name].depends_on:
        head = berth.store.get_head(spec.environment, dependency)
        if head.active_record_id:
            record = berth.store.get_record(spec.environment, dependency, head.active_record_id)
            if record is not None and record.status in ACTIVE:
                busy.append(dependency)
    return busy
