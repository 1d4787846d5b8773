"""Berth's decisions, table by table, without AWS: values in, values out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.decisions.causes import failure_causes
from chalicelib.decisions.changes import classify_change, covers
from chalicelib.decisions.sweep import sweep_verdict
from chalicelib.decisions.transitions import (
    AFTER_TIMEOUT,
    ROLLED_BACK_BY_BREAKER,
    Conclude,
    Ignore,
    RollBack,
    transition_for,
)
from chalicelib.values.events import EcsDeploymentStateChange
from chalicelib.values.live import LiveService
from chalicelib.values.records import DeploymentRecord, Trigger

NOW = datetime(2026, 11, 29, tzinfo=UTC)
SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/wso2-dev/apim"


def record(**fields) -> DeploymentRecord:
    values = {
        "environment": "dev",
        "service": "apim",
        "record_id": "D#1",
        "run_id": "r1",
        "status": "IN_PROGRESS",
        "trigger": Trigger(kind="image", event_id="e1"),
        "ecs_deployment_id": "ecs-svc/1",
        "previous_task_definition_arn": "arn:td/dev-apim:1",
        "created_at": NOW,
        "updated_at": NOW,
    }
    return DeploymentRecord(**{**values, **fields})


def event(name: str, deployment: str, reason: str = "") -> EcsDeploymentStateChange:
    return EcsDeploymentStateChange.model_validate(
        {
            "version": "0", "id": "ev", "detail-type": "ECS Deployment State Change",
            "source": "aws.ecs", "account": "123456789012", "time": "2026-11-29T00:00:00Z",
            "region": "us-east-1", "resources": [SERVICE_ARN],
            "detail": {"eventType": "INFO", "eventName": name, "deploymentId": deployment,
                       "reason": reason},
        }
    )  # fmt: skip


ROLLBACK_REASON = "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/0."
OPEN = frozenset({"IN_PROGRESS", "ROLLING_BACK"})
LATE = frozenset({"IN_PROGRESS", "TIMED_OUT"})


@pytest.mark.parametrize(
    ("given", "ecs_event", "expected"),
    [
        # A plain "in progress" needs nothing recorded.
        (record(), event("SERVICE_DEPLOYMENT_IN_PROGRESS", "ecs-svc/1", "ECS deployment in progress."),
         Ignore("apim deployment ecs-svc/1 in progress")),
        # The circuit breaker's rollback announcement: roll back, remember both deployment ids.
        (record(), event("SERVICE_DEPLOYMENT_IN_PROGRESS", "ecs-svc/2", ROLLBACK_REASON),
         RollBack(OPEN, ["ecs-svc/2", "ecs-svc/0"], ROLLED_BACK_BY_BREAKER, True)),
        # FAILED with rollback possible: the outcome waits for the rollback to end.
        (record(), event("SERVICE_DEPLOYMENT_FAILED", "ecs-svc/1", "tasks failed to start."),
         RollBack(OPEN, [], "tasks failed to start.", True)),
        # FAILED of a first deployment (nothing to roll back to): failed for good.
        (record(previous_task_definition_arn=None),
         event("SERVICE_DEPLOYMENT_FAILED", "ecs-svc/1", "tasks failed to start."),
         Conclude(frozenset({"IN_PROGRESS"}), "FAILED", "tasks failed to start.", True)),
        # FAILED with the rollback switched off: failed for good.
        (record(rollback_enabled=False),
         event("SERVICE_DEPLOYMENT_FAILED", "ecs-svc/1", "x"),
         Conclude(frozenset({"IN_PROGRESS"}), "FAILED", "x", True)),
        # COMPLETED of the deployment Berth started.
        (record(), event("SERVICE_DEPLOYMENT_COMPLETED", "ecs-svc/1", "done."),
         Conclude(frozenset({"IN_PROGRESS"}), "COMPLETED", "done.")),
        # COMPLETED of the rollback's own deployment while rolling back: rolled back.
        (record(status="ROLLING_BACK", reason="tasks failed"),
         event("SERVICE_DEPLOYMENT_COMPLETED", "ecs-svc/2", "done."),
         Conclude(OPEN, "ROLLED_BACK", None)),
        # ... or the rollback's COMPLETED before the FAILED that announced it (issue 14, 3).
        (record(), event("SERVICE_DEPLOYMENT_COMPLETED", "ecs-svc/2", "done."),
         Conclude(OPEN, "ROLLED_BACK", ROLLED_BACK_BY_BREAKER, True)),
        # A later rollback event keeps the failure reason the record already has.
        (record(status="ROLLING_BACK", reason="tasks failed", rollback_deployment_ids=["ecs-svc/2"]),
         event("SERVICE_DEPLOYMENT_IN_PROGRESS", "ecs-svc/2", ROLLBACK_REASON),
         RollBack(OPEN, ["ecs-svc/2", "ecs-svc/0"], "tasks failed", False)),
        # ECS's outcome after the sweep timed the record out while ECS was still rolling it:
        # the record is corrected (issue 14, finding 2).
        (record(status="TIMED_OUT", ecs_still_rolling=True),
         event("SERVICE_DEPLOYMENT_COMPLETED", "ecs-svc/1", "done."),
         Conclude(LATE, "COMPLETED", f"{AFTER_TIMEOUT}: done.")),
        (record(status="TIMED_OUT", ecs_still_rolling=True),
         event("SERVICE_DEPLOYMENT_FAILED", "ecs-svc/1", "tasks failed."),
         RollBack(LATE | {"ROLLING_BACK"}, [], "tasks failed.", True)),
        (record(status="TIMED_OUT", ecs_still_rolling=True, rollback_enabled=False),
         event("SERVICE_DEPLOYMENT_FAILED", "ecs-svc/1", "tasks failed."),
         Conclude(LATE, "FAILED", f"{AFTER_TIMEOUT}: tasks failed.", True)),
        (record(), event("SERVICE_DEPLOYMENT_SOMETHING_NEW", "ecs-svc/1"),
         Ignore("unhandled ECS deployment event SERVICE_DEPLOYMENT_SOMETHING_NEW")),
    ],
)  # fmt: skip
def test_what_an_ecs_deployment_event_means_for_a_record(given, ecs_event, expected):
    assert transition_for(given, ecs_event) == expected


@pytest.mark.parametrize(
    ("given", "deployment", "status", "reason", "read_causes"),
    [
        (record(status="PENDING", reason="waiting for ei"), None, "TIMED_OUT",
         "never started; still waiting for ei", True),
        (record(status="PENDING"), None, "TIMED_OUT", "never started; still pending", True),
        (record(status="ROLLING_BACK", reason="tasks failed"), None, "ROLLED_BACK",
         "tasks failed", False),
        (record(), {"rolloutState": "COMPLETED", "rolloutStateReason": "done."}, "COMPLETED",
         "reconciled from ECS: done.", False),
        (record(), {"rolloutState": "FAILED", "rolloutStateReason": "tasks failed."}, "FAILED",
         "reconciled from ECS: tasks failed.", True),
        (record(), {"rolloutState": "IN_PROGRESS", "rolloutStateReason": "going."}, "TIMED_OUT",
         "no outcome after 30 min; ECS says IN_PROGRESS: going. (Berth stops waiting; ECS's "
         "outcome will correct this)", True),
        (record(), None, "TIMED_OUT",
         "no outcome after 30 min; ECS no longer lists the deployment", True),
    ],
)  # fmt: skip
def test_the_sweep_verdict(given, deployment, status, reason, read_causes):
    verdict = sweep_verdict(given, deployment, timeout_minutes=30)
    assert (verdict.status, verdict.reason, verdict.read_causes) == (status, reason, read_causes)


RENDERED = {
    "family": "dev-apim",
    "cpu": "2048",
    "memory": "4096",
    "containerDefinitions": [{"name": "apim", "image": "repo@sha256:1"}],
}
SETTINGS = {"desiredCount": 2, "deploymentConfiguration": {"maximumPercent": 200}}


def live(launch_type: str = "FARGATE", **description) -> LiveService:
    described = {"desiredCount": 2, "deploymentConfiguration": {"maximumPercent": 200,
                 "minimumHealthyPercent": 100}, **description}  # fmt: skip
    return LiveService("arn:aws:ecs:us-east-1:1:service/wso2-dev/apim", "arn:td:1", "ecs-svc/1",
                       "COMPLETED", launch_type, described, {"berth:environment": "dev"})  # fmt: skip


@pytest.mark.parametrize(
    ("service", "task_definition", "kind"),
    [
        (None, None, "create"),
        (live(), {**RENDERED, "revision": 1, "status": "ACTIVE"}, "none"),
        (live(desiredCount=3), RENDERED, "settings"),
        (live(), {**RENDERED, "memory": "8192"}, "revision"),
        (live(launch_type="EC2"), RENDERED, "refuse"),
    ],
)
def test_what_a_spec_change_requires_of_a_live_service(service, task_definition, kind):
    change = classify_change(
        environment="dev",
        rendered=RENDERED,
        settings=SETTINGS,
        launch_type="FARGATE",
        live=service,
        live_task_definition=task_definition,
    )
    assert change.kind == kind


def test_a_launch_type_change_is_refused_with_the_fix():
    change = classify_change(
        environment="dev", rendered=RENDERED, settings=SETTINGS, launch_type="FARGATE",
        live=live(launch_type="EC2"), live_task_definition=RENDERED,
    )  # fmt: skip
    assert change.reason == (
        "the live service runs on EC2 and ECS cannot move a service to FARGATE in place; "
        "keep launchType EC2, or delete the service first"
    )


@pytest.mark.parametrize(
    ("live_value", "wanted", "held"),
    [
        ({"a": 1, "extra": 2}, {"a": 1}, True),
        ({"a": [1, 2]}, {"a": [2, 1]}, True),
        ({"a": [1, 2, 3]}, {"a": [1, 2]}, False),
        ({"a": {"b": 1}}, {"a": {"b": 2}}, False),
        ({}, {"a": None}, True),
    ],
)
def test_live_settings_cover_the_wanted_ones(live_value, wanted, held):
    assert covers(live_value, wanted) is held


def test_failure_causes_name_stopped_tasks_then_service_events_once():
    tasks = [
        {"stoppedReason": "Task failed container health checks",
         "containers": [{"name": "apim", "reason": "health check failed", "exitCode": 137},
                        {"name": "sidecar", "exitCode": 0}]},
        {"stoppedReason": "Task failed container health checks", "containers": []},
    ]  # fmt: skip
    service = {
        "deployments": [{"id": "ecs-svc/1", "failedTasks": 2}, {"id": "ecs-svc/0"}],
        "events": [
            {"message": "(service apim) has reached a steady state."},
            {"message": "(service apim) deployment failed: tasks failed to start."},
        ],
    }
    assert failure_causes(tasks, service, "ecs-svc/1") == [
        "task stopped: Task failed container health checks",
        "container apim: health check failed (exit code 137)",
        "2 task(s) failed in this deployment",
        "service event: (service apim) deployment failed: tasks failed to start.",
    ]


@pytest.mark.parametrize(
    ("tags", "reason"),
    [
        ({}, "the live service wso2-dev/apim was not created by Berth (no berth:environment tag), "
             "and Berth changes only services it created; choose another name, or tag the "
             "service berth:environment=dev to hand it over"),
        ({"berth:environment": "prod"}, "the live service wso2-dev/apim belongs to environment "
                                        "prod (berth:environment); a dev spec cannot change it"),
    ],
)  # fmt: skip
def test_a_live_service_berth_did_not_create_for_the_environment_is_refused(tags, reason):
    # Issue 15: a dev spec took over prod's APIM; a spec adopted another team's service.
    foreign = LiveService("arn:aws:ecs:us-east-1:1:service/wso2-dev/apim", "arn:td:1",
                          "ecs-svc/1", "COMPLETED", "FARGATE", {}, tags)  # fmt: skip
    change = classify_change(
        environment="dev", rendered=RENDERED, settings=SETTINGS, launch_type="FARGATE",
        live=foreign, live_task_definition=RENDERED,
    )  # fmt: skip
    assert (change.kind, change.field, change.reason) == ("refuse", "cluster", reason)
