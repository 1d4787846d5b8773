"""Claiming a service for a deployment: a PENDING record first, then the service's head moved to
it by a conditional write; the head's owner is the only one that may change the service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from chalicelib.context import Berth
from chalicelib.spec.model import Spec
from chalicelib.values.outcomes import Outcome
from chalicelib.values.records import ACTIVE, DeploymentRecord, Head, Image, Trigger

from .lease import lease_free, lease_until_invocation_ends


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def new_record(
    berth: Berth, environment: str, service: str, run_id: str, trigger: Trigger, **fields: Any
) -> DeploymentRecord:
    now = berth.clock()
    return DeploymentRecord(
        environment=environment,
        service=service,
        record_id=f"D#{now.isoformat()}#{run_id}",
        run_id=run_id,
        trigger=trigger,
        created_at=now,
        updated_at=now,
        **fields,
    )


def run_of(record_id: str) -> str:
    """The run a record belongs to, from its id (`new_record` ends it with the run id)."""
    return record_id.rsplit("#", 1)[-1]


def pending_outcome(record: DeploymentRecord) -> Outcome:
    return Outcome(
        action="pending",
        environment=record.environment,
        service=record.service,
        reason=f"waiting for {', '.join(record.waiting_for)}",
        record_id=record.record_id,
    )


def claim(berth: Berth, spec: Spec, name: str, **options: Any) -> DeploymentRecord | None:
    """Move the service's head to `image` and write a PENDING record; None if the head moved.
    `options` are `claim_head`'s."""
    claimed = claim_head(berth, spec, name, **options)
    return claimed[0] if claimed else None


def claim_head(
    berth: Berth,
    spec: Spec,
    name: str,
    *,
    image: Image,
    run_id: str,
    trigger: Trigger,
    waiting: list[str],
    head: Head | None = None,
    desired_count: int | None = None,
    lease: bool = False,
    run_size: int | None = None,
    sidecar_images: dict[str, Image] | None = None,
) -> tuple[DeploymentRecord, Head] | None:
    """Move the service's head to `image` and write a PENDING record; the record and the head as
    written, or None if the head moved. With `lease`, the same write gives the new record the
    service's start lease (see `lease`), which saves a start two DynamoDB calls.
    `sidecar_images` are the tracked sidecars' images; None keeps what the head records."""
    head = head or berth.store.get_head(spec.environment, name)
    sidecars = head.sidecar_images if sidecar_images is None else sidecar_images
    record = new_record(
        berth,
        spec.environment,
        name,
        run_id,
        trigger,
        status="PENDING",
        cluster=spec.cluster,
        image=image,
        previous_image=head.image,
        sidecar_images=sidecars,
        previous_sidecar_images=head.sidecar_images,
        waiting_for=waiting,
        desired_count=desired_count,
        previous_task_definition_arn=head.task_definition_arn,
        reason=f"waiting for {', '.join(waiting)}" if waiting else "",
        run_size=run_size,
    )
    owner: dict[str, Any] = {
        "image": image, "sidecar_images": sidecars, "active_record_id": record.record_id,
    }  # fmt: skip
    if lease and not waiting and lease_free(head, berth.clock()):
        owner |= lease_until_invocation_ends(record, berth.clock(), head)
    # One transaction: the record, the head naming it, and the record's entry as a waiter of
    # each dependency it waits for; nothing is written if another event moved the head first.
    moved = berth.store.claim(record, head.model_copy(update=owner))
    if moved is None:
        return None
    _supersede(berth, head, record)
    return record, moved


def _supersede(berth: Berth, head: Head, by: DeploymentRecord) -> None:
    if head.active_record_id is None:
        return
    previous = berth.store.get_record(head.environment, head.service, head.active_record_id)
    if previous is None or previous.status not in ACTIVE:
        return
    label = by.label or "a newer change"
    now = berth.clock()
    done = berth.store.transition(
        previous, ACTIVE, status="SUPERSEDED", reason=f"replaced by {label}",
        finished_at=now, updated_at=now,
    )  # fmt: skip
    if done is not None:
        berth.announce(done, "SUPERSEDED", by.trigger.kind)


def head_follows(head: Head, record: DeploymentRecord) -> bool:
    """Does `record` decide what `head` says: it owns it, or it last left it (a late outcome
    after a timeout corrects a head nobody has claimed since)?"""
    owns = head.active_record_id == record.record_id
    left_it = (
        head.active_record_id is None
        and head.image == record.image
        and head.sidecar_images == record.sidecar_images
    )
    return owns or left_it


def update_head(
    berth: Berth, record: DeploymentRecord, head: Head | None = None, /, **changes: Any
) -> bool:
    """Apply `changes` to the service head if this record still owns it, or last left it (a late
    outcome after a timeout corrects a head nobody has claimed since); True once written.
    `head` is one just read, tried first; the head is re-read if it moved since."""
    return update_head_from(berth, record, head, lambda _: changes)


def update_head_from(
    berth: Berth,
    record: DeploymentRecord,
    head: Head | None,
    changes_of: Callable[[Head], dict[str, Any]],
) -> bool:
    """`update_head` with changes that depend on what the head holds: computed again from each
    head read, so that a retry never writes back a head another write has since added to."""
    for _ in range(3):
        head = head or berth.store.get_head(record.environment, record.service)
        if not head_follows(head, record):
            return False
        if berth.store.put_head(head.model_copy(update=changes_of(head))) is not None:
            return True
        head = None
    return False
