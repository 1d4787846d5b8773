"""The start lease: one start changes a service at a time, and only the head's owner's.

Without it, a claim that a newer push superseded while it was starting could update the service
after the newer one, leaving the older image running and the newer record waiting for ever."""

from __future__ import annotations

from datetime import timedelta

from ..context import Berth
from ..records import DeploymentRecord


class ConcurrentChange(Exception):
    """Other events kept moving a service while this one acted on it: Lambda retries the event.
    A retry signal, not a user error, so it is no BerthError."""


# How long a start may hold a service before another may take it over (a Lambda that died
# mid-start never releases it); longer than the longest Lambda timeout in .chalice/config.json.
START_LEASE = timedelta(seconds=150)
START_WAIT_SECONDS = 30.0


def take_start_lease(berth: Berth, record: DeploymentRecord) -> bool:
    """True once this record holds the lease; False if it no longer owns the service."""
    waited = 0.0
    while True:
        head = berth.store.get_head(record.environment, record.service)
        if head.active_record_id != record.record_id:
            return False
        now = berth.clock()
        holder = head.starting_record_id
        if (
            holder not in (None, record.record_id)
            and head.starting_since is not None
            and now - head.starting_since < START_LEASE
        ):
            if waited >= START_WAIT_SECONDS:
                raise ConcurrentChange(f"{record.target}: another start holds the service; retry")
            berth.sleep(0.2)
            waited += 0.2
            continue
        lease = {"starting_record_id": record.record_id, "starting_since": now}
        if berth.store.put_head(head.model_copy(update=lease)) is not None:
            return True


def release_start_lease(berth: Berth, record: DeploymentRecord) -> None:
    for _ in range(5):
        head = berth.store.get_head(record.environment, record.service)
        if head.starting_record_id != record.record_id:
            return
        released = {"starting_record_id": None, "starting_since": None}
        if berth.store.put_head(head.model_copy(update=released)) is not None:
            return
