"""The sweep's wait and verdict for blue/green, canary and linear records (issue 30): the
strategy's schedule on top of the stage's timeout, then ECS's service deployment decides."""

from __future__ import annotations

import pytest

from chalicelib.decisions.sweep import (
    SweepVerdict,
    Wait,
    follows_service_deployment,
    service_deployment_sweep_verdict,
    wait_minutes,
)
from chalicelib.spec.deployment import Deployment
from tests.unit.test_decisions import record

CANARY = Deployment.model_validate(
    {"strategy": "canary", "canary": {"percent": 10, "bake": 60}, "bakeTime": 5}
)
ROLLING = Deployment.model_validate({})


def test_a_started_canary_waits_its_bakes_on_top_of_the_timeout_a_pending_one_does_not():
    assert wait_minutes(record(), CANARY, 30) == 30 + 60 + 5
    assert wait_minutes(record(status="PENDING"), CANARY, 30) == 30
    assert wait_minutes(record(), ROLLING, 30) == 30
    assert wait_minutes(record(), None, 30) == 30


def test_only_started_non_rolling_records_follow_their_service_deployment():
    assert follows_service_deployment(record(), CANARY)
    assert follows_service_deployment(record(status="ROLLING_BACK"), CANARY)
    assert not follows_service_deployment(record(), ROLLING)
    assert not follows_service_deployment(record(status="PENDING"), CANARY)
    assert not follows_service_deployment(record(ecs_deployment_id=None), CANARY)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        ("ROLLBACK_SUCCESSFUL", "ROLLED_BACK"),
        ("ROLLBACK_FAILED", "FAILED"),
        ("SUCCESSFUL", "COMPLETED"),
        ("IN_PROGRESS", "TIMED_OUT"),
    ],
)
def test_the_service_deployment_gives_the_verdict(status, verdict):
    found = service_deployment_sweep_verdict(record(), {"status": status}, waited_minutes=95)
    assert isinstance(found, SweepVerdict) and found.status == verdict
    assert found.ecs_still_rolling == (status == "IN_PROGRESS")


@pytest.mark.parametrize("status", ["ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"])
def test_a_rollback_ecs_is_still_carrying_out_is_left_to_ecs(status):
    rolling_back = record(status="ROLLING_BACK", reason="Berth's verification failed")
    assert isinstance(service_deployment_sweep_verdict(rolling_back, {"status": status}, 95), Wait)


def test_a_rolled_back_record_keeps_the_reason_it_was_rolled_back_for():
    rolling_back = record(status="ROLLING_BACK", reason="Berth's verification failed")
    found = service_deployment_sweep_verdict(
        rolling_back, {"status": "ROLLBACK_SUCCESSFUL"}, waited_minutes=95
    )
    assert isinstance(found, SweepVerdict)
    assert (found.status, found.reason, found.read_causes) == (
        "ROLLED_BACK", "Berth's verification failed", False,
    )  # fmt: skip
