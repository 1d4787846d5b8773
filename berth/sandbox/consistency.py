"""DynamoDB's global secondary indexes are eventually consistent; moto's are not.

"Reads from a global secondary index are eventually consistent": an item written a moment ago
may be missing from a Query on an index (DynamoDB developer guide, "Global secondary indexes",
read consistency). With `seconds` > 0 the sandbox hides from Berth's index queries the items
Berth wrote within the last `seconds` (by PutItem, UpdateItem or TransactWriteItems, as every
write reaches an index asynchronously), so code that trusts an index to hold what it just wrote
fails in the sandbox as it would on AWS, now and then. An item an update moves within an index
is hidden rather than shown as it was, which is stricter for code looking for the new values.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class IndexLag:
    seconds: float = 0.0
    clock: Callable[[], float] = time.monotonic
    _written: dict[tuple[str, str, str], float] = field(default_factory=dict)

    def attach(self, session: Any) -> Any:
        session.events.register("before-parameter-build.dynamodb.PutItem", self._remember)
        session.events.register("before-parameter-build.dynamodb.UpdateItem", self._remember)
        session.events.register(
            "before-parameter-build.dynamodb.TransactWriteItems", self._remember_transaction
        )
        session.events.register("before-parameter-build.dynamodb.Query", self._mark_index_query)
        session.events.register("after-call.dynamodb.Query", self._hide_recent)
        return session

    def _remember(self, params: Any, **_: Any) -> None:
        item = params.get("Item") or params.get("Key") or {}
        if "pk" in item and "sk" in item:
            key = (params["TableName"], item["pk"].get("S", ""), item["sk"].get("S", ""))
            self._written[key] = self.clock()

    def _remember_transaction(self, params: Any, **_: Any) -> None:
        for action in params.get("TransactItems", []):
            for kind in ("Put", "Update"):
                if kind in action:
                    self._remember(action[kind])

    def _mark_index_query(self, params: Any, context: Any, **_: Any) -> None:
        if params.get("IndexName"):
            context["berth_index_of"] = params["TableName"]

    def _hide_recent(self, parsed: Any, context: Any, **_: Any) -> None:
        table = context.get("berth_index_of")
        if table is None or self.seconds <= 0 or "Items" not in parsed:
            return
        now = self.clock()

        def visible(item: dict[str, Any]) -> bool:
            key = (table, item.get("pk", {}).get("S", ""), item.get("sk", {}).get("S", ""))
            return now - self._written.get(key, float("-inf")) >= self.seconds

        parsed["Items"] = [i for i in parsed["Items"] if visible(i)]
        parsed["Count"] = len(parsed["Items"])
