"""What blue/green, canary and linear deployment events mean for the record: the failed stage and
its cause as the reason (Berth's verification, a deployment alarm), one lifecycle line per event."""

from __future__ import annotations

from chalicelib.decisions.stages import explained, failure_reason, stage_line, with_line
from chalicelib.decisions.transitions import Conclude, RollBack, transition_for
from tests.unit.test_decisions import event, record

VERIFIED = "smoke GET /menu: 500 (expected 200) in 9 ms: boom"
HOOK_REASON = "ECS deployment lifecycle hook arn:x returned FAILED at POST_TEST_TRAFFIC_SHIFT."


def test_a_failed_verification_is_the_reason_naming_its_stage():
    failed = record(stages=[f"POST_TEST_TRAFFIC_SHIFT: verification failed: {VERIFIED}"],
                    verification=VERIFIED, previous_task_definition_arn="arn:td:1")  # fmt: skip
    ecs_event = event("SERVICE_DEPLOYMENT_FAILED", "ecs-svc/1", HOOK_REASON)
    step = explained(transition_for(failed, ecs_event), failed, ecs_event)
    assert isinstance(step, RollBack)
    assert step.reason == (
        "Berth's verification failed at POST_TEST_TRAFFIC_SHIFT, before production traffic "
        f"moved: {VERIFIED}"
    )
    assert stage_line(ecs_event, failed, step.reason) == f"failed: {step.reason}"
    assert not step.read_causes  # the tasks were healthy: no stopped-task causes


def test_an_alarm_is_named_with_the_stage():
    ecs_event = event("SERVICE_DEPLOYMENT_FAILED", "ecs-svc/1",
                      "ECS deployment alarm api-5xx is in ALARM state during BAKE_TIME.")  # fmt: skip
    assert failure_reason(record(), ecs_event.detail.reason) == (
        "deployment alarm api-5xx went into ALARM during BAKE_TIME"
    )


def test_a_circuit_breaker_failure_keeps_its_own_reason():
    ecs_event = event("SERVICE_DEPLOYMENT_FAILED", "ecs-svc/1",
                      "ECS deployment circuit breaker: task failed to start.")  # fmt: skip
    step = Conclude(frozenset({"IN_PROGRESS"}), "FAILED", "ECS said so")
    assert explained(step, record(), ecs_event) is step
    passed = record(stages=["POST_TEST_TRAFFIC_SHIFT: verification passed: ok"])
    assert failure_reason(passed, ecs_event.detail.reason) is None


def test_each_event_adds_one_line():
    own = record()
    completed = event("SERVICE_DEPLOYMENT_COMPLETED", own.ecs_deployment_id or "")
    assert stage_line(completed, own, "") == "completed"
    other = event("SERVICE_DEPLOYMENT_COMPLETED", "ecs-svc/9")
    assert stage_line(other, own, "") == "rolled back (ecs-svc/9 completed)"
    back = event("SERVICE_DEPLOYMENT_IN_PROGRESS", "ecs-svc/1",
                 "ECS deployment alarms: rolling back to deploymentId ecs-svc/0.")  # fmt: skip
    assert stage_line(back, own, "") == "rolling back to ecs-svc/0"
    assert with_line(record(stages=["completed"]), "completed") == ["completed"]
