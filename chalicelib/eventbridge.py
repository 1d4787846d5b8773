"""EventBridge-triggered Lambdas that receive the raw event, even a malformed one.

Chalice's CloudWatchEvent reads `version`, `account`, `detail`... with `[]` before user code runs,
so an event missing one of them raises KeyError inside Chalice and Lambda retries it until it
reaches the dead-letter queue. Berth's handlers parse the raw dict themselves and answer
malformed events with a logged reason instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, CloudWatchEvent

_ATTRIBUTES = {
    "version": "version",
    "account": "account",
    "region": "region",
    "detail": "detail",
    "detail_type": "detail-type",
    "source": "source",
    "time": "time",
    "event_id": "id",
    "resources": "resources",
}


class RawCloudWatchEvent(CloudWatchEvent):
    def _extract_attributes(self, event_dict: Any) -> None:
        event = event_dict if isinstance(event_dict, dict) else {}
        for attribute, key in _ATTRIBUTES.items():
            setattr(self, attribute, event.get(key))


def on_eventbridge_event(
    app: Chalice, pattern: dict[str, Any], name: str
) -> Callable[[Callable[..., Any]], Any]:
    """Register an EventBridge-triggered Lambda exactly like `app.on_cw_event`."""

    def register(func: Callable[..., Any]) -> Any:
        handler = app.on_cw_event(pattern, name=name)(func)
        handler.event_class = RawCloudWatchEvent
        return handler

    return register
