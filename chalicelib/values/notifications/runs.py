"""A wide run's news: one notification when it starts, and one summary of its services'
outcomes when every one of them has one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from chalicelib.values.records import RunOutcome, RunTally, TerminalStatus, Trigger

from .envelope import Notification, NotificationStatus, subject_line

# The run's status is its worst outcome's, in this order; all COMPLETED (or SUPERSEDED by a newer
# change, or IGNORED: not newer than what runs) is COMPLETED.
_WORST_FIRST: tuple[TerminalStatus, ...] = (
    "FAILED", "ROLLED_BACK", "TIMED_OUT", "REJECTED", "SKIPPED",
)  # fmt: skip
_TOLD_ORDER = ("COMPLETED", "IGNORED", "SUPERSEDED", *reversed(_WORST_FIRST))


def _what_started(trigger: Trigger) -> str:
    if trigger.image is not None:
        return f"{trigger.image.repository}:{trigger.image.label} pushed"
    if trigger.spec is not None:
        return f"spec s3://{trigger.spec.bucket}/{trigger.spec.key} uploaded"
    return f"{trigger.kind} change"


def run_started_notification(
    environment: str, run_id: str, services: Sequence[str], trigger: Trigger, now: datetime
) -> Notification:
    """A wide run starts: one notification for all its services instead of one each."""
    what = _what_started(trigger)
    return Notification(
        status="STARTED", environment=environment, trigger=trigger.kind, run_id=run_id,
        subject=subject_line(f"[{environment}] deploying {len(services)} services: {what}"),
        summary=f"{what}: {len(services)} services of {environment} are being deployed, in "
        "batches; their outcomes come in one run summary.",
        image=trigger.image, spec=trigger.spec, requested_by=trigger.requested_by,
        services=[RunOutcome(service=s, status="STARTED") for s in services],
        action="deploying; the run summary follows when every service has an outcome",
        time=now,
    )  # fmt: skip


def run_finished_notification(tally: RunTally, now: datetime) -> Notification:
    """A wide run's outcomes, told once every service of it has one."""
    outcomes = sorted(tally.outcomes.values(), key=lambda o: o.service)
    present = {o.status for o in outcomes}
    status: NotificationStatus = next((s for s in _WORST_FIRST if s in present), "COMPLETED")
    counts = Counter(o.status for o in outcomes)
    told = ", ".join(
        f"{counts[s]} {s.lower().replace('_', ' ')}" for s in _TOLD_ORDER if counts[s]
    )
    what = _what_started(tally.trigger)
    return Notification(
        status=status, environment=tally.environment, trigger=tally.trigger.kind,
        run_id=tally.run_id,
        subject=subject_line(f"[{tally.environment}] run of {tally.total} services: {told}"),
        summary=f"{what}: {tally.total} services of {tally.environment}: {told}.",
        image=tally.trigger.image, spec=tally.trigger.spec,
        requested_by=tally.trigger.requested_by, services=outcomes,
        action="nothing more" if status == "COMPLETED" else
        "see each service's reason; `berth history ENV SERVICE` has its record",
        time=now,
    )  # fmt: skip
