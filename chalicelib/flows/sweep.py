"""The scheduled sweep: settle deployments that had no terminal event within the rollout timeout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..context import Berth, logger
from ..decisions.sweep import sweep_verdict
from ..errors import AwsCallFailed
from ..outcomes import Outcome
from ..records import DeploymentRecord, Status
from .runs import causes_of, conclude

SWEPT: tuple[Status, ...] = ("IN_PROGRESS", "ROLLING_BACK", "PENDING")


def sweep(berth: Berth) -> list[Outcome]:
    """Settle every active record created before the rollout timeout."""
    cutoff = berth.clock() - timedelta(minutes=berth.settings.rollout_timeout_minutes)
    outcomes: list[Outcome] = []
    for status in SWEPT:
        for record in berth.store.records_with_status(status, created_before=cutoff):
            outcomes += _settle(berth, record)
    return outcomes


def _settle(berth: Berth, record: DeploymentRecord) -> list[Outcome]:
    deployment: dict[str, Any] | None = None
    if record.ecs_deployment_id:
        try:
            deployment = berth.ecs.deployment(
                record.cluster, record.service, record.ecs_deployment_id
            )
        except AwsCallFailed as failure:
            logger.warning("sweep could not describe the service", extra={"error": str(failure)})
    verdict = sweep_verdict(record, deployment, berth.settings.rollout_timeout_minutes)
    changes: dict[str, Any] = {"reason": verdict.reason}
    if verdict.read_causes:
        changes["causes"] = causes_of(berth, record, verdict.lead_cause)
    return conclude(berth, record, {record.status}, verdict.status, "sweep", **changes)
