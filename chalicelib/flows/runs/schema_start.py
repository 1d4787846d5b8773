"""A schema record's start (issue 16), at most once per environment, database and schema
version (issue 29): the record takes the database's schema run in the store by a conditional
write before its RunTask, follows the task another record already runs for the same database
and version, or ends COMPLETED when the database already holds the schema; a task the service's
newer record no longer wants (another database or version) is stopped.

The start lease already serialises starts of one service's schema records; the schema run is
what orders them across records, redeliveries and services that share a database.
"""

from __future__ import annotations

import uuid

from chalicelib.context import Berth
from chalicelib.decisions.schema_runs import (
    schema_database,
    schema_start,
    schema_version,
    stop_reason,
    superseded_runs,
)
from chalicelib.errors import AwsCallFailed
from chalicelib.rendering.schema_init import schema_group, schema_owner, schema_plan, schema_service
from chalicelib.rendering.schema_task import render_schema_task_definition, schema_run_task_request
from chalicelib.rendering.task_definition import log_groups
from chalicelib.spec.model import Spec
from chalicelib.values.outcomes import Outcome, ignored, warned
from chalicelib.values.records import ACTIVE, AcceptedSpec, DeploymentRecord
from chalicelib.values.schema_runs import SchemaRun, SchemaRunStatus

from ..lease import ConcurrentChange
from .finish import conclude, fail
from .shared import image_ref

SchemaStarted = tuple[list[Outcome], DeploymentRecord | None]
"""The start's outcomes, and the record as written IN_PROGRESS when this start ran its task
(`start` announces it, as every start's)."""

_TAKE_ATTEMPTS = 3


def start_schema(
    berth: Berth, record: DeploymentRecord, spec: Spec, accepted: AcceptedSpec
) -> SchemaStarted:
    """Start schema record `record` under the service's start lease."""
    owner = schema_owner(record.service)
    assert owner is not None and record.image is not None
    svc = spec.services[owner]
    plan = schema_plan(svc)
    assert plan is not None  # the spec rules refuse a schemaInit without a plan
    database = schema_database([svc.environment[var] for var, _ in plan.steps])
    version = schema_version(svc.product, record.image)
    outcomes = _stop_superseded(berth, record, owner, database, version)
    for _ in range(_TAKE_ATTEMPTS):
        found = berth.store.schema_run(record.environment, database, version)
        decision = schema_start(found, record.record_id)
        if decision.kind == "wait":
            raise ConcurrentChange(f"{record.target}: {decision.reason}; retry")
        if decision.kind == "done":
            done = conclude(berth, record, {"PENDING"}, "COMPLETED", record.trigger.kind,
                            reason=decision.reason)  # fmt: skip
            return [*outcomes, _ignored(record, decision.reason), *done], None
        if decision.kind == "follow":
            assert found is not None
            return [*outcomes, *_follow(berth, record, found, decision.reason)], None
        held = found if found is not None and found.record_id == record.record_id else None
        if held is None:
            held = berth.store.put_schema_run(SchemaRun(
                environment=record.environment, database=database, version=version,
                service=owner, record_id=record.record_id, cluster=spec.cluster,
                revision=found.revision if found is not None else 0,
            ))  # fmt: skip
        if held is not None:
            ran, started = _run(berth, record, spec, accepted, held)
            return [*outcomes, *ran], started
    raise ConcurrentChange(f"{record.target}: the schema run of {database} kept moving; retry")


def _ignored(record: DeploymentRecord, reason: str) -> Outcome:
    return ignored(reason, record.environment, record.service)


def _follow(
    berth: Berth, record: DeploymentRecord, run: SchemaRun, reason: str
) -> list[Outcome]:
    """The record waits for the task its run's holder started: that task's stop concludes it
    (`flows.schema.on_task_stopped` finds it by the task's ARN)."""
    now = berth.clock()
    started = berth.store.transition(
        record, {"PENDING"}, status="IN_PROGRESS", reason=reason, ecs_task_arn=run.task_arn,
        started_at=now, updated_at=now, waiting_for=[],
    )  # fmt: skip
    return [_ignored(record, reason)] if started is not None else []


def _run(
    berth: Berth, record: DeploymentRecord, spec: Spec, accepted: AcceptedSpec, run: SchemaRun
) -> SchemaStarted:
    """Register the schema task definition and RunTask it with the group its Task State Change
    events carry back; the run and the record IN_PROGRESS with the task."""
    assert record.image is not None
    rendered = render_schema_task_definition(
        spec, run.service, image_ref(record.image), accepted.account, accepted.region
    )
    # The client token makes a retried start of the same record one task (RunTask clientToken).
    token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{record.target}/{record.record_id}"))
    try:
        for group in sorted(log_groups(rendered)):
            berth.logs.ensure_group(group, berth.settings.log_retention_days)
        arn = berth.ecs.register(rendered)
        request = schema_run_task_request(spec, run.service, arn, token)
        request["group"] = schema_group(spec.environment, run.service)
        task_arn = berth.ecs.run_task(request)
    except AwsCallFailed as failure:
        _end_run(berth, run, "FAILED", f"the schema task did not run: {failure}")
        return fail(
            berth, record, reason="an AWS call failed; the schema task did not run",
            errors=[str(failure)], source=record.trigger.kind,
        ), None  # fmt: skip
    _name_task(berth, run, task_arn)
    now = berth.clock()
    started = berth.store.transition(
        record, {"PENDING"}, status="IN_PROGRESS", reason="the schema task runs",
        task_definition_arn=arn, ecs_task_arn=task_arn, started_at=now, updated_at=now,
        waiting_for=[],
    )  # fmt: skip
    return [], started


def _name_task(berth: Berth, run: SchemaRun, task_arn: str) -> None:
    """Write the task into the run, so that another record follows it instead of running one."""
    current: SchemaRun | None = run
    for _ in range(_TAKE_ATTEMPTS):
        if current is None or current.record_id != run.record_id or current.status != "RUNNING":
            return
        if berth.store.put_schema_run(current.model_copy(update={"task_arn": task_arn})):
            return
        current = berth.store.schema_run(run.environment, run.database, run.version)


def _end_run(berth: Berth, run: SchemaRun, status: SchemaRunStatus, reason: str) -> None:
    """End `run` (only the one that still names its task or holder), so a later start knows."""
    current: SchemaRun | None = run
    for _ in range(_TAKE_ATTEMPTS):
        if current is None or current.record_id != run.record_id or current.status != "RUNNING":
            return
        ended = current.model_copy(update={"status": status, "reason": reason})
        if berth.store.put_schema_run(ended):
            return
        current = berth.store.schema_run(run.environment, run.database, run.version)


def end_schema_run(
    berth: Berth, record: DeploymentRecord, task_arn: str, status: SchemaRunStatus
) -> None:
    """A schema task's end, as its record concluded, told to the run the task serves (a task
    another record followed is still the run's): COMPLETED, or FAILED so a later start may run
    again. A task that is not the run's (one stopped as superseded) changes nothing."""
    owner = schema_owner(record.service)
    if owner is None:
        return
    for run in berth.store.schema_runs(record.environment):
        if run.task_arn == task_arn and run.status == "RUNNING":
            _end_run(berth, run, status, f"the task ended {status}, as record "
                                         f"{record.record_id} concluded")  # fmt: skip


def _stop_superseded(
    berth: Berth, record: DeploymentRecord, owner: str, database: str, version: str
) -> list[Outcome]:
    """Stop the service's schema tasks that still run for another database or version: their
    records were superseded by `record`, whose spec no longer wants them. Each is recorded on
    its run (STOPPED) and on its record (a cause)."""
    outcomes: list[Outcome] = []
    runs = superseded_runs(berth.store.schema_runs(record.environment), owner, database, version)
    for run in runs:
        assert run.task_arn is not None
        reason = stop_reason(run, record.record_id)
        try:
            berth.ecs.stop_task(run.cluster, run.task_arn, reason)
        except AwsCallFailed as failure:
            why = f"schema task {run.task_arn} could not be stopped: {failure}"
            outcomes.append(warned(record.environment, record.service, why))
            continue
        _end_run(berth, run, "STOPPED", reason)
        held = berth.store.get_record(record.environment, schema_service(owner), run.record_id)
        if held is not None and held.status not in ACTIVE:
            berth.store.transition(held, {held.status}, causes=[
                *held.causes, f"its schema task {run.task_arn} was stopped (StopTask): {reason}",
            ])  # fmt: skip
        outcomes.append(_ignored(record, f"stopped schema task {run.task_arn}: {reason}"))
    return outcomes
