"""Wide runs in the deployments table: one item per run ("RUN#<run id>") counting its services'
outcomes, so that the last one to arrive sends the run's summary, once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.values.records import RunOutcome, RunPlan, RunTally

from .. import aws_errors, error_code
from .table import Tables, plain_item, put_if, typed_item


def _run_key(run_id: str) -> dict[str, Any]:
    return typed_item({"pk": f"RUN#{run_id}", "sk": "RUN"})


def _tally_of(plain: dict[str, Any]) -> RunTally:
    """A run's item as the tally it holds: the body, with the counts, outcomes, plan and done
    batches kept beside it as attributes of their own (so each can be updated alone)."""
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


class WideRuns(Tables):
    """The store's tallies of wide runs."""

    @aws_errors("PutItem")
    def open_run(self, tally: RunTally, expires: datetime) -> bool:
        """Start counting a wide run's outcomes; False if it is already open (a redelivery)."""
        item = typed_item(
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
        return put_if(self.db, self.deployments, item, "attribute_not_exists(pk)")

    @aws_errors("UpdateItem")
    def count_in_run(self, run_id: str, outcome: RunOutcome) -> RunTally | None:
        """Add one service's outcome to its run, once: the run as it stands after, or None when
        this service was already counted (a correction after the summary, a redelivery)."""
        try:
            response = self.db.update_item(
                TableName=self.deployments,
                Key=_run_key(run_id),
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
        return _tally_of(plain_item(response["Attributes"]))

    @aws_errors("UpdateItem")
    def plan_run(self, run_id: str, plan: RunPlan) -> RunPlan | None:
        """Keep how a run is fanned out in its record, unless a plan is already there (an earlier
        delivery of the event that opened it planned it first): the plan kept, or None when no
        such run is open."""
        try:
            response = self.db.update_item(
                TableName=self.deployments,
                Key=_run_key(run_id),
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
        return RunPlan.model_validate_json(str(plain_item(response["Attributes"])["plan"]))

    @aws_errors("GetItem")
    def get_run(self, run_id: str) -> RunTally | None:
        """A run's record as it stands (strongly consistent: a batch is proven against the plan
        written just before it was sent), or None when Berth never opened it (or it expired)."""
        item = self.db.get_item(
            TableName=self.deployments,
            Key=_run_key(run_id),
            ConsistentRead=True,
        ).get("Item")
        return _tally_of(plain_item(item)) if item is not None else None

    @aws_errors("UpdateItem")
    def finish_batch(self, run_id: str, batch: int) -> None:
        """Mark one batch of a run as done (a number set, so a second mark changes nothing); a
        run that is gone (expired) is left gone."""
        try:
            self.db.update_item(
                TableName=self.deployments,
                Key=_run_key(run_id),
                UpdateExpression="ADD batches_done :batch",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":batch": {"NS": [str(batch)]}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
