"""Deployment records in the deployments table: one item per record (partition: the service,
sort key: the record id), found again by ECS deployment id, by status, or while unsettled.

A record moves only from the statuses the caller expects (and, asked to, only if nobody wrote it
since it was read): whoever wins the write is the one who acts and notifies; the loser learns it
lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.values.records import ACTIVE, DeploymentRecord, Status, service_key

from .. import aws_errors
from .table import Tables, plain_item, put_if, typed_item

BY_ECS_DEPLOYMENT = "by-ecs-deployment"
BY_STATUS = "by-status"
BY_UNSETTLED = "by-unsettled"
UNSETTLED = "yes"
"""The value of `unsettled` on a record still under way; terminal records drop the attribute."""


def stamped(record: DeploymentRecord) -> DeploymentRecord:
    """`record` as the store writes it: with a stamp no other write of it carries."""
    return record.model_copy(update={"stamp": uuid.uuid4().hex})


def record_condition(
    allowed_from: set[str] | frozenset[str], unchanged: DeploymentRecord | None
) -> dict[str, Any]:
    """The condition of a record's write: the stored record is in one of `allowed_from`, and,
    with `unchanged`, still the very write that record was read from (its stamp; no stamp for a
    record written before stamps were kept)."""
    names = {":s" + str(i): s for i, s in enumerate(sorted(allowed_from))}
    condition = f"#status IN ({', '.join(names)})"
    attribute_names = {"#status": "status"}
    values: dict[str, Any] = {k: {"S": v} for k, v in names.items()}
    if unchanged is not None:
        attribute_names["#stamp"] = "stamp"
        if unchanged.stamp:
            condition += " AND #stamp = :stamp"
            values[":stamp"] = {"S": unchanged.stamp}
        else:
            condition += " AND attribute_not_exists(#stamp)"
    return {
        "ConditionExpression": condition,
        "ExpressionAttributeNames": attribute_names,
        "ExpressionAttributeValues": values,
    }


class DeploymentRecords(Tables):
    """The store's deployment records: written conditionally, read consistently."""

    def _record_item(self, record: DeploymentRecord) -> dict[str, Any]:
        return typed_item(
            {
                "pk": record.target,
                "sk": record.record_id,
                "status": record.status,
                "created_at": record.created_at.isoformat(),
                "updated_at": record.updated_at.isoformat(),
                "run_id": record.run_id,
                "ecs_deployment_id": record.ecs_deployment_id,
                "ecs_service_arn": record.ecs_service_arn,
                "unsettled": UNSETTLED if record.status in ACTIVE else None,
                # Top-level, so that writes can be conditioned on it (`transition_approval`).
                "approval": record.approval.state if record.approval else None,
                "stamp": record.stamp,
                "body": record.model_dump_json(),
            }
        )

    @aws_errors("PutItem")
    def put_record(self, record: DeploymentRecord) -> None:
        self.db.put_item(
            TableName=self.deployments,
            Item=self._record_item(stamped(record)),
            ConditionExpression="attribute_not_exists(sk)",
        )

    @aws_errors("PutItem")
    def transition(
        self,
        record: DeploymentRecord,
        allowed_from: set[str] | frozenset[str],
        *,
        unchanged: bool = False,
        **changes: Any,
    ) -> DeploymentRecord | None:
        """Write `changes` if the stored record is still in one of `allowed_from` (and, with
        `unchanged`, still the write `record` is a copy of); None if not."""
        updated = stamped(record.model_copy(update=changes))
        condition = record_condition(allowed_from, record if unchanged else None)
        expression = condition.pop("ConditionExpression")
        written = put_if(self.db, self.deployments, self._record_item(updated), expression,
                         **condition)  # fmt: skip
        return updated if written else None

    @aws_errors("PutItem")
    def transition_approval(
        self, record: DeploymentRecord, gate_state: str | None, **changes: Any
    ) -> DeploymentRecord | None:
        """Write `changes` if the stored record is still IN_PROGRESS and its approval gate is in
        `gate_state` (None: not asked yet); None if not. Berth's hook and `berth approve`
        both write the record while it waits: neither may overwrite what the other wrote."""
        updated = stamped(record.model_copy(update=changes))
        values: dict[str, Any] = {":s": {"S": "IN_PROGRESS"}}
        if gate_state is None:
            gate = "attribute_not_exists(#approval)"
        else:
            gate = "#approval = :a"
            values[":a"] = {"S": gate_state}
        written = put_if(
            self.db,
            self.deployments,
            self._record_item(updated),
            f"#status = :s AND {gate}",
            ExpressionAttributeNames={"#status": "status", "#approval": "approval"},
            ExpressionAttributeValues=values,
        )
        return updated if written else None

    @aws_errors("GetItem")
    def get_record(self, environment: str, service: str, record_id: str) -> DeploymentRecord | None:
        item = self.db.get_item(
            TableName=self.deployments,
            Key=typed_item({"pk": service_key(environment, service), "sk": record_id}),
            ConsistentRead=True,
        ).get("Item")
        return DeploymentRecord.model_validate_json(plain_item(item)["body"]) if item else None

    def _records(self, **query: Any) -> Iterator[DeploymentRecord]:
        """Records a query names; index entries (keys only) are re-read from the table itself."""
        paginator = self.db.get_paginator("query")
        for page in paginator.paginate(TableName=self.deployments, **query):
            for item in page.get("Items", []):
                plain = plain_item(item)
                if "body" in plain:
                    yield DeploymentRecord.model_validate_json(plain["body"])
                    continue
                environment, _, service = str(plain["pk"]).partition("#")
                record = self.get_record(environment, service, str(plain["sk"]))
                if record is not None:
                    yield record

    @aws_errors("Query")
    def record_by_ecs_deployment(self, deployment_id: str) -> DeploymentRecord | None:
        found = self._records(
            IndexName=BY_ECS_DEPLOYMENT,
            KeyConditionExpression="ecs_deployment_id = :d",
            ExpressionAttributeValues={":d": {"S": deployment_id}},
        )
        return next(iter(found), None)

    @aws_errors("Query")
    def records_with_status(
        self, status: Status, created_before: datetime | None = None
    ) -> list[DeploymentRecord]:
        """Records in `status` (oldest first), optionally only those created before a time."""
        condition = "#status = :s"
        values: dict[str, Any] = {":s": {"S": status}}
        if created_before is not None:
            condition += " AND created_at < :t"
            values[":t"] = {"S": created_before.isoformat()}
        found = self._records(
            IndexName=BY_STATUS,
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )
        # The index is eventually consistent: keep only records still in that status.
        return [r for r in found if r.status == status]

    @aws_errors("Query")
    def unsettled_records(self, created_before: datetime) -> list[DeploymentRecord]:
        """Records still under way (PENDING, IN_PROGRESS, ROLLING_BACK) created before a time,
        oldest first: one Query of a sparse index, empty when nothing deploys."""
        found = self._records(
            IndexName=BY_UNSETTLED,
            KeyConditionExpression="unsettled = :u AND created_at < :t",
            ExpressionAttributeValues={
                ":u": {"S": UNSETTLED}, ":t": {"S": created_before.isoformat()},
            },
        )  # fmt: skip
        # The index is eventually consistent: keep only records still under way.
        return [r for r in found if r.status in ACTIVE]

    @aws_errors("Query")
    def history(self, environment: str, service: str, limit: int = 20) -> list[DeploymentRecord]:
        """A service's deployment records, newest first."""
        records = self._records(
            KeyConditionExpression="pk = :pk AND begins_with(sk, :d)",
            ExpressionAttributeValues={
                ":pk": {"S": service_key(environment, service)},
                ":d": {"S": "D#"},
            },
            ScanIndexForward=False,
            Limit=limit,
        )
        return [r for _, r in zip(range(limit), records, strict=False)]
