"""Blue/green, canary and linear deployments concluded from ECS's service deployment (issue 30):
a rollback is a state of the same service deployment, ROLLBACK_SUCCESSFUL means rolled back and
ROLLBACK_FAILED failed; while ECS is still at it nothing is concluded."""

from __future__ import annotations

import botocore.session
import pytest

from chalicelib.decisions.service_deployments import (
    GOING,
    OUTCOMES,
    ROLLING_BACK,
    service_deployment_verdict,
)


def test_every_status_botocore_knows_has_a_meaning():
    model = botocore.session.get_session().get_service_model("ecs")
    statuses = set(model.shape_for("ServiceDeploymentStatus").enum)
    assert statuses == set(OUTCOMES) | ROLLING_BACK | GOING


def test_a_rollback_after_a_failed_hook_is_rolled_back_with_ecs_words():
    verdict = service_deployment_verdict({
        "status": "ROLLBACK_SUCCESSFUL",
        "statusReason": "Service deployment rolled back because of a lifecycle hook failure.",
        "rollback": {"reason": "lifecycle hook failed at POST_TEST_TRAFFIC_SHIFT"},
        "lifecycleStage": "CLEAN_UP",
    })  # fmt: skip
    assert verdict.status == "ROLLED_BACK" and verdict.progress is None
    assert verdict.reason == (
        "ECS says ROLLBACK_SUCCESSFUL: Service deployment rolled back because of a lifecycle "
        "hook failure.; rollback: lifecycle hook failed at POST_TEST_TRAFFIC_SHIFT; at CLEAN_UP"
    )


def test_a_rollback_that_failed_is_failed_and_names_the_alarm():
    verdict = service_deployment_verdict({
        "status": "ROLLBACK_FAILED",
        "alarms": {"status": "TRIGGERED", "alarmNames": ["5xx"], "triggeredAlarmNames": ["5xx"]},
    })  # fmt: skip
    assert (verdict.status, verdict.reason) == (
        "FAILED", "ECS says ROLLBACK_FAILED: alarms in ALARM: 5xx"
    )


@pytest.mark.parametrize(
    ("status", "progress"),
    [("IN_PROGRESS", "IN_PROGRESS"), ("PENDING", "IN_PROGRESS"),
     ("ROLLBACK_IN_PROGRESS", "ROLLING_BACK"), ("ROLLBACK_REQUESTED", "ROLLING_BACK"),
     ("SOMETHING_NEW", "IN_PROGRESS")],
)  # fmt: skip
def test_nothing_is_concluded_while_ecs_is_at_it(status, progress):
    verdict = service_deployment_verdict({"status": status, "lifecycleStage": "BAKE_TIME"})
    assert verdict.status is None and verdict.progress == progress


def test_success_and_a_stop_by_a_newer_deployment():
    assert service_deployment_verdict({"status": "SUCCESSFUL"}).status == "COMPLETED"
    assert service_deployment_verdict({"status": "STOPPED"}).status == "SUPERSEDED"
