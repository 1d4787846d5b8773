"""A record's end: fail it, finish it, conclude it from an event, or redo the follow-ups (its
head, its dependents) an earlier delivery left undone; what ECS says about why it failed.

Records change status only through `Store.transition`, a conditional write: whoever wins it acts
and notifies, so a redelivered or concurrent event never announces an outcome twice.

Finishing a record moves its dependents on (runs.dependents), and a dependent's start can finish
a record again: that call goes back up through the mover the package names
(`moves_dependents_with`, in runs/__init__), so the modules import one way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.context import Berth, logger
from chalicelib.decisions.causes import failure_causes
from chalicelib.decisions.redelivery import failures_after
from chalicelib.errors import AwsCallFailed
from chalicelib.values.outcomes import ACTION_OF, Outcome
from chalicelib.values.records import (
    ACTIVE,
    DeploymentRecord,
    EventSource,
    Head,
    TerminalStatus,
)

from ..claims import head_follows, update_head_from
from .shared import Dependents, Known, head_and_dependents

MoveOn = Callable[[Berth, DeploymentRecord, TerminalStatus, Dependents], list[Outcome]]
"""What moves a terminal record's dependents on: starts those it released, skips the others."""

_move_on: MoveOn | None = None


def moves_dependents_with(move_on: MoveOn) -> None:
    """Name what moves a finished record's dependents on (runs/__init__ names
    runs.dependents.move_on when the package is first imported)."""
    global _move_on
    _move_on = move_on


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
    head, dependents = head_and_dependents(berth, record)
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
    head, waiting = known or head_and_dependents(berth, record)
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
        update_head_from(berth, record, head, lambda read: _head_after(record, status, read))
    assert _move_on is not None, "runs/__init__ names the mover when the package is imported"
    return outcomes + _move_on(berth, record, status, waiting)


def _head_after(record: DeploymentRecord, status: TerminalStatus, head: Head) -> dict[str, Any]:
    """What the service head says once `record` ended in `status`; `head` is the one it moves
    from. A digest that failed or was rolled back is remembered with the same conditional write
    (decisions.redelivery), so that no delivery of its push deploys it again."""
    remembered = {"failed_images": failures_after(head.failed_images, record, status)}
    if status == "COMPLETED":
        return {"active_record_id": None, **remembered}
    if status == "TIMED_OUT" and record.ecs_still_rolling:
        # ECS is still moving the service to this record's image: that is what will run, so the
        # head keeps it (ECS's late outcome corrects the record, and the head if it failed).
        return {
            "image": record.image,
            "sidecar_images": record.sidecar_images,
            "task_definition_arn": record.task_definition_arn,
            "active_record_id": None,
            **remembered,
        }
    # The service keeps (or went back to) what it ran before this record.
    return {
        "image": record.previous_image,
        "sidecar_images": record.previous_sidecar_images,
        "task_definition_arn": record.previous_task_definition_arn,
        "active_record_id": None,
        **remembered,
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
    head, dependents = head_and_dependents(berth, record, known)
    written: Head | None = None
    if head_follows(head, record):
        after = _head_after(record.model_copy(update=moved), status, head)
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
    if current is None or current.status in ACTIVE:
        return []
    # An outcome for a record already settled (a redelivery, or a redriven event after a redrive
    # found its deployment again): absorbed, said in the log, never raised for Lambda to retry.
    logger.info(
        "outcome for a settled record absorbed",
        extra={"record": current.record_id, "status": current.status, "event_status": status},
    )
    return follow_up(berth, current, status) if current.status == status else []


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
