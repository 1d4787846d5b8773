"""DynamoDB persistence of deployment records, service heads and accepted specs.

Every state change is a conditional write: a record moves only from the statuses the caller
expects, a head only from the revision the caller read, a spec only to a newer S3 sequencer.
Whoever wins the write is the one who acts and notifies; the loser learns it lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from ..records import ACTIVE, AcceptedSpec, DeploymentRecord, Head, Status, service_key
from . import aws_errors, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HEAD = "HEAD"
BY_ECS_DEPLOYMENT = "by-ecs-deployment"
BY_STATUS = "by-status"
BY_UNSETTLED = "by-unsettled"
UNSETTLED = "yes"
"""The value of `unsettled` on a record still under way; terminal records drop the attribute."""
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _put_if(
    db: DynamoDBClient, table: str, item: dict[str, Any], condition: str, **names: Any
) -> bool:
    """PutItem under `condition`; False (not an error) when the condition does not hold."""
    try:
        db.put_item(TableName=table, Item=item, ConditionExpression=condition, **names)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def _item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items() if v not in (None, "")}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


class Store:
    """Berth's tables: deployments (records, heads, external deployments) and specs."""

    def __init__(self, client: DynamoDBClient, deployments_table: str, specs_table: str) -> None:
        self.db = client
        self.deployments = deployments_table
        self.specs = specs_table

    # ---- deployment records -------------------------------------------------------------------

    def _record_item(self, record: DeploymentRecord) -> dict[str, Any]:
        return _item(
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
                "body": record.model_dump_json(),
            }
        )

    @aws_errors("PutItem")
    def put_record(self, record: DeploymentRecord) -> None:
        self.db.put_item(
            TableName=self.deployments,
            Item=self._record_item(record),
            ConditionExpression="attribute_not_exists(sk)",
        )

    @aws_errors("PutItem")
    def transition(
        self, record: DeploymentRecord, allowed_from: set[str] | frozenset[str], **changes: Any
    ) -> DeploymentRecord | None:
        """Write `changes` if the stored record is still in one of `allowed_from`; None if not."""
        updated = record.model_copy(update=changes)
        names = {":s" + str(i): s for i, s in enumerate(sorted(allowed_from))}
        written = _put_if(
            self.db,
            self.deployments,
            self._record_item(updated),
            f"#status IN ({', '.join(names)})",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={k: {"S": v} for k, v in names.items()},
        )
        return updated if written else None

    @aws_errors("GetItem")
    def get_record(self, environment: str, service: str, record_id: str) -> DeploymentRecord | None:
        item = self.db.get_item(
            TableName=self.deployments,
            Key=_item({"pk": service_key(environment, service), "sk": record_id}),
            ConsistentRead=True,
        ).get("Item")
        return DeploymentRecord.model_validate_json(_plain(item)["body"]) if item else None

    def _records(self, **query: Any) -> Iterator[DeploymentRecord]:
        """Records a query names; index entries (keys only) are re-read from the table itself."""
        paginator = self.db.get_paginator("query")
        for page in paginator.paginate(TableName=self.deployments, **query):
            for item in page.get("Items", []):
                plain = _plain(item)
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

    # ---- heads --------------------------------------------------------------------------------

    @aws_errors("GetItem")
    def get_head(self, environment: str, service: str) -> Head:
        item = self.db.get_item(
            TableName=self.deployments,
            Key=_item({"pk": service_key(environment, service), "sk": HEAD}),
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return Head(environment=environment, service=service)
        return Head.model_validate_json(_plain(item)["body"])

    @aws_errors("PutItem")
    def put_head(self, head: Head) -> Head | None:
        """Store `head` as the next revision if nobody moved it since it was read; else None."""
        expected = head.revision
        moved = head.model_copy(update={"revision": expected + 1})
        item = _item(
            {
                "pk": head.target,
                "sk": HEAD,
                "revision": moved.revision,
                "body": moved.model_dump_json(),
            }
        )
        if expected == 0:
            written = _put_if(self.db, self.deployments, item, "attribute_not_exists(sk)")
        else:
            written = _put_if(
                self.db,
                self.deployments,
                item,
                "revision = :r",
                ExpressionAttributeValues={":r": {"N": str(expected)}},
            )
        return moved if written else None

    # ---- deployments Berth did not start ------------------------------------------------------

    @aws_errors("PutItem")
    def claim_external(
        self, deployment_id: str, service_arn: str, event_name: str, expires: datetime
    ) -> bool:
        """True the first time an external deployment id is seen (so it is reported once); the
        item expires (DynamoDB TTL on `expires_at`, epoch seconds) once ECS stops sending news."""
        item = _item(
            {
                "pk": "external",
                "sk": deployment_id,
                "ecs_service_arn": service_arn,
                "body": json.dumps({"event": event_name}),
                "expires_at": int(expires.timestamp()),
            }
        )
        return _put_if(self.db, self.deployments, item, "attribute_not_exists(sk)")

    # ---- accepted specs -----------------------------------------------------------------------

    @aws_errors("PutItem")
    def accept_spec(self, accepted: AcceptedSpec) -> bool:
        """Make `accepted` the environment's desired state unless a later upload of the same
        file already is. S3 orders sequencers per key only (S3 user guide, event message
        structure), so they are compared only between versions of one key."""
        sequencer = _sortable(accepted.sequencer)
        item = _item(
            {
                "environment": accepted.environment,
                "spec_key": accepted.source.key,
                "sequencer": sequencer,
                "body": accepted.model_dump_json(),
            }
        )
        return _put_if(
            self.db,
            self.specs,
            item,
            "attribute_not_exists(environment) OR spec_key <> :k OR sequencer <= :q",
            ExpressionAttributeValues={":q": {"S": sequencer}, ":k": {"S": accepted.source.key}},
        )

    @aws_errors("GetItem")
    def accepted_spec(self, environment: str) -> AcceptedSpec | None:
        item = self.db.get_item(
            TableName=self.specs,
            Key={"environment": {"S": environment}},
            ConsistentRead=True,
        ).get("Item")
        return AcceptedSpec.model_validate_json(_plain(item)["body"]) if item else None

    @aws_errors("Scan")
    def accepted_specs(self) -> list[AcceptedSpec]:
        specs: list[AcceptedSpec] = []
        for page in self.db.get_paginator("scan").paginate(
            TableName=self.specs, ConsistentRead=True
        ):
            specs += [
                AcceptedSpec.model_validate_json(_plain(i)["body"]) for i in page.get("Items", [])
            ]
        return specs


def _sortable(sequencer: str) -> str:
    # S3 sequencers compare as hex numbers of varying length: left-pad to compare as strings.
    return sequencer.upper().rjust(32, "0") if sequencer else "0" * 32
