"""Writes of several items at once: a record with its service's head (and its waiters), all or
nothing, in one DynamoDB TransactWriteItems call instead of one call per item.

A transaction cancelled by a failed condition tells which items' conditions failed: the record's
(it left the statuses the caller expected) or the head's (it moved since it was read).
"""

from __future__ import annotations

from typing import Any, Literal

from botocore.exceptions import ClientError

from chalicelib.values.records import DeploymentRecord, Head, SpecVersion

from .. import aws_errors, error_code
from .heads import ServiceHeads
from .records import DeploymentRecords, record_condition, stamped


class RecordsWithHeads(DeploymentRecords, ServiceHeads):
    """A record and its service's head written together."""

    @aws_errors("TransactWriteItems")
    def claim(self, record: DeploymentRecord, head: Head) -> Head | None:
        """Write the new PENDING `record`, move the head to it and register the record as a
        waiter of each service it waits for, all or nothing; None if the head moved meanwhile.
        One call instead of one per item (DynamoDB TransactWriteItems). The head keeps a copy
        of the record (`Head.active_record`)."""
        record = stamped(record)
        if head.active_record_id == record.record_id:
            head = head.model_copy(update={"active_record": record})
        moved, head_put = self._head_put(head)
        record_put = {
            "TableName": self.deployments,
            "Item": self._record_item(record),
            "ConditionExpression": "attribute_not_exists(sk)",
        }
        waiters = [
            {"Put": {"TableName": self.deployments, "Item": self._waiter_item(record, d)}}
            for d in record.waiting_for
        ]
        failed = self._transact([{"Put": record_put}, {"Put": head_put}, *waiters])
        if failed == {1}:
            return None
        if failed:
            raise _cancelled(failed)
        return moved

    @aws_errors("TransactWriteItems")
    def transition_with_head(
        self,
        record: DeploymentRecord,
        allowed_from: set[str] | frozenset[str],
        head: Head,
        *,
        unchanged: bool = False,
        **changes: Any,
    ) -> tuple[DeploymentRecord | None, Head | None]:
        """`transition` and `put_head` in one call. (record, head) as written; (None, None) if
        the record had left `allowed_from` (or, with `unchanged`, was written since `record`);
        (record written alone, None) if only the head had moved, so that the caller re-reads it.
        A head that names the record keeps a copy of it as written (`Head.active_record`)."""
        updated = stamped(record.model_copy(update=changes))
        if head.active_record_id == updated.record_id:
            head = head.model_copy(update={"active_record": updated})
        moved, head_put = self._head_put(head)
        record_put = {
            "TableName": self.deployments,
            "Item": self._record_item(updated),
            **record_condition(allowed_from, record if unchanged else None),
        }
        failed = self._transact([{"Put": record_put}, {"Put": head_put}])
        if not failed:
            return updated, moved
        if 0 in failed:
            return None, None
        return self.transition(record, allowed_from, unchanged=unchanged, **changes), None

    @aws_errors("TransactWriteItems")
    def lease_if_current(
        self, head: Head, environment: str, decided_under: SpecVersion
    ) -> Head | Literal["moved", "stale"]:
        """Store `head` (a start lease taken) only if nobody moved it since it was read and the
        environment's accepted spec is still `decided_under`, the version the record to start
        was decided under, checked in the same transaction (TransactWriteItems' ConditionCheck
        on the specs table: "the actions are completed atomically so that either all of them
        succeed, or all of them fail", DynamoDB API reference, TransactWriteItems,
        https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html;
        IAM authorises its ConditionCheck as dynamodb:ConditionCheckItem). The head as
        written; "moved" if the head moved; "stale" if the accepted spec moved on (the record
        was decided under an older state). An accepted item written before the version was kept
        top-level passes."""
        moved, head_put = self._head_put(head)
        check = {
            "TableName": self.specs,
            "Key": {"environment": {"S": environment}},
            "ConditionExpression": (
                "attribute_not_exists(version_id) OR (spec_key = :k AND version_id = :v)"
            ),
            "ExpressionAttributeValues": {
                ":k": {"S": decided_under.key}, ":v": {"S": decided_under.version_id or ""},
            },
        }  # fmt: skip
        failed = self._transact([{"Put": head_put}, {"ConditionCheck": check}])
        if not failed:
            return moved
        return "stale" if 1 in failed else "moved"

    def _transact(self, items: list[dict[str, Any]]) -> set[int]:
        """Run a transaction; the indexes of the items whose condition failed (empty: written)."""
        try:
            self.db.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons", [])
            failed = {i for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"}
            if not failed:
                raise
            return failed
        return set()


def _cancelled(failed: set[int]) -> ClientError:
    return ClientError(
        {"Error": {"Code": "TransactionCanceledException",
                   "Message": f"conditions failed on items {sorted(failed)}"}},
        "TransactWriteItems",
    )  # fmt: skip
