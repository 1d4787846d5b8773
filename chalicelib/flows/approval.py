"""The approval gate (`deployment.approval`): Berth's lifecycle hook holds a deployment at
POST_TEST_TRAFFIC_SHIFT until `berth approve` records an approval on its deployment record, and
fails it (ECS rolls back before production traffic moves) when the deadline passes first.
`decisions.approval` says what each state means; this reads and writes the record (conditioned on
the gate's state, so that the hook and `berth approve` never overwrite each other) and announces
the wait once."""

from __future__ import annotations

from typing import Any

from chalicelib.context import Berth, logger
from chalicelib.decisions.approval import (
    Gate,
    NotAllowed,
    NotWaiting,
    approval_of,
    approver_refusal,
    gate,
)
from chalicelib.errors import AwsCallFailed
from chalicelib.values.events import LifecycleHookInvocation
from chalicelib.values.notifications.alerts import approval_wanted_notification
from chalicelib.values.records import DeploymentRecord


def _waiting_record(
    berth: Berth, environment: str, service: str, service_arn: str
) -> DeploymentRecord | None:
    """The service's active record, still in progress, of the ECS service that invoked the hook
    (as flows/verify.py finds it)."""
    head = berth.store.get_head(environment, service)
    if head.active_record_id is None:
        return None
    record = berth.store.get_record(environment, service, head.active_record_id)
    if record is None or record.status != "IN_PROGRESS":
        return None
    if record.ecs_service_arn not in (None, service_arn):
        return None
    return record


def _with_line(record: DeploymentRecord, line: str) -> list[str]:
    stages = list(record.stages)
    if not stages or stages[-1] != line:
        stages.append(line)
    return stages


def on_gate(
    berth: Berth, details: dict[str, Any], invocation: LifecycleHookInvocation
) -> Gate:
    """The gate's answer to one hook invocation; FAILED when no record of Berth's waits (nothing
    could ever approve it), or when the record cannot be read."""
    environment, service = str(details.get("environment")), str(details.get("service"))
    stage = invocation.lifecycle_stage
    timeout = int((details.get("approval") or {}).get("timeout", 60))
    try:
        record = _waiting_record(berth, environment, service,
                                 invocation.execution_details.service_arn)  # fmt: skip
        if record is None:
            return Gate("FAILED", f"no deployment of {environment}/{service} in progress for "
                                  "`berth approve` to approve")  # fmt: skip
        now = berth.clock()
        answer = gate(record.approval, now=now, timeout_minutes=timeout)
        if answer.ask is not None:
            line = f"{stage}: {answer.reason} (berth approve {environment} {service})"
            asked = berth.store.transition_approval(
                record, None, approval=answer.ask, stages=_with_line(record, line),
                updated_at=now,
            )  # fmt: skip
            if asked is not None:
                berth.notifier.publish(
                    approval_wanted_notification(asked, stage, answer.ask.deadline, now)
                )
            # Not written: another invocation asked first; the next call-back reads its state.
            return answer
        if answer.status == "FAILED":
            failed = berth.store.transition_approval(
                record, "WAITING", stages=_with_line(record, f"{stage}: approval failed: "
                                                             f"{answer.reason}"),
                updated_at=now,
            )  # fmt: skip
            if failed is None:
                # Approved between the read and the write: the approval stands.
                again = _waiting_record(berth, environment, service,
                                        invocation.execution_details.service_arn)  # fmt: skip
                if again is not None and again.approval and again.approval.approved_by:
                    return gate(again.approval, now=now, timeout_minutes=timeout)
            return answer
        if answer.status == "SUCCEEDED":
            berth.store.transition_approval(
                record, "APPROVED", stages=_with_line(record, f"{stage}: {answer.reason}"),
                updated_at=now,
            )  # fmt: skip
        return answer
    except AwsCallFailed as failure:
        logger.warning("approval gate could not read the record", extra={"error": str(failure)})
        return Gate("FAILED", f"cannot read the deployment record: {failure}")


def approve(
    berth: Berth,
    environment: str,
    service: str,
    *,
    by: str,
    note: str = "",
    record_id: str | None = None,
) -> tuple[DeploymentRecord, bool]:
    """Record `by`'s approval on the service's active deployment record (or `record_id`), which
    must be waiting for one: (the record, True) when this approved it, (the record, False) when
    it had been approved already. NotWaiting says why nothing waits, NotAllowed why `by` (the
    ARN AWS vouched for) may not approve it (the environment's declared approvers, and whether
    a requester may approve their own deployment)."""
    if record_id is None:
        head = berth.store.get_head(environment, service)
        record_id = head.active_record_id
    record = berth.store.get_record(environment, service, record_id) if record_id else None
    fence = berth.settings.fence
    refused = approver_refusal(
        record, by,
        approvers=fence.approvers.get(environment, frozenset()) if fence is not None else None,
        requester_may_approve=fence.self_approval.get(environment, False) if fence else True,
    )  # fmt: skip
    if refused is not None:
        raise NotAllowed(refused)
    # The deadline is judged here, by the clock of whoever runs this: the stack's approval
    # endpoint (handlers.approve), never the person's machine.
    approval = approval_of(record, by=by, note=note, now=berth.clock())
    assert record is not None  # approval_of refused None
    if approval is None:
        return record, False
    written = berth.store.transition_approval(
        record, "WAITING", approval=approval, updated_at=berth.clock()
    )
    if written is not None:
        return written, True
    # The record moved on between the read and the write: say where it is now.
    again = berth.store.get_record(environment, service, record.record_id)
    if approval_of(again, by=by, note=note, now=berth.clock()) is None:
        assert again is not None
        return again, False
    raise NotWaiting(f"{environment}/{service} record {record.record_id} changed meanwhile; "
                     "run berth approve again")  # fmt: skip
