"""The sandbox's S3 events as S3 sends them to EventBridge, where moto's differ.

Sequencers: S3: "the sequencer key provides a way to determine the sequence of events ... for the
same object key"; sequencers of different keys are not comparable (S3 user guide, "Event message
structure"). moto sends one constant for every event. Here each key gets its own increasing
hexadecimal sequence from an unrelated starting point, so code comparing sequencers across keys
fails in the sandbox as it would on AWS.

Deletions: S3 sends "Object Deleted" for every DeleteObject, with `deletion-type` "Permanently
Deleted" when an unversioned object or one version of a versioned object is removed, and "Delete
Marker Created" when a versioned object is deleted without a version id (S3 user guide, "Using
EventBridge"; example messages in "EventBridge event message structure"). moto 5 sends nothing for
a delete marker, and for a versioned key only once its last version is gone, naming the wrong
version and no deletion-type; here every deletion is sent as S3 sends it.
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
    """moto's own sender (moto/s3/notifications.py), but with S3's per-key sequencers. Deletions
    are sent by `_delete_object` instead, as S3 sends them."""
    if event_name.startswith("s3:ObjectRemoved"):
        return
    from moto.s3.notifications import _detail_type

    event = _event(
        account_id, bucket, key.name, key.version_id,
        detail_type=_detail_type(event_name), reason=event_name.split(":")[1],
        extra={"size": key.size, "eTag": key.etag.replace('"', "")},
    )  # fmt: skip
    _send(account_id, bucket, event)


def _event(
    account_id: str,
    bucket: Any,
    key_name: str,
    version_id: str | None,
    *,
    detail_type: str,
    reason: str,
    extra: dict[str, Any],
    **detail: Any,
) -> dict[str, Any]:
    from moto.core.utils import unix_time
    from moto.events.utils import _BASE_EVENT_MESSAGE

    obj: dict[str, Any] = {"key": key_name, **extra}
    if version_id and version_id != "null":
        obj["version-id"] = version_id
    obj["sequencer"] = sequencer_for(bucket.name, key_name)
    event: Any = copy.deepcopy(_BASE_EVENT_MESSAGE)
    event.update(
        {
            "detail-type": detail_type,
            "source": "aws.s3",
            "account": account_id,
            "time": unix_time(),
            "region": bucket.region_name,
            "resources": [bucket.arn],
            "detail": {
                "version": "0",
                "bucket": {"name": bucket.name},
                "object": obj,
                "requester": account_id,
                "reason": reason,
                **detail,
            },
        }
    )
    return dict(event)


def _send(account_id: str, bucket: Any, event: dict[str, Any]) -> None:
    from moto.events.models import events_backends

    if bucket.notification_configuration is None:
        return
    if bucket.notification_configuration.event_bridge is None:
        return
    for bus in events_backends[account_id][bucket.region_name].event_buses.values():
        for rule in bus.rules.values():
            rule.send_to_targets(event, transform_input=False)  # type: ignore[arg-type]


# The MD5 of no bytes: S3's example Object Deleted message carries it as the marker's eTag.
_EMPTY_ETAG = "d41d8cd98f00b204e9800998ecf8427e"


def _delete_object(original: Any) -> Any:
    def delete_object(
        self: Any,
        bucket_name: str,
        key_name: str,
        version_id: str | None = None,
        bypass: bool = False,
    ) -> tuple[bool, dict[str, Any]]:
        bucket = self.get_bucket(bucket_name)
        existed = key_name in bucket.keys
        deleted, meta = original(self, bucket_name, key_name, version_id, bypass)
        if not deleted or not existed:
            return deleted, meta
        if bucket.is_versioned and version_id is None:
            deletion, gone = "Delete Marker Created", meta.get("version-id")
        else:
            deletion, gone = "Permanently Deleted", version_id
        event = _event(
            self.account_id, bucket, key_name, gone,
            detail_type="Object Deleted", reason="DeleteObject", extra={"eTag": _EMPTY_ETAG},
            **{"deletion-type": deletion},
        )  # fmt: skip
        _send(self.account_id, bucket, event)
        return deleted, meta

    return delete_object


def make_strict() -> None:
    """Send moto's S3 EventBridge messages with per-key sequencers, and deletions as S3 does."""
    from moto.s3 import models, notifications

    notifications._send_event_bridge_message = _send_event_bridge_message
    backend = models.S3Backend
    if not getattr(backend.delete_object, "berth_strict", False):
        strict = _delete_object(backend.delete_object)
        strict.berth_strict = True
        backend.delete_object = strict  # type: ignore[method-assign]
