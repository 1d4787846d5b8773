"""The start lease: one start changes a service at a time, and only the head's owner's.

Without it, a claim that a newer push superseded while it was starting could update the service
after the newer one, leaving the older image running and the newer record waiting for ever.

A lease expires (with its holder's invocation, or START_LEASE outside Lambda), and a slow holder
may still be running when it does. So a lease cannot split a start (issue 29): it is taken by a
conditional write (the head's revision); just before each ECS mutation the holder makes sure it
still holds it (`hold_lease`: with time left nobody else can have taken it; with little or none
left a conditional write renews it while its token is still on the head, else no call is made);
and the write that records the start is conditional too, releasing the lease only while it is
still the holder's (its token). A holder whose lease ran out during the call writes the record
alone, with the cause, never the next holder's head; and the next holder, which took over a
lease nobody released (`Head.taken_over`), describes the service before acting instead of
trusting the head. UpdateService has no idempotency token: ECS takes a client token only on
CreateService, CreateTaskSet and RunTask (ECS API reference, "Ensuring idempotency",
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/ECS_Idempotency.html; botocore's ECS
model has `clientToken` on CreateServiceRequest and RunTaskRequest, none on
UpdateServiceRequest), so the condition is on the lease, not on ECS.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from chalicelib.context import Berth, invocation_deadline
from chalicelib.decisions.staleness import decided_under
from chalicelib.values.records import DeploymentRecord, Head, TakenOver


class ConcurrentChange(Exception):
    """Other events kept moving a service while this one acted on it: Lambda retries the event.
    A retry signal, not a user error, so it is no BerthError."""


# How long a start may hold a service before another may take it over (a Lambda that died
# mid-start never releases it); longer than the longest Lambda timeout in .chalice/config.json.
START_LEASE = timedelta(seconds=150)
START_WAIT_SECONDS = 30.0
ECS_CALL_BUDGET = timedelta(seconds=25)
"""The lease a start must have left to begin an ECS mutation: one attempt of the call, as the
clients are configured (connect 5 s, read 20 s: adapters.clients), or a tenth of the lease
when that is less (a lease taken late in a short invocation). What a call begun in time but
applied after the lease ran out does is caught by the write after it (lease module)."""


def lease_free(head: Head, now: datetime) -> bool:
    """Nobody holds the service's start lease, or its holder's Lambda has surely ended."""
    if head.starting_record_id is None:
        return True
    if head.starting_until is not None:
        return now >= head.starting_until
    return head.starting_since is None or now - head.starting_since >= START_LEASE


def lease_until_invocation_ends(
    record: DeploymentRecord, now: datetime, head: Head | None = None
) -> dict[str, object]:
    """The head fields that give `record` the start lease until this invocation ends, taken
    from `head` (free: nobody's, or run out; None: a service nobody held)."""
    return {
        "taken_over": _taken_over(head) if head is not None else None,
        "starting_record_id": record.record_id,
        "starting_since": now,
        "starting_until": invocation_deadline() or now + START_LEASE,
        "lease_token": uuid.uuid4().hex,
    }


RELEASED: dict[str, object] = {
    "starting_record_id": None, "starting_since": None, "starting_until": None,
    "lease_token": None, "taken_over": None,
}  # fmt: skip


NotLeased = Literal["superseded", "stale"]
"""Why no lease was taken: the record no longer owns the service's head (superseded), or the
environment accepted another spec than the one the record was decided under (stale)."""


def take_start_lease(berth: Berth, record: DeploymentRecord) -> Head | NotLeased:
    """The head as written once this record holds the lease; else why it may not start. For a
    spec's record the lease is taken in one transaction with a check that the environment's
    accepted spec is still the record's version (decisions.staleness, issue 29)."""
    waited = 0.0
    spec = decided_under(record)
    while True:
        head = berth.store.get_head(record.environment, record.service)
        if head.active_record_id != record.record_id:
            return "superseded"
        now = berth.clock()
        # A fresh lease held by this very record is busy too: another delivery of the same event
        # is starting it (Berth does not de-duplicate push and ECS events before acting; the
        # lease and the records' conditional writes do).
        if not lease_free(head, now):
            if waited >= START_WAIT_SECONDS:
                raise ConcurrentChange(f"{record.target}: another start holds the service; retry")
            berth.sleep(0.2)
            waited += 0.2
            continue
        leased = head.model_copy(update=lease_until_invocation_ends(record, now, head))
        if spec is None:
            taken = berth.store.put_head(leased)
            if taken is not None:
                return taken
            continue
        written = berth.store.lease_if_current(leased, record.environment, spec)
        if written == "stale":
            return "stale"
        if written != "moved":
            return written


def release_start_lease(berth: Berth, record: DeploymentRecord, token: str | None) -> None:
    """Release the lease `token` names (this holder's), never another holder's."""
    for _ in range(5):
        head = berth.store.get_head(record.environment, record.service)
        if head.starting_record_id != record.record_id or head.lease_token != token:
            return
        if berth.store.put_head(head.model_copy(update=RELEASED)) is not None:
            return


def _taken_over(head: Head) -> TakenOver | None:
    """The lease `head` holds, free only because it ran out: its holder never released it."""
    if head.starting_record_id is None:
        return None
    return TakenOver(
        record_id=head.starting_record_id, since=head.starting_since, until=head.starting_until
    )


def lease_left(lease: Head, now: datetime) -> bool:
    """Is enough of `lease` left to begin an ECS mutation (ECS_CALL_BUDGET)?"""
    since = lease.starting_since
    until = lease.starting_until or (since + START_LEASE if since else None)
    if since is None or until is None:
        return False
    return until - now >= min(ECS_CALL_BUDGET, (until - since) / 10)


LeaseLost = Literal["superseded", "lost"]
"""Why a start may not call ECS: a newer claim owns the head, or its lease ran out and another
start took it."""


def hold_lease(berth: Berth, record: DeploymentRecord, lease: Head) -> Head | LeaseLost:
    """Just before an ECS mutation: the lease `lease` names is still this start's. With enough
    of it left nobody else can have taken it (lease_left), and this costs nothing; otherwise a
    conditional head write (the revision read) renews it while its token is still on the head,
    so that a holder another start replaced never makes the call. The head to write next, or
    why the call must not be made."""
    if lease_left(lease, berth.clock()):
        return lease
    head: Head | None = lease
    for _ in range(3):
        head = head or berth.store.get_head(record.environment, record.service)
        if head.active_record_id != record.record_id:
            return "superseded"
        if head.starting_record_id != record.record_id or head.lease_token != lease.lease_token:
            return "lost"
        now = berth.clock()
        until = invocation_deadline() or now + START_LEASE
        renewed = head.model_copy(update={"starting_since": now, "starting_until": until})
        written = berth.store.put_head(renewed)
        if written is not None:
            return written
        head = None
    return "lost"
