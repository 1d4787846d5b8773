"""Accepted specs in the specs table: one item per environment, its desired state, which moves
only to a newer S3 sequencer of the same file.
"""

from __future__ import annotations

from chalicelib.values.records import AcceptedSpec

from .. import aws_errors
from .table import Tables, plain_item, put_if, typed_item


class AcceptedSpecs(Tables):
    """The store's accepted specs, one per environment."""

    @aws_errors("PutItem")
    def accept_spec(self, accepted: AcceptedSpec) -> bool:
        """Make `accepted` the environment's desired state unless a later upload of the same
        file already is. S3 orders sequencers per key only (S3 user guide, event message
        structure), so they are compared only between versions of one key."""
        sequencer = _sortable(accepted.sequencer)
        item = typed_item(
            {
                "environment": accepted.environment,
                "spec_key": accepted.source.key,
                "sequencer": sequencer,
                # Top-level, for the condition every start of a spec's record is taken under
                # (transactions.RecordsWithHeads.lease_if_current).
                "version_id": accepted.source.version_id,
                "body": accepted.model_dump_json(),
            }
        )
        return put_if(
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
        return AcceptedSpec.model_validate_json(plain_item(item)["body"]) if item else None

    @aws_errors("Scan")
    def accepted_specs(self) -> list[AcceptedSpec]:
        specs: list[AcceptedSpec] = []
        for page in self.db.get_paginator("scan").paginate(
            TableName=self.specs, ConsistentRead=True
        ):
            specs += [
                AcceptedSpec.model_validate_json(plain_item(i)["body"])
                for i in page.get("Items", [])
            ]
        return specs


def _sortable(sequencer: str) -> str:
    # S3 sequencers compare as hex numbers of varying length: left-pad to compare as strings.
    return sequencer.upper().rjust(32, "0") if sequencer else "0" * 32
