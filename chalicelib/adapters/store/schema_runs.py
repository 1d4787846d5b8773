"""Schema runs in the deployments table (partition `schema-runs/<environment>`, one item per
database and schema version): written only from the revision read, so of two starts that read
the same run, one wins and the other learns it lost (DynamoDB developer guide, "Condition
expressions": a conditional PutItem fails with ConditionalCheckFailedException)."""

from __future__ import annotations

from typing import Any

from chalicelib.values.schema_runs import SchemaRun

from .. import aws_errors
from .table import Tables, plain_item, put_if, typed_item


def _partition(environment: str) -> str:
    # A "/" appears in no environment or service name: no service's `env#service` is this.
    return f"schema-runs/{environment}"


def _sort_key(database: str, version: str) -> str:
    return f"{version}#{database}"


class SchemaRuns(Tables):
    """The store's memory of each database's schema initialisation."""

    @aws_errors("GetItem")
    def schema_run(self, environment: str, database: str, version: str) -> SchemaRun | None:
        item = self.db.get_item(
            TableName=self.deployments,
            Key=typed_item({"pk": _partition(environment), "sk": _sort_key(database, version)}),
            ConsistentRead=True,
        ).get("Item")
        return SchemaRun.model_validate_json(plain_item(item)["body"]) if item else None

    @aws_errors("Query")
    def schema_runs(self, environment: str) -> list[SchemaRun]:
        """Every schema run of the environment (a handful: one per database and version)."""
        runs: list[SchemaRun] = []
        paginator = self.db.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.deployments,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": _partition(environment)}},
            ConsistentRead=True,
        ):
            runs += [SchemaRun.model_validate_json(plain_item(i)["body"]) for i in page["Items"]]
        return runs

    @aws_errors("PutItem")
    def put_schema_run(self, run: SchemaRun) -> SchemaRun | None:
        """Store `run` as the next revision if nobody wrote it since it was read (revision 0: if
        it does not exist yet); None if another write came first."""
        written = run.model_copy(update={"revision": run.revision + 1})
        item = typed_item(
            {
                "pk": _partition(run.environment),
                "sk": _sort_key(run.database, run.version),
                "revision": written.revision,
                "body": written.model_dump_json(),
            }
        )
        names: dict[str, Any] = {}
        if run.revision == 0:
            condition = "attribute_not_exists(sk)"
        else:
            condition = "revision = :r"
            names["ExpressionAttributeValues"] = {":r": {"N": str(run.revision)}}
        return written if put_if(self.db, self.deployments, item, condition, **names) else None
