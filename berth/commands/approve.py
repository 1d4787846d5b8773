"""`berth approve`: what the approval recorded on a deployment held at its approval gate."""

from __future__ import annotations

from chalicelib.decisions.approval import APPROVAL_DELAY, approved_line
from chalicelib.values.records import DeploymentRecord


def approval_lines(record: DeploymentRecord, approved_now: bool) -> list[str]:
    """`dev/apim: approved 4.7.0-2 (record D#…) ...`, or that it was approved already."""
    image = f" {record.image.label}" if record.image else ""
    where = f"{record.environment}/{record.service}"
    approval = record.approval
    said = approved_line(approval) if approval else "approved"
    if not approved_now:
        return [f"{where}{image} (record {record.record_id}): already {said}; nothing changed"]
    return [
        f"{where}{image} (record {record.record_id}): {said}",
        f"  Berth's hook lets production traffic move at its next call (within "
        f"{APPROVAL_DELAY} s): berth history {record.environment} {record.service}",
    ]


def approval_text(record: DeploymentRecord) -> str:
    """The approval gate's state, for `berth history`."""
    approval = record.approval
    if approval is None:
        return ""
    if approval.approved_by is not None:
        return approved_line(approval)
    return f"approval asked at {approval.asked_at:%Y-%m-%d %H:%M} UTC, deadline " \
           f"{approval.deadline:%Y-%m-%d %H:%M} UTC, not approved"
