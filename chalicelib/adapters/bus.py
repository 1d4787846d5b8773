"""EventBridge: Berth's own batch events, which fan a wide run out over several invocations."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalicelib.errors import AwsCallFailed

from . import aws_errors

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

# PutEvents takes at most 10 entries a call (EventBridge API reference, PutEvents).
_ENTRIES_PER_CALL = 10


class Bus:
    def __init__(self, client: EventBridgeClient, source: str, detail_type: str) -> None:
        self.events = client
        self.source = source
        self.detail_type = detail_type

    @aws_errors("PutEvents")
    def send(self, details: list[dict[str, Any]]) -> None:
        """Put one event per detail on the default bus; every entry must be accepted (PutEvents
        answers 200 with FailedEntryCount for entries it refused, so they are checked)."""
        for start in range(0, len(details), _ENTRIES_PER_CALL):
            chunk = details[start : start + _ENTRIES_PER_CALL]
            response = self.events.put_events(
                Entries=[
                    {"Source": self.source, "DetailType": self.detail_type, "Detail": json.dumps(d)}
                    for d in chunk
                ]
            )
            if response.get("FailedEntryCount"):
                failed = [e for e in response.get("Entries", []) if e.get("ErrorCode")]
                codes = ", ".join(sorted({str(e.get("ErrorCode")) for e in failed}))
                raise AwsCallFailed("PutEvents", codes, f"{len(failed)} entries refused")
