"""What every part of the store shares: the two tables it holds, DynamoDB's typed attribute
values to and from plain Python, and the conditional PutItem whose lost condition is an answer
(False), not an error.

AWS failures still leave through `adapters.aws_errors` on each public method; only
ConditionalCheckFailedException, the answer a conditional write is for, is caught here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from .. import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def put_if(
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


def typed_item(values: dict[str, Any]) -> dict[str, Any]:
    """`values` as DynamoDB attribute values; None and "" are left out."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v not in (None, "")}


def plain_item(item: dict[str, Any]) -> dict[str, Any]:
    """A DynamoDB item's attribute values as plain Python."""
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


class Tables:
    """Berth's tables: deployments (records, heads, waiters, runs, external deployments) and
    specs. Each part of the store is a mixin of this."""

    def __init__(self, client: DynamoDBClient, deployments_table: str, specs_table: str) -> None:
        self.db = client
        self.deployments = deployments_table
        self.specs = specs_table
