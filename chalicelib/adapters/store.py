"""DynamoDB persistence of deployment records, service heads and accepted specs.

Every state change is a conditional write: a record moves only from the statuses the caller
expects, a head only from the revision the caller read, a spec only to a newer S3 sequencer.
Whoever wins the write is the one who acts and notifies; the loser learns it lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from chalicelib.values.records import (
    ACTIVE,
    AcceptedSpec,
    DeploymentRecord,
    Head,
    RunOutcome,
    RunPlan,
    RunTally,
    Status,
    Waiter,
    service_key,
)

from . import aws_errors, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

HEAD = "HEAD"
WAITER = "WAITER#"
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


def _stamped(record: DeploymentRecord) -> DeploymentRecord:
    """`record` as the store writes it: with a stamp no other write of it carries."""
    return record.model_copy(update={"stamp": uuid.uuid4().hex})


def _record_condition(
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
            Item=self._record_item(_stamped(record)),
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
        updated = _stamped(record.model_copy(update=changes))
        condition = _record_condition(allowed_from, record if unchanged else None)
        expression = condition.pop("ConditionExpression")
        written = _put_if(self.db, self.deployments, self._record_item(updated), expression,
                          **condition)  # fmt: skip
        return updated if written else None

    @aws_errors("PutItem")
    def transition_approval(
        self, record: DeploymentRecord, gate_state: str | None, **changes: Any
    ) -> DeploymentRecord | None:
        """Write `changes` if the stored record is still IN_PROGRESS and its approval gate is in
        `gate_state` (None: not asked yet); None if not. Berth's hook and `berth approve`
        both write the record while it waits: neither may overwrite what the other wrote."""
        updated = _stamped(record.model_copy(update=changes))
        values: dict[str, Any] = {":s": {"S": "IN_PROGRESS"}}
        if gate_state is None:
            gate = "attribute_not_exists(#approval)"
        else:
            gate = "#approval = :a"
            values[":a"] = {"S": gate_state}
        written = _put_if(
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
            "Item": _item(
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
                plain = _plain(item)
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
            Key=_item({"pk": service_key(waiter.environment, dependency), "sk": waiter.key}),
        )

    # ---- writes of several items at once ------------------------------------------------------

    @aws_errors("TransactWriteItems")
    def claim(self, record: DeploymentRecord, head: Head) -> Head | None:
        """Write the new PENDING `record`, move the head to it and register the record as a
        waiter of each service it waits for, all or nothing; None if the head moved meanwhile.
        One call instead of one per item (DynamoDB TransactWriteItems). The head keeps a copy
        of the record (`Head.active_record`)."""
        record = _stamped(record)
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
        updated = _stamped(record.model_copy(update=changes))
        if head.active_record_id == updated.record_id:
            head = head.model_copy(update={"active_record": updated})
        moved, head_put = self._head_put(head)
        record_put = {
            "TableName": self.deployments,
            "Item": self._record_item(updated),
            **_record_condition(allowed_from, record if unchanged else None),
        }
        failed = self._transact([{"Put": record_put}, {"Put": head_put}])
        if not failed:
            return updated, moved
        if 0 in failed:
            return None, None
        return self.transition(record, allowed_from, unchanged=unchanged, **changes), None

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

    def _waiter_item(self, record: DeploymentRecord, dependency: str) -> dict[str, Any]:
        waiter = Waiter(
            environment=record.environment, service=record.service, record_id=record.record_id
        )
        return _item(
            {
                "pk": service_key(record.environment, dependency),
                "sk": waiter.key,
                "body": waiter.model_dump_json(),
            }
        )

    # ---- wide runs ---------------------------------------------------------------------------

    @aws_errors("PutItem")
    def open_run(self, tally: RunTally, expires: datetime) -> bool:
        """Start counting a wide run's outcomes; False if it is already open (a redelivery)."""
        item = _item(
            {
                "pk": f"RUN#{tally.run_id}",
                "sk": "RUN",
                "body": tally.model_dump_json(
                    exclude={"outcomes", "remaining", "plan", "batches_done"}
                ),
                "remaining": tally.remaining,
                "expires_at": int(expires.timestamp()),
            }
        )
        item["outcomes"] = {"M": {}}
        return _put_if(self.db, self.deployments, item, "attribute_not_exists(pk)")

    @aws_errors("UpdateItem")
    def count_in_run(self, run_id: str, outcome: RunOutcome) -> RunTally | None:
        """Add one service's outcome to its run, once: the run as it stands after, or None when
        this service was already counted (a correction after the summary, a redelivery)."""
        try:
            response = self.db.update_item(
                TableName=self.deployments,
                Key=_item({"pk": f"RUN#{run_id}", "sk": "RUN"}),
                UpdateExpression="SET outcomes.#s = :o ADD remaining :minus",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(outcomes.#s)",
                ExpressionAttributeNames={"#s": outcome.service},
                ExpressionAttributeValues={
                    ":o": {"S": outcome.model_dump_json()},
                    ":minus": {"N": "-1"},
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        plain = _plain(response["Attributes"])
        tally = RunTally.model_validate_json(str(plain["body"]))
        return tally.model_copy(
            update={
                "remaining": int(plain["remaining"]),
                "outcomes": {
                    k: RunOutcome.model_validate_json(str(v))
                    for k, v in dict(plain.get("outcomes", {})).items()
                },
            }
        )

    @aws_errors("UpdateItem")
    def plan_run(self, run_id: str, plan: RunPlan) -> RunPlan | None:
        """Keep how a run is fanned out in its record, unless a plan is already there (an earlier
        delivery of the event that opened it planned it first): the plan kept, or None when no
        such run is open."""
        try:
            response = self.db.update_item(
                TableName=self.deployments,
                Key=_item({"pk": f"RUN#{run_id}", "sk": "RUN"}),
                UpdateExpression="SET #plan = if_not_exists(#plan, :plan)",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#plan": "plan"},
                ExpressionAttributeValues={":plan": {"S": plan.model_dump_json()}},
                ReturnValues="ALL_NEW",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return RunPlan.model_validate_json(str(_plain(response["Attributes"])["plan"]))

    @aws_errors("GetItem")
    def get_run(self, run_id: str) -> RunTally | None:
        """A run's record as it stands (strongly consistent: a batch is proven against the plan
        written just before it was sent), or None when Berth never opened it (or it expired)."""
        item = self.db.get_item(
            TableName=self.deployments,
            Key=_item({"pk": f"RUN#{run_id}", "sk": "RUN"}),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        plain = _plain(item)
        tally = RunTally.model_validate_json(str(plain["body"]))
        plan = plain.get("plan")
        return tally.model_copy(
            update={
                "remaining": int(plain.get("remaining", 0)),
                "outcomes": {
                    k: RunOutcome.model_validate_json(str(v))
                    for k, v in dict(plain.get("outcomes", {})).items()
                },
                "plan": RunPlan.model_validate_json(str(plan)) if plan else None,
                "batches_done": frozenset(int(i) for i in plain.get("batches_done", ())),
            }
        )

    @aws_errors("UpdateItem")
    def finish_batch(self, run_id: str, batch: int) -> None:
        """Mark one batch of a run as done (a number set, so a second mark changes nothing); a
        run that is gone (expired) is left gone."""
        try:
            self.db.update_item(
                TableName=self.deployments,
                Key=_item({"pk": f"RUN#{run_id}", "sk": "RUN"}),
                UpdateExpression="ADD batches_done :batch",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":batch": {"NS": [str(batch)]}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise

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


def _cancelled(failed: set[int]) -> ClientError:
    return ClientError(
        {"Error": {"Code": "TransactionCanceledException",
                   "Message": f"conditions failed on items {sorted(failed)}"}},
        "TransactWriteItems",
    )  # fmt: skip


def _sortable(sequencer: str) -> str:
    # S3 sequencers compare as hex numbers of varying length: left-pad to compare as strings.
    return sequencer.upper().rjust(32, "0") if sequencer else "0" * 32
