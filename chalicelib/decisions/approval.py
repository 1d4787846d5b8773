"""An approval gate at a lifecycle stage: what Berth's hook answers ECS while a deployment waits
for someone to run `berth approve`, and what `berth approve` may record. Pure.

The hook asks once (the record keeps when, and the deadline, so that every later invocation
measures from the same moment), then answers IN_PROGRESS with a call-back delay until the record
says who approved (SUCCEEDED) or the deadline passed (FAILED: ECS rolls back before production
traffic moves).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.values.records import Approval, DeploymentRecord

from .verification import HookStatus

# Seconds between the hook's invocations while it waits: "callBackDelay ... By default, the
# delay is 30 seconds" (ECS developer guide, "Lambda hooks for Amazon ECS service deployments");
# a person's approval takes minutes, so once a minute is plenty.
APPROVAL_DELAY = 60


@dataclass(frozen=True)
class Gate:
    status: HookStatus
    reason: str
    call_back_delay: int | None = None
    ask: Approval | None = None
    """The approval to record (and announce) when the hook asks for the first time."""


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def minutes(approval: Approval) -> int:
    """The gate's timeout, as the record keeps it."""
    return round((approval.deadline - approval.asked_at) / timedelta(minutes=1))


def approved_line(approval: Approval) -> str:
    at = _at(approval.approved_at) if approval.approved_at else "?"
    note = f": {approval.note}" if approval.note else ""
    return f"approved by {approval.approved_by} at {at}{note}"


def gate(approval: Approval | None, *, now: datetime, timeout_minutes: int) -> Gate:
    """SUCCEEDED once approved; FAILED once the deadline passed unapproved; else IN_PROGRESS,
    asking (with the deadline `timeout_minutes` from now) the first time."""
    if approval is None:
        asked = Approval(asked_at=now, deadline=now + timedelta(minutes=timeout_minutes))
        return Gate("IN_PROGRESS", f"waiting for approval until {_at(asked.deadline)}",
                    APPROVAL_DELAY, ask=asked)  # fmt: skip
    if approval.approved_by is not None:
        return Gate("SUCCEEDED", approved_line(approval))
    if now >= approval.deadline:
        return Gate("FAILED", f"not approved within {minutes(approval)} minutes")
    return Gate("IN_PROGRESS", f"waiting for approval until {_at(approval.deadline)}",
                APPROVAL_DELAY)  # fmt: skip


class NotWaiting(Exception):
    """`berth approve` found nothing to approve."""


class NotAllowed(Exception):
    """The caller may not approve this deployment: not an approver of its environment, or its
    own requester where the environment does not allow that."""


def _declared(arn: str, patterns: frozenset[str]) -> bool:
    return any(arn == p or (p.endswith("*") and arn.startswith(p[:-1])) for p in patterns)


def approver_refusal(
    record: DeploymentRecord | None,
    caller: str,
    *,
    approvers: frozenset[str] | None,
    requester_may_approve: bool,
) -> str | None:
    """Why `caller` (the ARN AWS vouched for: API Gateway's IAM authorization) may not approve
    `record`; None when it may. `approvers` are the environment's declared ARNs or prefixes
    ending in `*` (None: the stage declares no fence, nothing checked; empty: nobody)."""
    if approvers is None:
        return None
    environment = record.environment if record is not None else "this environment"
    if not _declared(caller, approvers):
        listed = ", ".join(sorted(approvers)) or "nobody"
        return (
            f"{caller} may not approve {environment}'s deployments (approval.approvers of "
            f"{environment} in the stage's environments file: {listed})"
        )
    requester = record.trigger.requested_by if record is not None else None
    if requester is not None and requester == caller and not requester_may_approve:
        return (
            f"{caller} asked for this deployment and may not approve it too: {environment} "
            "wants a second person (approval.requesterMayApprove in the stage's environments "
            "file)"
        )
    return None


def approval_of(
    record: DeploymentRecord | None, *, by: str, note: str, now: datetime
) -> Approval | None:
    """The approval `berth approve` records on `record`; None when it is approved already (a
    second approval changes nothing); NotWaiting (why) when the record does not wait for one."""
    if record is None:
        raise NotWaiting("no deployment in progress")
    where = f"{record.environment}/{record.service} record {record.record_id}"
    if record.status != "IN_PROGRESS":
        raise NotWaiting(f"{where} is {record.status}, not waiting for approval")
    if record.approval is None:
        raise NotWaiting(
            f"{where} is not waiting for approval (yet: Berth's hook asks once the new revision "
            "passed its verification)"
        )
    if record.approval.approved_by is not None:
        return None
    if now >= record.approval.deadline:
        raise NotWaiting(
            f"{where}: the approval's deadline passed at {_at(record.approval.deadline)}; "
            "the deployment is being rolled back"
        )
    return record.approval.model_copy(update={"approved_by": by, "approved_at": now,
                                              "note": note})  # fmt: skip
