"""Service heads and their waiters in the deployments table.

A service's head (sort key "HEAD") names the deployment it is on or moving to, at a revision: it
moves only from the revision the caller read. A record that waits for another service is a
"WAITER#..." item in that service's partition, read together with its head.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.values.records import DeploymentRecord, Head, Waiter, service_key

from .. import aws_errors, error_code
from .table import Tables, plain_item, typed_item

HEAD = "HEAD"
WAITER = "WAITER#"


class ServiceHeads(Tables):
    """The store's heads (one per service) and the waiters registered in their partitions."""

    @aws_errors("GetItem")
    def get_head(self, environment: str, service: str) -> Head:
        item = self.db.get_item(
            TableName=self.deployments,
            Key=typed_item({"pk": service_key(environment, service), "sk": HEAD}),
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return Head(environment=environment, service=service)
        return Head.model_validate_json(plain_item(item)["body"])

    def _head_put(self, head: Head) -> tuple[Head, dict[str, Any]]:
        """The next revision of `head`, and the conditional Put that stores it only if nobody
        moved the head since it was read."""
        expected = head.revision
        moved = head.model_copy(update={"revision": expected + 1})
        if moved.active_record is not None and moved.copy_of_active is None:
            # a copy of a record the head no longer names
            moved = moved.model_copy(update={"active_record": None})
        put: dict[str, Any] = {
            "TableName": self.deployments,
            "Item": typed_item(
                {
                    "pk": head.target,
                    "sk": HEAD,
                    "revision": moved.revision,
                    "body": moved.model_dump_json(),
                }
            ),
        }
        if expected == 0:
            put["ConditionExpression"] = "attribute_not_exists(sk)"
        else:
            put["ConditionExpression"] = "revision = :r"
            put["ExpressionAttributeValues"] = {":r": {"N": str(expected)}}
        return moved, put

    @aws_errors("PutItem")
    def put_head(self, head: Head) -> Head | None:
        """Store `head` as the next revision if nobody moved it since it was read; else None."""
        moved, put = self._head_put(head)
        try:
            self.db.put_item(**put)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return moved

    @aws_errors("Query")
    def head_and_waiters(self, environment: str, service: str) -> tuple[Head, list[Waiter]]:
        """The service's head and the records waiting for it, in one consistent Query: in the
        service's partition, "HEAD" and "WAITER#..." sort after every "D#..." record."""
        head = Head(environment=environment, service=service)
        waiters: list[Waiter] = []
        paginator = self.db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.deployments,
            KeyConditionExpression="pk = :pk AND sk >= :head",
            ExpressionAttributeValues={
                ":pk": {"S": service_key(environment, service)}, ":head": {"S": HEAD},
            },
            ConsistentRead=True,
        ):  # fmt: skip
            for item in page.get("Items", []):
                plain = plain_item(item)
                if plain["sk"] == HEAD:
                    head = Head.model_validate_json(plain["body"])
                elif str(plain["sk"]).startswith(WAITER):
                    waiters.append(Waiter.model_validate_json(plain["body"]))
        return head, waiters

    @aws_errors("DeleteItem")
    def forget_waiter(self, dependency: str, waiter: Waiter) -> None:
        """`waiter` no longer waits for `dependency` (released, started, skipped or gone)."""
        self.db.delete_item(
            TableName=self.deployments,
            Key=typed_item({"pk": service_key(waiter.environment, dependency), "sk": waiter.key}),
        )

    def _waiter_item(self, record: DeploymentRecord, dependency: str) -> dict[str, Any]:
        waiter = Waiter(
            environment=record.environment, service=record.service, record_id=record.record_id
        )
        return typed_item(
            {
                "pk": service_key(record.environment, dependency),
                "sk": waiter.key,
                "body": waiter.model_dump_json(),
            }
        )
