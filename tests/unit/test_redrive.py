"""decisions.redrive: a redriven start tells an earlier delivery's deployment from a
settings-only change (issue 34)."""

from __future__ import annotations

from chalicelib.decisions.redrive import FoundAgain, found_again
from chalicelib.values.live import LiveService

OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/dev-apim:1"
NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/dev-apim:2"


def _live(task_definition: str, state: str | None) -> LiveService:
    return LiveService(
        arn="arn:aws:ecs:us-east-1:123456789012:service/wso2-dev/apim",
        task_definition_arn=task_definition, primary_deployment_id="ecs-svc/1",
        primary_rollout_state=state, launch_type="FARGATE", description={},
    )  # fmt: skip


def test_the_service_already_running_the_new_build_is_an_earlier_deliverys_deployment():
    assert found_again(_live(NEW, "COMPLETED"), NEW, OLD) == FoundAgain("ecs-svc/1", "COMPLETED")
    assert found_again(_live(NEW, "FAILED"), NEW, OLD) == FoundAgain("ecs-svc/1", "FAILED")
    assert found_again(_live(NEW, "IN_PROGRESS"), NEW, OLD) == FoundAgain("ecs-svc/1", None)


def test_a_settings_only_change_or_a_service_on_another_build_is_not():
    assert found_again(_live(NEW, "COMPLETED"), NEW, NEW) is None  # claimed on what it keeps
    assert found_again(_live(OLD, "COMPLETED"), NEW, OLD) is None  # not deployed yet
    assert found_again(_live(NEW, "COMPLETED"), NEW, None) is None  # a first deployment
    assert found_again(None, NEW, OLD) is None


def test_the_reason_says_what_happened():
    assert FoundAgain("ecs-svc/1", "COMPLETED").reason(NEW) == (
        "found again: an earlier delivery of this event deployed dev-apim:2 and stopped before "
        "recording it; ECS's deployment ecs-svc/1 completed"
    )
