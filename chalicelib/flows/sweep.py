"""The scheduled sweep: settle deployments that had no terminal event within the rollout timeout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.context import Berth, logger
from chalicelib.decisions.sweep import (
    SweepVerdict,
    Wait,
    due,
    follows_service_deployment,
    service_deployment_sweep_verdict,
    sweep_verdict,
    wait_minutes,
)
from chalicelib.errors import AwsCallFailed
from chalicelib.rendering.schema_init import schema_owner
from chalicelib.spec.deployment import Deployment
from chalicelib.spec.model import Spec
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
    specs: dict[str, Spec | None] = {}
    # Waiting records last: their dependencies' outcomes decide what becomes of them.
    for record in sorted(unsettled, key=lambda r: r.status == "PENDING"):
        deployment = _deployment_of(berth, record, specs)
        minutes = wait_minutes(record, deployment, berth.settings.rollout_timeout_minutes)
        if not due(record, now, timedelta(minutes=minutes)):
            continue
        if _waits_for_a_live_dependency(berth, record):
            continue
        outcomes += _settle(berth, record, deployment, minutes)
    return outcomes


def _deployment_of(
    berth: Berth, record: DeploymentRecord, specs: dict[str, Spec | None]
) -> Deployment | None:
    """The record's service's deployment settings in its environment's accepted spec (read
    once per environment and sweep), or None when the spec no longer has the service."""
    if record.status == "PENDING":
        return None  # never started: its strategy has no part in how long it may wait
    if record.environment not in specs:
        accepted = berth.store.accepted_spec(record.environment)
        specs[record.environment] = (
            Spec.model_validate(accepted.document) if accepted is not None else None
        )
    spec = specs[record.environment]
    service = spec.services.get(record.service) if spec is not None else None
    return service.deployment if service is not None else None


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


def _settle(
    berth: Berth, record: DeploymentRecord, settings: Deployment | None, waited_minutes: int
) -> list[Outcome]:
    if record.status == "IN_PROGRESS" and schema_owner(record.service) is not None:
        return sweep_schema(berth, record, berth.settings.rollout_timeout_minutes)
    verdict: SweepVerdict | None = None
    if follows_service_deployment(record, settings):
        followed = _from_service_deployment(berth, record, waited_minutes)
        if isinstance(followed, Wait):
            logger.info("sweep leaves a deployment ECS is still at", extra={
                "service": record.service, "reason": followed.reason})  # fmt: skip
            return []
        verdict = followed
    if verdict is None:
        deployment: dict[str, Any] | None = None
        if record.ecs_deployment_id:
            try:
                deployment = berth.ecs.deployment(
                    record.cluster, record.service, record.ecs_deployment_id
                )
            except AwsCallFailed as failure:
                logger.warning(
                    "sweep could not describe the service", extra={"error": str(failure)}
                )
        verdict = sweep_verdict(record, deployment, berth.settings.rollout_timeout_minutes)
    changes: dict[str, Any] = {
        "reason": verdict.reason,
        "ecs_still_rolling": verdict.ecs_still_rolling,
    }
    if verdict.read_causes:
        changes["causes"] = causes_of(berth, record)
    return conclude(berth, record, {record.status}, verdict.status, "sweep", **changes)


def _from_service_deployment(
    berth: Berth, record: DeploymentRecord, waited_minutes: int
) -> SweepVerdict | Wait | None:
    """The verdict from the record's service deployment; Wait when ECS could not be asked (the
    next sweep asks again: nothing is concluded without ECS's word); None when ECS has no service
    deployment for it, and DescribeServices is all there is to judge from."""
    try:
        found = berth.ecs.service_deployment(
            record.cluster, record.service, record.ecs_deployment_id or "",
            recorded_at=record.created_at,
        )  # fmt: skip
    except AwsCallFailed as failure:
        logger.warning("sweep could not read the service deployment",
                       extra={"error": str(failure)})  # fmt: skip
        return Wait(f"ECS could not be asked: {failure}")
    if found is None:
        return None
    return service_deployment_sweep_verdict(record, found, waited_minutes)
