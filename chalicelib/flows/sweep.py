"""The scheduled sweep: settle deployments that had no terminal event within the rollout timeout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.context import Berth, logger
from chalicelib.decisions.sweep import due, sweep_verdict
from chalicelib.errors import AwsCallFailed
from chalicelib.rendering.schema_init import schema_owner
from chalicelib.values.outcomes import Outcome
from chalicelib.values.records import ACTIVE, DeploymentRecord

from .runs.finish import causes_of, conclude
from .schema import sweep_schema


def sweep(berth: Berth) -> list[Outcome]:
    """Settle every active record whose rollout outlived the timeout."""
    now = berth.clock()
    timeout = timedelta(minutes=berth.settings.rollout_timeout_minutes)
    outcomes: list[Outcome] = []
    # Created before the cutoff is necessary for being due, not sufficient: a service that
    # waited for its dependency started later, and is measured from its start.
    unsettled = berth.store.unsettled_records(created_before=now - timeout)
    # Waiting records last: their dependencies' outcomes decide what becomes of them.
    for record in sorted(unsettled, key=lambda r: r.status == "PENDING"):
        if not due(record, now, timeout) or _waits_for_a_live_dependency(berth, record):
            continue
        outcomes += _settle(berth, record)
    return outcomes


def _waits_for_a_live_dependency(berth: Berth, record: DeploymentRecord) -> bool:
    """A PENDING record whose dependency is still deploying is not stuck: it waits its turn."""
    for dependency in record.waiting_for:
        head = berth.store.get_head(record.environment, dependency)
        if head.active_record_id is None:
            continue
        owner = berth.store.get_record(record.environment, dependency, head.active_record_id)
        if owner is not None and owner.status in ACTIVE:
            return True
    return False


def _settle(berth: Berth, record: DeploymentRecord) -> list[Outcome]:
    if record.status == "IN_PROGRESS" and schema_owner(record.service) is not None:
        return sweep_schema(berth, record, berth.settings.rollout_timeout_minutes)
    deployment: dict[str, Any] | None = None
    if record.ecs_deployment_id:
        try:
            deployment = berth.ecs.deployment(
                record.cluster, record.service, record.ecs_deployment_id
            )
        except AwsCallFailed as failure:
            logger.warning("sweep could not describe the service", extra={"error": str(failure)})
    verdict = sweep_verdict(record, deployment, berth.settings.rollout_timeout_minutes)
    changes: dict[str, Any] = {
        "reason": verdict.reason,
        "ecs_still_rolling": verdict.ecs_still_rolling,
    }
    if verdict.read_causes:
        changes["causes"] = causes_of(berth, record)
    return conclude(berth, record, {record.status}, verdict.status, "sweep", **changes)
