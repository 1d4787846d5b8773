"""Whether what a service runs in one environment is settled enough to promote to another.

A promotion copies a digest that has proved itself: promoting while the source's deployment
is still in progress (and may yet fail there) would send the target a build nobody has seen
work. So the source must have no deployment in progress, and its newest record must be a
COMPLETED deployment of the very digest the head names; a person may override with a reason
(`berth promote --force REASON`), which the promotion's record and notification keep. Pure.
"""

from __future__ import annotations

from chalicelib.values.records import DeploymentRecord, Head


def unsettled_reason(head: Head, newest: DeploymentRecord | None) -> str | None:
    """Why the source's image is not settled, or None when it may be promoted."""
    where = f"{head.environment}'s {head.service}"
    if head.active_record_id is not None:
        return (
            f"{where} is still being deployed (record {head.active_record_id}): promote once it "
            "completed there, or --force REASON"
        )
    image = head.image
    if image is None:
        return None  # nothing to promote: the caller says so
    if newest is None or newest.image is None or newest.image.digest != image.digest:
        return (
            f"no completed deployment of {image.label} ({image.digest[:19]}) is {where}'s newest "
            "record: promote what completed there, or --force REASON"
        )
    if newest.status != "COMPLETED":
        return (
            f"{where}'s newest deployment of {image.label} ended {newest.status} (record "
            f"{newest.record_id}): promote what completed there, or --force REASON"
        )
    return None
