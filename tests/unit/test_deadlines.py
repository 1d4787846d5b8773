"""A deployment's deadline follows its strategy (issue 30): no blue/green, canary or linear
deployment is called stuck while ECS is still within its documented schedule."""

from __future__ import annotations

import pytest

from chalicelib.decisions.deadlines import deadline_minutes, linear_waits, schedule
from chalicelib.spec.deployment import Deployment


def deployment(**fields) -> Deployment:
    return Deployment.model_validate(fields)


def test_a_rolling_deployment_waits_the_stage_timeout_only():
    assert deadline_minutes(deployment(), 30) == 30


@pytest.mark.parametrize(
    ("step", "waits"),
    [(10.0, 9), (25.0, 3), (33.3, 3), (12.5, 7), (3.0, 33), (100.0, 0), (50.1, 1)],
)
def test_linear_waits_between_shifts_as_cloudformation_counts_them(step, waits):
    """(100 / step) - 1 when the step divides 100, else floor(100 / step)."""
    assert linear_waits(step) == waits


def test_linear_with_ecs_defaults_adds_nine_six_minute_bakes_and_the_bake_time():
    """The issue's case: 10 % steps at 6 min each add 54 min of step bakes; a 30 min stage
    timeout would have called it TIMED_OUT while ECS was still shifting."""
    linear = deployment(strategy="linear", linear={}, bakeTime=15)
    assert schedule(linear).traffic == 54
    assert deadline_minutes(linear, 30) == 30 + 54 + 15


def test_canary_waits_its_canary_bake_then_the_deployment_bake():
    canary = deployment(strategy="canary", canary={"percent": 10.0, "bake": 20}, bakeTime=5)
    assert deadline_minutes(canary, 45) == 45 + 20 + 5


def test_blue_green_waits_its_bake_time_and_the_hooks():
    blue_green = deployment(
        strategy="blue-green", bakeTime=60,
        verify={"testUrl": "https://test.internal:8443", "startup": 15},
        approval={"timeout": 120},
    )  # fmt: skip
    assert schedule(blue_green).hooks == 15 + 120
    assert deadline_minutes(blue_green, 30) == 30 + 135 + 60


def test_a_canary_without_bake_time_counts_the_longest_bake_ecs_allows():
    """AWS documents no default bake time for canary and linear: never give up before ECS."""
    assert schedule(deployment(strategy="canary")).bake == 1440


# ---- combinations no deadline could hold: refused by the spec's bounds (issue 30) ---------------

# ECS waits for a lifecycle hook "Default: 1440 (24 hours)" before its timeout action, "Default:
# ROLLBACK" (ECS API reference, DeploymentLifecycleHookTimeoutConfiguration); ECS shows "the most
# recent 90-day history" of service deployments (ECS developer guide, "Viewing Amazon ECS service
# deployments"), which is what the sweep judges a blue/green, canary or linear deployment from.
ECS_HOOK_TIMEOUT_MINUTES = 1440
SERVICE_DEPLOYMENT_HISTORY_MINUTES = 90 * 24 * 60


def test_the_longest_hook_schedule_a_spec_can_declare_ends_before_ecs_gives_up_on_the_hook():
    longest = deployment(
        strategy="blue-green", bakeTime=0,
        verify={"testUrl": "https://test.internal:8443", "startup": 60},
        approval={"timeout": 1320},
    )  # fmt: skip
    assert schedule(longest).hooks < ECS_HOOK_TIMEOUT_MINUTES
    # and one minute more of either is refused where it is written
    from pydantic import ValidationError

    for fields in ({"verify": {"testUrl": "https://t.internal", "startup": 61}},
                   {"approval": {"timeout": 1321}}):  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            deployment(strategy="blue-green", bakeTime=0, **fields)
        [error] = refused.value.errors()
        assert error["loc"][0] in ("verify", "approval")


def test_the_longest_schedule_a_spec_can_declare_is_judged_while_ecs_still_reports_it():
    longest = deployment(
        strategy="linear", linear={"stepPercent": 3.0, "bake": 1440}, bakeTime=1440,
        verify={"testUrl": "https://test.internal:8443", "startup": 60},
        approval={"timeout": 1320},
    )  # fmt: skip
    assert schedule(longest).traffic == 33 * 1440
    assert deadline_minutes(longest, 45) < SERVICE_DEPLOYMENT_HISTORY_MINUTES
