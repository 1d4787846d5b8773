"""A claimed record's start on ECS, one at a time per service (the start lease): a push's image
on a service Berth runs, the full start (describe, register, create or update), or a service's
schema task; the record IN_PROGRESS, or ended when the start failed or ECS applied it in place.

Records change status only through `Store.transition`, a conditional write: whoever wins it acts
and notifies, so a redelivered or concurrent event never announces an outcome twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.context import Berth
from chalicelib.decisions.changes import (
    adoption_tags,
    owned_settings,
    ownership_problem,
    service_update,
)
from chalicelib.decisions.redrive import FoundAgain, found_again
from chalicelib.decisions.staleness import stale_reason
from chalicelib.errors import AwsCallFailed
from chalicelib.rendering.comparison import same_task_definition
from chalicelib.rendering.schema_init import schema_owner
from chalicelib.rendering.service_request import create_service_request, render_service_settings
from chalicelib.rendering.strategies import RolloutRoles, rollout_roles
from chalicelib.rendering.task_definition import log_groups, render_task_definition
from chalicelib.spec.located import path_text
from chalicelib.spec.model import Spec
from chalicelib.spec.parse import fenced_problems
from chalicelib.values.live import Applied, LiveService
from chalicelib.values.outcomes import Outcome, ignored
from chalicelib.values.records import AcceptedSpec, DeploymentRecord, Head

from ..claims import head_follows, update_head
from ..lease import RELEASED, LeaseLost, hold_lease, release_start_lease, take_start_lease
from ..sidecars import sidecar_refs
from .finish import fail, finish
from .schema_start import start_schema
from .shared import adoptable, image_ref


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
    first = leased is not None and leased.starting_record_id == record.record_id
    if leased is None or not first:
        taken = take_start_lease(berth, record)
        if taken == "stale":
            return _stale(berth, record)
        if taken == "superseded":
            return [
                ignored(
                    "superseded by a newer change before it started", record.environment,
                    record.service,
                )
            ]  # fmt: skip
        leased = taken
        current = berth.store.get_record(record.environment, record.service, record.record_id)
        if current is None or current.status != "PENDING":
            release_start_lease(berth, record, leased.lease_token)
            return [ignored("another delivery started it", record.environment, record.service)]
    released = False
    try:
        fenced = _fence_now(berth, spec)
        if fenced:
            # The spec was accepted under the stage's fence of then; the stage may have been
            # redeployed with narrower environments since (issue 29). What the fence refuses
            # today is not started, whichever event (push, batch, claim, retry) asks.
            return fail(
                berth, record, reason="the stage's fence no longer allows this spec (the stage "
                "was redeployed with narrower environments since it was accepted); nothing was "
                "changed: upload a spec the fence allows", errors=fenced,
                source=record.trigger.kind,
            )  # fmt: skip
        if schema_owner(record.service) is not None:
            outcomes, released = _start_schema(berth, record, spec, accepted)
        elif first and _image_only(record, leased) and leased.taken_over is None:
            outcomes, released = _start_image(berth, record, spec, accepted, leased)
        else:
            outcomes, released = _start(berth, record, spec, accepted, leased)
        return outcomes
    finally:
        if not released:
            release_start_lease(berth, record, leased.lease_token)


def _stale(berth: Berth, record: DeploymentRecord) -> list[Outcome]:
    """The record was decided under a spec version the environment has since replaced: it ends
    SUPERSEDED with the reason, and nothing reaches ECS (issue 29). The head goes back to what
    runs, as after any record that did not complete."""
    reason = stale_reason(record, berth.store.accepted_spec(record.environment))
    now = berth.clock()
    done = berth.store.transition(
        record, {"PENDING"}, status="SUPERSEDED", reason=reason, finished_at=now, updated_at=now
    )
    return finish(berth, done, "SUPERSEDED", record.trigger.kind) if done else []


def _fence_now(berth: Berth, spec: Spec) -> list[str]:
    """What the stage's fence as it is now refuses of `spec`, one line each."""
    fence = berth.settings.fence
    if fence is None:
        return []
    found = fenced_problems(spec, fence)
    return [f"{path_text(path)}: {reason}" for path, reason in found]


def _rendered(record: DeploymentRecord, spec: Spec, accepted: AcceptedSpec) -> dict[str, Any]:
    """The task definition of the record's image (and its tracked sidecars') by the spec."""
    assert record.image is not None
    return render_task_definition(
        spec, record.service, image_ref(record.image), accepted.account, accepted.region,
        sidecars=sidecar_refs(record.sidecar_images),
    )  # fmt: skip


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
    rendered = _rendered(record, spec, accepted)
    groups = log_groups(rendered)
    try:
        for group in sorted(groups - set(head.log_groups or ())):
            berth.logs.ensure_group(group, berth.settings.log_retention_days)
        arn = berth.ecs.register(rendered)
        held = hold_lease(berth, record, head)
        if isinstance(held, str):
            return _lease_lost(record, held), False
        head = held
        applied = berth.ecs.update_service(
            {"cluster": spec.cluster, "service": name, "taskDefinition": arn}
        )
    except AwsCallFailed as failure:
        if failure.code in SERVICE_GONE:
            return _start(berth, record, spec, accepted, head)
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
    # lease was held, except a newer claim (then re-read).
    head_changes = {"task_definition_arn": arn, "log_groups": sorted(groups)}
    return _record_start(
        berth, record, head, part=head_changes, changes=changes, arn=arn, lease=head
    )


def _record_start(
    berth: Berth,
    record: DeploymentRecord,
    head: Head,
    *,
    part: dict[str, Any],
    changes: dict[str, Any],
    arn: str,
    lease: Head,
) -> Started:
    """Write the record IN_PROGRESS and `head` with `part` (the lease released) in one call; if
    the head had moved (a newer claim), write `part` again on the head as it is now, while the
    lease is still this start's (`lease`, as its confirmation wrote it)."""
    if head.lease_token != lease.lease_token:  # the head was re-read and another holds it
        return _recorded_after_lease(berth, record, changes, arn, lease), False
    started, written = berth.store.transition_with_head(
        record, {"PENDING"}, head.model_copy(update={**part, **RELEASED}),
        status="IN_PROGRESS", reason="", **changes,
    )  # fmt: skip
    if started is None:
        return [], False
    if written is not None:
        return _announce_started(berth, started, arn, started.ecs_deployment_id), True
    for _ in range(3):
        now = berth.store.get_head(record.environment, record.service)
        if now.lease_token != lease.lease_token:
            _note_lease_ran_out(berth, started, lease)
            return _announce_started(berth, started, arn, started.ecs_deployment_id), True
        if not head_follows(now, started):
            break  # a newer claim owns the head: only the lease is released (start's finally)
        if berth.store.put_head(now.model_copy(update={**part, **RELEASED})) is not None:
            return _announce_started(berth, started, arn, started.ecs_deployment_id), True
    return _announce_started(berth, started, arn, started.ecs_deployment_id), False


def _recorded_after_lease(
    berth: Berth, record: DeploymentRecord, changes: dict[str, Any], arn: str, lease: Head
) -> list[Outcome]:
    """ECS applied this start after its lease had passed to another start: the record says what
    ECS got and that it came late; the head is the other holder's, and keeps its mark of this
    start's call (`Head.ecs_call`), so the next start describes the service first."""
    started = berth.store.transition(
        record, {"PENDING"}, status="IN_PROGRESS", reason="", **changes
    )
    if started is None:
        return []
    _note_lease_ran_out(berth, started, lease)
    return _announce_started(berth, started, arn, started.ecs_deployment_id)


def _note_lease_ran_out(berth: Berth, started: DeploymentRecord, lease: Head) -> None:
    until = lease.starting_until.isoformat() if lease.starting_until else "its end"
    cause = (
        f"ECS applied this start after its start lease had run out (held until {until}, "
        f"recorded at {berth.clock().isoformat()}); the next start of {started.service} "
        "describes the service before acting"
    )
    berth.store.transition(started, {"IN_PROGRESS"}, causes=[*started.causes, cause])


def _earlier_call(record: DeploymentRecord, lease: Head) -> dict[str, Any]:
    """The next holder sees what happened (lease module): the lease it took over, never
    released by its holder, as a cause on this start's record."""
    earlier = lease.taken_over
    if earlier is None:
        return {}
    until = earlier.until.isoformat() if earlier.until else "its end"
    cause = (
        f"the start lease of record {earlier.record_id} (until {until}) was never released: "
        "its start died or was slow, so what it did on ECS was read from ECS (the service "
        "described) before this start"
    )
    return {"causes": [*record.causes, cause]}


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


def _ended_earlier(
    berth: Berth,
    record: DeploymentRecord,
    changes: dict[str, Any],
    found: FoundAgain,
    groups: set[str],
) -> list[Outcome]:
    """An earlier delivery's deployment of this very build, which ECS has already ended: the
    record says so, as ECS reports it (its outcome event, when redriven, finds it settled)."""
    assert found.ended is not None
    arn = changes["task_definition_arn"]
    done = berth.store.transition(
        record, {"PENDING"}, status=found.ended, finished_at=berth.clock(),
        **{**changes, "reason": found.reason(arn)},
    )  # fmt: skip
    if done is None:
        return []
    if found.ended == "COMPLETED":  # the head names what runs now, as after any rollout
        update_head(berth, done, task_definition_arn=arn, log_groups=sorted(groups))
    return finish(berth, done, found.ended, record.trigger.kind)


def _lease_lost(record: DeploymentRecord, lost: LeaseLost) -> list[Outcome]:
    """The start may not call ECS, and changed nothing: superseded, the newer claim has ended
    the record; lost, another start holds the service (the same record's, or a newer one's)."""
    reason = (
        "superseded by a newer change before it changed ECS" if lost == "superseded" else
        "its start lease ran out and another start holds the service; ECS was not called"
    )  # fmt: skip
    return [ignored(reason, record.environment, record.service)]


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
    berth: Berth, record: DeploymentRecord, spec: Spec, accepted: AcceptedSpec, lease: Head
) -> Started:
    """Register the task definition and create or update the service; record what happened.
    `lease` is the head as this start's lease (or its confirmation) wrote it."""
    name = record.service
    rendered = _rendered(record, spec, accepted)
    roles = rollout_roles(
        berth.settings.fence, spec.environment, accepted.account, accepted.region
    )
    try:
        live = berth.ecs.service(spec.cluster, name)
        owned = (
            ownership_problem(
                live, spec.environment, adoptable(berth, spec.environment), berth.settings.stage
            )
            if live is not None
            else None
        )
        if owned is not None:
            return fail(
                berth, record, reason="the service is not this environment's; nothing changed",
                errors=[owned], source=record.trigger.kind,
            ), False  # fmt: skip
        claim = adoption_tags(live, spec.environment, name, berth.settings.stage)
        if live is not None and claim:
            # An untagged service the operator lists for adoption: tagged as this stage's and
            # environment's first, so the stage's policy lets Berth change it from now on.
            berth.ecs.tag_service(live.arn, claim)
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
        held = hold_lease(berth, record, lease)
        if isinstance(held, str):
            return _lease_lost(record, held), False
        lease = held
        if live is None:
            # CreateService's clientToken makes a second create of this record (another
            # delivery, a holder whose lease ran out) the same request; UpdateService takes none
            # (ECS API reference), which is what the lease confirmation is for.
            token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{record.target}/{record.record_id}"))
            request = create_service_request(
                spec, name, arn, token, roles, stage=berth.settings.stage
            )
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
    changes |= _earlier_call(record, lease)
    found = found_again(live, arn, record.previous_task_definition_arn)
    if found is not None and found.ended and applied.deployment_id == found.deployment_id:
        return _ended_earlier(berth, record, changes, found, log_groups(rendered)), False
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
        berth, record, head, part=head_changes, changes=changes, arn=arn, lease=lease
    )


def _start_schema(
    berth: Berth, record: DeploymentRecord, spec: Spec, accepted: AcceptedSpec
) -> Started:
    """Run a service's schema task (issue 16), at most once per environment, database and
    schema version (issue 29): `schema_start.start_schema`."""
    outcomes, started = start_schema(berth, record, spec, accepted)
    if started is not None:
        outcomes += _announce_started(berth, started, started.task_definition_arn or "", None)
    return outcomes, False


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
