"""The sandbox's S3 events carry sequencers as S3's do; moto sends one constant for every event.

S3: "the sequencer key provides a way to determine the sequence of events ... for the same object
key"; sequencers of different keys are not comparable (S3 user guide, "Event message structure").
Here each key gets its own increasing hexadecimal sequence from an unrelated starting point, so
code comparing sequencers across keys fails in the sandbox as it would on AWS.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

_counters: dict[str, Iterator[int]] = defaultdict(lambda: itertools.count(1))


def sequencer_for(bucket: str, key: str) -> str:
    start = int(hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:12], 16)
    return f"{start + next(_counters[f'{bucket}/{key}']):016X}"


def _send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
    """moto's own sender (moto/s3/notifications.py), but with S3's per-key sequencers."""
    from moto.core.utils import unix_time
    from moto.events.models import events_backends
    from moto.events.utils import _BASE_EVENT_MESSAGE
    from moto.s3.notifications import _detail_type

    event: Any = copy.deepcopy(_BASE_EVENT_MESSAGE)
    event.update(
        {
            "detail-type": _detail_type(event_name),
            "source": "aws.s3",
            "account": account_id,
            "time": unix_time(),
            "region": bucket.region_name,
            "resources": [bucket.arn],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket.name},
                "object": {
                    "key": key.name,
                    "size": key.size,
                    "eTag": key.etag.replace('"', ""),
                    "version-id": key.version_id,
                    "sequencer": sequencer_for(bucket.name, key.name),
                },
                "requester": account_id,
                "reason": event_name.split(":")[1],
            },
        }
    )
    for bus in events_backends[account_id][bucket.region_name].event_buses.values():
        for rule in bus.rules.values():
            rule.send_to_targets(event, transform_input=False)


def make_strict() -> None:
    """Send moto's S3 EventBridge messages with per-key sequencers."""
    from moto.s3 import notifications

    notifications._send_event_bridge_message = _send_event_bridge_message
