"""A schema task (issue 16) stopped: conclude its record, then start its service, or skip it.

The schema task of a service's first deployment is a record of the run, of the pseudo-service
`<service>.schema`, which the service's own record waits for as for a dependency: concluding it
goes through `runs.finish.conclude`, so a redelivered or out-of-order event announces nothing
twice and the follow-up (start the service, or skip it with a notification) is the dependencies'
own.
"""

from __future__ import annotations

from typing import Any

from chalicelib.context import Berth
from chalicelib.errors import AwsCallFailed
from chalicelib.rendering.schema_init import parse_schema_group, schema_service, schema_task_outcome
from chalicelib.rendering.schema_task import SCHEMA_CLIENT
from chalicelib.values.events import EcsTaskStateChange
from chalicelib.values.outcomes import Outcome, ignored
from chalicelib.values.records import DeploymentRecord, EventSource

from .runs.finish import conclude
from .runs.schema_start import end_schema_run

FAILED_REASON = "the schema task failed; the service was not deployed"


def on_task_stopped(berth: Berth, event: EcsTaskStateChange) -> list[Outcome]:
    """Conclude the schema record whose task stopped; any other task is not Berth's."""
    detail = event.detail
    found = parse_schema_group(detail.group)
    if found is None:
        return [ignored(f"task {detail.task_arn} is not a schema task of Berth's (group "
                        f"{detail.group!r})")]  # fmt: skip
    environment, service = found
    pseudo = schema_service(service)
    head = berth.store.get_head(environment, pseudo)
    record = (
        berth.store.get_record(environment, pseudo, head.active_record_id)
        if head.active_record_id
        else None
    )
    if record is None or record.ecs_task_arn != detail.task_arn:
        return [ignored(f"no schema run of {service} waits for task {detail.task_arn}",
                        environment, pseudo)]  # fmt: skip
    return settle(berth, record, detail.as_task(), "ecs")


def settle(
    berth: Berth, record: DeploymentRecord, task: dict[str, Any], source: EventSource
) -> list[Outcome]:
    """Conclude `record` from its task as ECS describes it; nothing while it has not stopped."""
    outcome = schema_task_outcome(task, SCHEMA_CLIENT)
    if outcome is None:
        return [ignored(f"task {record.ecs_task_arn} has not stopped", record.environment,
                        record.service)]  # fmt: skip
    succeeded, reason = outcome
    if record.ecs_task_arn:
        # The database's schema run ends with its task (issue 29): COMPLETED keeps any later
        # start from running the scripts again; FAILED lets a fixed spec try again.
        end_schema_run(berth, record, record.ecs_task_arn, "COMPLETED" if succeeded else "FAILED")
    if succeeded:
        return conclude(berth, record, {"IN_PROGRESS"}, "COMPLETED", source, reason=reason)
    return conclude(
        berth, record, {"IN_PROGRESS"}, "FAILED", source, reason=FAILED_REASON,
        causes=[reason],
    )  # fmt: skip


def sweep_schema(berth: Berth, record: DeploymentRecord, timeout_minutes: int) -> list[Outcome]:
    """The sweep's turn for a schema record with no outcome in time: what DescribeTasks says of
    its task concludes it; a task still running, or unknown to ECS, times it out with why."""
    task: dict[str, Any] | None = None
    why = "ECS no longer lists the task"
    if record.ecs_task_arn:
        try:
            task = berth.ecs.task(record.cluster, record.ecs_task_arn)
        except AwsCallFailed as failure:
            why = f"the task could not be described: {failure}"
    if task is not None and schema_task_outcome(task, SCHEMA_CLIENT) is not None:
        return settle(berth, record, task, "sweep")
    if task is not None:
        why = f"ECS says the task is {task.get('lastStatus', 'unknown')}"
    elif record.ecs_task_arn:
        # A task ECS no longer lists initialises nothing: a later start may run again. One
        # still running keeps its run, so a later start follows it rather than racing it.
        end_schema_run(berth, record, record.ecs_task_arn, "FAILED")
    reason = f"no outcome of the schema task after {timeout_minutes} min; {why}"
    return conclude(berth, record, {record.status}, "TIMED_OUT", "sweep", reason=reason)
