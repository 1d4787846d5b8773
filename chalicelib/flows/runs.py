"""The life of a run: claim each service's head, start it on ECS, finish it, move dependents.

Records change status only through `Store.transition`, a conditional write: whoever wins it acts
and notifies, so a redelivered or concurrent event never announces an outcome twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from chalicelib.context import Berth
from chalicelib.decisions.causes import failure_causes
from chalicelib.decisions.changes import owned_settings, ownership_problem, service_update
from chalicelib.errors import AwsCallFailed
from chalicelib.rendering.comparison import same_task_definition
from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.schema_init import schema_group, schema_owner, schema_service
from chalicelib.rendering.schema_task import render_schema_task_definition, schema_run_task_request
from chalicelib.rendering.service_request import create_service_request, render_service_settings
from chalicelib.rendering.strategies import RolloutRoles, rollout_roles
from chalicelib.rendering.task_definition import log_groups, render_task_definition
from chalicelib.spec.model import Spec
from chalicelib.values.live import Applied, LiveService
from chalicelib.values.notifications.envelope import RECORDED_ERRORS, shortened
from chalicelib.values.outcomes import ACTION_OF, Outcome, ignored
from chalicelib.values.records import (
    ACTIVE,
    SPEC_SERVICE,
    AcceptedSpec,
    DeploymentRecord,
    EventSource,
    Head,
    Image,
    RunOutcome,
    TerminalStatus,
    Trigger,
    Waiter,
)

from .claims import claim, head_follows, new_record, new_run_id, pending_outcome, update_head
from .fanout import open_run, send_batches
from .lease import RELEASED, release_start_lease, take_start_lease
from .sidecars import sidecar_refs


@dataclass(frozen=True)
class Step:
    """One service of a run, the image it is to run, and the desired count to set (when the
    spec changed it)."""

    service: str
    image: Image
    desired_count: int | None = None
    sidecar_images: dict[str, Image] = field(default_factory=dict)
    """The tracked sidecars' images, by container."""
    schema: bool = False
    """Run the service's schema task first (its first deployment, issue 16): a record of the
    pseudo-service `<service>.schema` that this step's record waits for."""


def with_schema_steps(steps: list[Step]) -> list[Step]:
    """The steps of a run with each schema task as a step of its own, just before its service."""
    expanded: list[Step] = []
    for step in steps:
        if step.schema:
            expanded.append(Step(schema_service(step.service), step.image))
        expanded.append(step)
    return expanded


def adoptable(berth: Berth, environment: str) -> frozenset[str]:
    """The untagged services (`cluster/service`) the stage lets `environment` take over
    (BERTH_ENVIRONMENT_ADOPT)."""
    fence = berth.settings.fence
    return fence.adoptable.get(environment, frozenset()) if fence else frozenset()


def image_ref(image: Image) -> ImageRef:
    return ImageRef(image.repository, image.digest, image.tag)


def reject(
    berth: Berth,
    environment: str,
    trigger: Trigger,
    errors: list[str],
    reason: str,
    *,
    service: str = SPEC_SERVICE,
) -> Outcome:
    """Record and announce a change that deploys nothing, with every error found (as many as
    one record holds)."""
    record = new_record(
        berth,
        environment,
        service,
        new_run_id(),
        trigger,
        status="REJECTED",
        errors=shortened(errors, RECORDED_ERRORS),
        errors_total=len(errors),
        reason=reason,
        finished_at=berth.clock(),
    )
    berth.store.put_record(record)
    berth.announce(record, "REJECTED", trigger.kind)
    return Outcome(
        action="rejected",
        environment=environment,
        service=None if service == SPEC_SERVICE else service,
        reason=reason,
        record_id=record.record_id,
    )


def run_steps(
    berth: Berth, spec: Spec, accepted: AcceptedSpec, steps: list[Step], trigger: Trigger
) -> list[Outcome]:
    """Record every step of a run, then start those whose dependencies are not part of it. A
    wide run (more steps than BERTH_WIDE_RUN) is told as one, and its starts are fanned out."""
    run_id = new_run_id()
    steps = with_schema_steps(steps)
    changing = {step.service for step in steps}
    run_size = len(steps) if len(steps) > berth.settings.wide_run else None
    if run_size:
        open_run(berth, spec.environment, run_id, [step.service for step in steps], trigger)
    outcomes: list[Outcome] = []
    ready: list[DeploymentRecord] = []
    for step in steps:
        waiting = (
            []
            if schema_owner(step.service) is not None
            else [d for d in spec.services[step.service].depends_on if d in changing]
        )
        if step.schema:
            waiting.append(schema_service(step.service))
        record = claim(
            berth, spec, step.service, image=step.image, run_id=run_id, trigger=trigger,
            waiting=waiting, desired_count=step.desired_count, run_size=run_size,
            sidecar_images=step.sidecar_images,
        )  # fmt: skip
        if record is None:
            reason = "superseded by a concurrent change"
            if run_size:
                berth.count_in_run(run_id, RunOutcome(service=step.service, status="SUPERSEDED",
                                                      reason=reason))  # fmt: skip
            outcomes.append(ignored(reason, spec.environment, step.service))
        elif waiting:
            outcomes.append(pending_outcome(record))
        else:
            ready.append(record)
    if run_size and ready:
        return outcomes + send_batches(
            berth, spec, [r.service for r in ready], kind="start", run_id=run_id,
            run_size=run_size, trigger=trigger, records={r.service: r.record_id for r in ready},
        )  # fmt: skip
    for record in ready:
        outcomes += start(berth, record, spec, accepted)
    return outcomes


# ---- starting ----------------------------------------------------------------------------------


def start(
    berth: Berth,
    record: DeploymentRecord,
    spec: Spec,
    accepted: AcceptedSpec,
    leased: Head | None = None,
) -> list[Outcome]:
    """Start a claimed record on ECS, holding the service's start lease meanwhile.

    Only the head's owner may change the service, and one start at a time: otherwise a claim
    that a newer push superseded while it was starting could update the service after the newer
    one, leaving the older image running and the newer record waiting for ever.

    `leased` is the head as this invocation's claim wrote it, lease included: the record is
    then new and its start the first attempt."""
    if leased is None or leased.starting_record_id != record.record_id:
        if not take_start_lease(berth, record):
            return [
                ignored(
                    "superseded by a newer change before it started", record.environment,
                    record.service,
                )
            ]  # fmt: skip
        current = berth.store.get_record(record.environment, record.service, record.record_id)
        if current is None or current.status != "PENDING":
            release_start_lease(berth, record)
            return [ignored("another delivery started it", record.environment, record.service)]
        leased = None
    released = False
    try:
        if schema_owner(record.service) is not None:
            outcomes, released = _start_schema(berth, record, spec, accepted)
        elif leased is not None and _image_only(record, leased):
            outcomes, released = _start_image(berth, record, spec, accepted, leased)
        else:
            outcomes, released = _start(berth, record, spec, accepted)
        return outcomes
    finally:
        if not released:
            release_start_lease(berth, record)


def _image_only(record: DeploymentRecord, head: Head) -> bool:
    """A push to a service Berth already runs: only the image changes, so ECS needs no
    describing first (a new digest always makes a new task definition, and the head knows the
    previous one and the log groups)."""
    return (
        record.trigger.kind == "image"
        and record.desired_count is None
        and head.task_definition_arn is not None
        and head.task_definition_arn == record.previous_task_definition_arn
    )


Started = tuple[list[Outcome], bool]
"""A start's outcomes, and whether its last head write released the start lease."""


def _start_image(
    berth: Berth, record: DeploymentRecord, spec: Spec, accepted: AcceptedSpec, head: Head
) -> Started:
    """A push's first attempt on a service Berth runs: register and update, nothing else.

    Four ECS calls become two: DescribeServices is not needed because the head names the task
    definition the service runs (Berth's own, so the service is this environment's), and
    DescribeTaskDefinition is not needed because a new digest always means a new task
    definition. A push changes only the image (service settings are the spec's business, as
    with ecs-deploy). If the service is gone, the full start (describe, then create) takes over.
    """
    name = record.service
    assert record.image is not None
    rendered = render_task_definition(
        spec, name, image_ref(record.image), accepted.account, accepted.region,
        sidecars=sidecar_refs(record.sidecar_images),
    )  # fmt: skip
    groups = log_groups(rendered)
    try:
        for group in sorted(groups - set(head.log_groups or ())):
            berth.logs.ensure_group(group, berth.settings.log_retention_days)
        arn = berth.ecs.register(rendered)
        applied = berth.ecs.update_service(
            {"cluster": spec.cluster, "service": name, "taskDefinition": arn}
        )
    except AwsCallFailed as failure:
        if failure.code in SERVICE_GONE:
            return _start(berth, record, spec, accepted)
        return fail(
            berth, record, reason="an AWS call failed; the service was not changed",
            errors=[str(failure)], source=record.trigger.kind,
        ), False  # fmt: skip
    changes = _started_changes(
        berth, spec, record, arn=arn, applied=applied,
        previous_task_definition_arn=record.previous_task_definition_arn,
    )  # fmt: skip
    if applied.deployment_id is None:
        return _applied_in_place(berth, record, changes), False
    # The head as this invocation's claim wrote it: nobody else may have written it while the
    # lease was held, except a newer claim (then re-read by update_head).
    head_changes = {"task_definition_arn": arn, "log_groups": sorted(groups), **RELEASED}
    return _record_start(berth, record, head.model_copy(update=head_changes), changes, arn)


def _record_start(
    berth: Berth, record: DeploymentRecord, head: Head, changes: dict[str, Any], arn: str
) -> Started:
    """Write the record IN_PROGRESS and `head` (the lease released) in one call; if the head had
    moved (a newer claim), write the head's part through `update_head` instead."""
    started, written = berth.store.transition_with_head(
        record, {"PENDING"}, head, status="IN_PROGRESS", reason="", **changes
    )
    if started is None:
        return [], False
    released = written is not None or update_head(
        berth, started, task_definition_arn=head.task_definition_arn,
        log_groups=head.log_groups, **RELEASED,
    )  # fmt: skip
    return _announce_started(berth, started, arn, started.ecs_deployment_id), released


# ECS's answers to UpdateService for a service that was deleted (ECS API reference, UpdateService
# errors): the full start then creates it again.
SERVICE_GONE = frozenset({"ServiceNotFoundException", "ServiceNotActiveException"})


def _started_changes(
    berth: Berth,
    spec: Spec,
    record: DeploymentRecord,
    *,
    arn: str,
    applied: Applied,
    previous_task_definition_arn: str | None,
) -> dict[str, Any]:
    now = berth.clock()
    deployment = spec.services[record.service].deployment
    breaker = deployment.circuit_breaker
    # ECS rolls a blue/green, canary or linear deployment back when a lifecycle hook fails, and
    # any deployment when one of its alarms fires (rendered with rollback:
    # chalicelib.rendering.strategies).
    rolls_back = deployment.strategy != "rolling" or bool(deployment.alarms)
    return {
        "task_definition_arn": arn,
        "previous_task_definition_arn": previous_task_definition_arn,
        "ecs_service_arn": applied.service_arn,
        "ecs_deployment_id": applied.deployment_id,
        "rollback_enabled": (breaker.enable and breaker.rollback) or rolls_back,
        "started_at": now,
        "updated_at": now,
        "waiting_for": [],
    }


def _applied_in_place(
    berth: Berth, record: DeploymentRecord, changes: dict[str, Any]
) -> list[Outcome]:
    """Only service settings changed (desired count, deployment configuration): ECS applies
    them in place, without a deployment to follow."""
    done = berth.store.transition(
        record, {"PENDING"}, status="COMPLETED", finished_at=berth.clock(),
        **{**changes, "reason": "service settings updated in place"},
    )  # fmt: skip
    return finish(berth, done, "COMPLETED", record.trigger.kind) if done else []


def _announce_started(
    berth: Berth, started: DeploymentRecord, arn: str, deployment_id: str | None
) -> list[Outcome]:
    # A start is told only on a stage that opts in (BERTH_NOTIFY_STARTED=true, Settings.
    # notify_started); the outcome is told either way.
    if berth.settings.notify_started:
        berth.announce(started, "STARTED", started.trigger.kind)
    return [
        Outcome(
            action="started",
            environment=started.environment,
            service=started.service,
            record_id=started.record_id,
            ecs_deployment_id=deployment_id,
            task_definition_arn=arn,
        )
    ]


def _start(
    berth: Berth, record: DeploymentRecord, spec: Spec, accepted: AcceptedSpec
) -> Started:
    """Register the task definition and create or update the service; record what happened."""
    name = record.service
    assert record.image is not None
    rendered = render_task_definition(
        spec, name, image_ref(record.image), accepted.account, accepted.region,
        sidecars=sidecar_refs(record.sidecar_images),
    )  # fmt: skip
    roles = rollout_roles(
        berth.settings.fence, spec.environment, accepted.account, accepted.region
    )
    try:
        live = berth.ecs.service(spec.cluster, name)
        owned = (
            ownership_problem(live, spec.environment, adoptable(berth, spec.environment))
            if live is not None
            else None
        )
        if owned is not None:
            return fail(
                berth, record, reason="the service is not this environment's; nothing changed",
                errors=[owned], source=record.trigger.kind,
            ), False  # fmt: skip
        live_definition = (
            berth.ecs.task_definition(live.task_definition_arn)
            if live is not None and live.task_definition_arn
            else None
        )
        # The log group must exist before the first task starts; it is ensured when it is new
        # to the service, so a push to a running service costs no Logs call.
        for group in log_groups(rendered) - log_groups(live_definition or {}):
            berth.logs.ensure_group(group, berth.settings.log_retention_days)
        if live_definition is not None and same_task_definition(live_definition, rendered):
            arn = live_definition["taskDefinitionArn"]
        else:
            arn = berth.ecs.register(rendered)
        if live is None:
            token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{record.target}/{record.record_id}"))
            request = create_service_request(spec, name, arn, token, roles)
            applied = berth.ecs.create_service(request)
        else:
            applied = berth.ecs.update_service(_update_request(spec, record, arn, live, roles))
    except AwsCallFailed as failure:
        return fail(
            berth, record, reason="an AWS call failed; the service was not changed",
            errors=[str(failure)], source=record.trigger.kind,
        ), False  # fmt: skip
    # An earlier delivery of this event may have updated the service and died before recording
    # it: the service then already runs `arn`, and the rollout to follow is the live one.
    resumed = live is not None and live.task_definition_arn == arn
    previous = record.previous_task_definition_arn if resumed else (
        live.task_definition_arn if live else None
    )
    changes = _started_changes(
        berth, spec, record, arn=arn, applied=applied, previous_task_definition_arn=previous
    )
    rolled = applied.deployment_id is not None and (
        live is None
        or applied.deployment_id != live.primary_deployment_id
        or live.primary_rollout_state == "IN_PROGRESS"
    )
    if not rolled:
        return _applied_in_place(berth, record, changes), False
    head = berth.store.get_head(record.environment, name)
    if head.active_record_id != record.record_id:  # superseded meanwhile: the record only
        started = berth.store.transition(
            record, {"PENDING"}, status="IN_PROGRESS", reason="", **changes
        )
        return (_announce_started(berth, started, arn, applied.deployment_id), False) if (
            started
        ) else ([], False)
    head_changes = {"task_definition_arn": arn, "log_groups": sorted(log_groups(rendered))}
    return _record_start(
        berth, record, head.model_copy(update={**head_changes, **RELEASED}), changes, arn
    )


def _start_schema(
    berth: Berth, record: DeploymentRecord, spec: Spec, accepted: AcceptedSpec
) -> Started:
    """Run a service's schema task (issue 16): register its task definition, RunTask it with
    the group its Task State Change events carry back; the record IN_PROGRESS with the task."""
    owner = schema_owner(record.service)
    assert owner is not None and record.image is not None
    rendered = render_schema_task_definition(
        spec, owner, image_ref(record.image), accepted.account, accepted.region
    )
    # The client token makes a retried start of the same record one task (RunTask clientToken).
    token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{record.target}/{record.record_id}"))
    try:
        for group in sorted(log_groups(rendered)):
            berth.logs.ensure_group(group, berth.settings.log_retention_days)
        arn = berth.ecs.register(rendered)
        request = schema_run_task_request(spec, owner, arn, token)
        request["group"] = schema_group(spec.environment, owner)
        task_arn = berth.ecs.run_task(request)
    except AwsCallFailed as failure:
        return fail(
            berth, record, reason="an AWS call failed; the schema task did not run",
            errors=[str(failure)], source=record.trigger.kind,
        ), False  # fmt: skip
    now = berth.clock()
    started = berth.store.transition(
        record, {"PENDING"}, status="IN_PROGRESS", reason="the schema task runs",
        task_definition_arn=arn, ecs_task_arn=task_arn, started_at=now, updated_at=now,
        waiting_for=[],
    )  # fmt: skip
    if started is None:
        return [], False
    return _announce_started(berth, started, arn, None), False


def _update_request(
    spec: Spec,
    record: DeploymentRecord,
    arn: str,
    live: LiveService,
    roles: RolloutRoles | None = None,
) -> dict[str, Any]:
    settings = owned_settings(
        render_service_settings(spec, record.service, roles),
        desired_count_changed=record.desired_count is not None,
    )
    if record.desired_count is not None:
        settings["desiredCount"] = record.desired_count
    return {
        "cluster": spec.cluster,
        "service": record.service,
        "taskDefinition": arn,
        **service_update(settings, live),
    }


# ---- finishing ---------------------------------------------------------------------------------


def fail(
    berth: Berth, record: DeploymentRecord, reason: str, errors: list[str], source: EventSource
) -> list[Outcome]:
    now = berth.clock()
    done = berth.store.transition(
        record, ACTIVE, status="FAILED", reason=reason, errors=errors, finished_at=now,
        updated_at=now,
    )  # fmt: skip
    return finish(berth, done, "FAILED", source) if done else []


def finish(
    berth: Berth, record: DeploymentRecord, status: TerminalStatus, source: EventSource
) -> list[Outcome]:
    """A record reached a terminal status: announce it, fix the head, move its dependents on."""
    head, dependents = _head_and_dependents(berth, record)
    skipped = [] if status == "COMPLETED" else [d.service for d, _ in dependents]
    berth.announce(record, status, source, skipped)
    return follow_up(berth, record, status, (head, dependents))


def follow_up(
    berth: Berth,
    record: DeploymentRecord,
    status: TerminalStatus,
    known: tuple[Head, Dependents] | None = None,
    *,
    head_written: bool = False,
) -> list[Outcome]:
    """What a terminal record implies for its head and dependents; safe to repeat, so a
    redelivered event finishes work an earlier, failed delivery left undone. The head and the
    dependents are read here unless the caller has them (`known`); `head_written` when the
    record's own write already moved the head."""
    head, waiting = known or _head_and_dependents(berth, record)
    outcomes = [
        Outcome(
            action=ACTION_OF[status],
            environment=record.environment,
            service=record.service,
            reason=record.reason,
            record_id=record.record_id,
            ecs_deployment_id=record.ecs_deployment_id,
            task_definition_arn=record.task_definition_arn,
        )
    ]
    if not head_written:
        update_head(berth, record, head, **_head_after(record, status))
    if status == "COMPLETED":
        return outcomes + release_dependents(berth, record, waiting)
    return outcomes + skip_dependents(berth, record, waiting)


def _head_after(record: DeploymentRecord, status: TerminalStatus) -> dict[str, Any]:
    """What the service head says once `record` ended in `status`."""
    if status == "COMPLETED":
        return {"active_record_id": None}
    if status == "TIMED_OUT" and record.ecs_still_rolling:
        # ECS is still moving the service to this record's image: that is what will run, so the
        # head keeps it (ECS's late outcome corrects the record, and the head if it failed).
        return {
            "image": record.image,
            "sidecar_images": record.sidecar_images,
            "task_definition_arn": record.task_definition_arn,
            "active_record_id": None,
        }
    # The service keeps (or went back to) what it ran before this record.
    return {
        "image": record.previous_image,
        "sidecar_images": record.previous_sidecar_images,
        "task_definition_arn": record.previous_task_definition_arn,
        "active_record_id": None,
    }


class StaleCopy(Exception):
    """A write based on a copy of a record (the one its head keeps) found the record written
    since the copy: nothing was written; read the record and decide again. A retry signal, not a
    user error."""


def conclude(
    berth: Berth,
    record: DeploymentRecord,
    allowed: set[str] | frozenset[str],
    status: TerminalStatus,
    source: EventSource,
    *,
    known: Known | None = None,
    unchanged: bool = False,
    **changes: Any,
) -> list[Outcome]:
    """Move a record from `allowed` to a terminal `status`, with the head, in one write, and
    announce it. If a redelivered event finds it there already, only redo the follow-ups (head,
    dependents), which an earlier delivery may have left undone; it is announced once. `known`
    is the service's head and waiters when the caller just read them. With `unchanged`,
    `record` is the head's copy: the write also requires the stored record to be that very
    write, and raises `StaleCopy` (having written nothing) when it is not."""
    now = berth.clock()
    moved = {"status": status, "updated_at": now, "finished_at": now, **changes}
    head, dependents = _head_and_dependents(berth, record, known)
    written: Head | None = None
    if head_follows(head, record):
        after = _head_after(record.model_copy(update=moved), status)
        done, written = berth.store.transition_with_head(
            record, allowed, head.model_copy(update=after), unchanged=unchanged, **moved
        )
    else:
        done = berth.store.transition(record, allowed, unchanged=unchanged, **moved)
    if done is None and unchanged:
        raise StaleCopy(f"{record.target} {record.record_id} was written since its copy")
    if done is not None:
        skipped = [] if status == "COMPLETED" else [d.service for d, _ in dependents]
        berth.announce(done, status, source, skipped)
        return follow_up(
            berth, done, status, (head, dependents), head_written=written is not None
        )
    current = berth.store.get_record(record.environment, record.service, record.record_id)
    if current is not None and current.status == status:
        return follow_up(berth, current, status)
    return []


def causes_of(berth: Berth, record: DeploymentRecord) -> list[str]:
    """What ECS says about the record's stopped tasks and service, added to its known causes
    (the reason ECS gave is the record's reason, not repeated as a cause)."""
    causes: list[str] = []
    try:
        stopped = (
            berth.ecs.stopped_tasks(record.cluster, record.ecs_deployment_id)
            if record.ecs_deployment_id
            else []
        )
        service = berth.ecs.description(record.cluster, record.service)
        causes += failure_causes(stopped, service, record.ecs_deployment_id)
    except AwsCallFailed as failure:
        causes.append(f"could not read the stopped tasks: {failure}")
    return list(dict.fromkeys([*record.causes, *causes]))


# ---- dependents --------------------------------------------------------------------------------

Dependents = list[tuple[DeploymentRecord, Waiter]]
"""The PENDING records waiting for a service, each with its waiter entry on that service."""


Known = tuple[Head, list[Waiter]]
"""A service's head and the waiter entries in its partition, as one Query just read them."""


def _head_and_dependents(
    berth: Berth, record: DeploymentRecord, known: Known | None = None
) -> tuple[Head, Dependents]:
    """`record`'s service head and the PENDING records waiting for that service, found through
    the waiter entries their claims wrote in its partition (one consistent Query unless `known`,
    nothing more when no one waits; entries of records that stopped waiting are cleared)."""
    head, waiters = known or berth.store.head_and_waiters(record.environment, record.service)
    dependents: Dependents = []
    for waiter in waiters:
        dependent = berth.store.get_record(waiter.environment, waiter.service, waiter.record_id)
        if dependent is None or dependent.status != "PENDING" or (
            record.service not in dependent.waiting_for
        ):
            berth.store.forget_waiter(record.service, waiter)
            continue
        dependents.append((dependent, waiter))
    return head, dependents


def release_dependents(
    berth: Berth, record: DeploymentRecord, dependents: Dependents
) -> list[Outcome]:
    """Start the PENDING records that were waiting only for `record`'s service."""
    outcomes: list[Outcome] = []
    accepted = berth.store.accepted_spec(record.environment) if dependents else None
    for dependent, waiter in dependents:
        waiting = [w for w in dependent.waiting_for if w != record.service]
        if waiting or accepted is None:
            moved = berth.store.transition(
                dependent, {"PENDING"}, waiting_for=waiting,
                reason=f"waiting for {', '.join(waiting)}",
            )  # fmt: skip
            if moved:
                outcomes.append(pending_outcome(moved))
                berth.store.forget_waiter(record.service, waiter)
            continue
        spec = Spec.model_validate(accepted.document)
        if dependent.service not in spec.services:
            outcomes += skip(berth, dependent, f"{dependent.service} is no longer in the spec")
        else:
            outcomes += start(berth, dependent, spec, accepted)
        berth.store.forget_waiter(record.service, waiter)
    return outcomes


def skip(berth: Berth, record: DeploymentRecord, reason: str) -> list[Outcome]:
    now = berth.clock()
    done = berth.store.transition(
        record, {"PENDING"}, status="SKIPPED", reason=reason, finished_at=now, updated_at=now
    )
    return finish(berth, done, "SKIPPED", "ecs") if done else []


_DEPENDENCY_VERB = {
    "ROLLED_BACK": "failed and was rolled back",
    "TIMED_OUT": "timed out",
    "SKIPPED": "was skipped",
}


def skip_dependents(
    berth: Berth, record: DeploymentRecord, dependents: Dependents
) -> list[Outcome]:
    label = f"{record.service} {record.label}" if record.label else record.service
    verb = _DEPENDENCY_VERB.get(record.status, "failed")
    outcomes: list[Outcome] = []
    for dependent, waiter in dependents:
        outcomes += skip(berth, dependent, f"its dependency {label} {verb}")
        berth.store.forget_waiter(record.service, waiter)
    return outcomes
