"""The start lease: one start changes a service at a time, and only the head's owner's.

Without it, a claim that a newer push superseded while it was starting could update the service
after the newer one, leaving the older image running and the newer record waiting for ever."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from chalicelib.context import Berth, invocation_deadline
from chalicelib.decisions.staleness import decided_under
from chalicelib.values.records import DeploymentRecord, Head


class ConcurrentChange(Exception):
    """Other events kept moving a service while this one acted on it: Lambda retries the event.
    A retry signal, not a user error, so it is no BerthError."""


# How long a start may hold a service before another may take it over (a Lambda that died
# mid-start never releases it); longer than the longest Lambda timeout in .chalice/config.json.
START_LEASE = timedelta(seconds=150)
START_WAIT_SECONDS = 30.0


def lease_free(head: Head, now: datetime) -> bool:
    """Nobody holds the service's start lease, or its holder's Lambda has surely ended."""
    if head.starting_record_id is None:
        return True
    if head.starting_until is not None:
        return now >= head.starting_until
    return head.starting_since is None or now - head.starting_since >= START_LEASE


def lease_until_invocation_ends(record: DeploymentRecord, now: datetime) -> dict[str, object]:
    """The head fields that give `record` the start lease until this invocation ends."""
    return {
        "starting_record_id": record.record_id,
        "starting_since": now,
        "starting_until": invocation_deadline() or now + START_LEASE,
    }


RELEASED: dict[str, object] = {
    "starting_record_id": None, "starting_since": None, "starting_until": None,
}  # fmt: skip


Leased = Literal["taken", "superseded", "stale"]
"""A lease taken; or not, because the record no longer owns the service's head (superseded) or
because the environment accepted another spec than the one the record was decided under."""


def take_start_lease(berth: Berth, record: DeploymentRecord) -> Leased:
    """"taken" once this record holds the lease; else why it may not start (`Leased`). For a
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
        leased = head.model_copy(update=lease_until_invocation_ends(record, now))
        if spec is None:
            if berth.store.put_head(leased) is not None:
                return "taken"
            continue
        written = berth.store.lease_if_current(leased, record.environment, spec)
        if written == "stale":
            return "stale"
        if written != "moved":
            return "taken"


def release_start_lease(berth: Berth, record: DeploymentRecord) -> None:
    for _ in range(5):
        head = berth.store.get_head(record.environment, record.service)
        if head.starting_record_id != record.record_id:
            return
        if berth.store.put_head(head.model_copy(update=RELEASED)) is not None:
            return
