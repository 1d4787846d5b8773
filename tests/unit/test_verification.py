"""What Berth's verification hook answers ECS, from what the product answered through the test
listener: SUCCEEDED, FAILED with the reason, IN_PROGRESS while WSO2 is still starting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.decisions.verification import Answer, Check, checks_of, describe, verdict

HEALTH = Check("health", "GET", "/healthz", 200)
SMOKE = Check("smoke", "POST", "/orders", 201, "Authorization", "arn:secret")
T0 = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


def judge(health: Answer, smoke: Answer, minutes: float = 1, startup: int = 10):
    return verdict([(HEALTH, health), (SMOKE, smoke)], first_seen=T0,
                   now=T0 + timedelta(minutes=minutes), startup_minutes=startup)  # fmt: skip


def test_every_expected_status_succeeds_and_says_what_was_checked():
    found = judge(Answer(200, 12), Answer(201, 40, "{}"))
    assert (found.status, found.reason) == (
        "SUCCEEDED", "health GET /healthz: 200 in 12 ms; smoke POST /orders: 201 in 40 ms"
    )


def test_a_broken_api_behind_a_healthy_product_fails_at_once_with_status_body_and_latency():
    found = judge(Answer(200, 12), Answer(500, 35, '{"fault":\n  "boom"}'), minutes=0)
    assert (found.status, found.reason, found.call_back_delay) == (
        "FAILED", 'smoke POST /orders: 500 (expected 201) in 35 ms: {"fault": "boom"}', None
    )


@pytest.mark.parametrize(
    "health", [Answer(None, 3, error="URLError: [Errno 111] Connection refused"), Answer(503, 4)]
)
def test_a_product_still_starting_is_asked_again_after_ecs_default_delay(health):
    found = judge(health, Answer(None, 1, error="URLError: refused"))
    assert (found.status, found.call_back_delay) == ("IN_PROGRESS", 30)
    assert found.reason.startswith("still starting: health GET /healthz: ")


def test_a_product_not_ready_after_its_startup_time_fails():
    found = judge(Answer(503, 4, "not ready"), Answer(201, 5), minutes=10)
    assert (found.status, found.reason) == (
        "FAILED", "not ready after 10 min: health GET /healthz: 503 (expected 200) in 4 ms: "
        "not ready",
    )


def test_a_gateway_answering_502_for_the_smoke_call_waits_as_for_a_start():
    assert judge(Answer(200, 1), Answer(502, 2)).status == "IN_PROGRESS"


def test_the_body_excerpt_is_bounded():
    line = describe(SMOKE, Answer(500, 1, "x" * 1000))
    assert line.endswith(": " + "x" * 199 + "…")


def test_the_checks_come_from_the_hook_details_berth_rendered():
    details = {"health": "/api/am/gateway/v2/server-startup-healthcheck",
               "smoke": {"method": "GET", "path": "/menu", "status": 200,
                         "header": {"name": "Authorization", "secret": "arn:s"}}}  # fmt: skip
    assert checks_of(details) == [
        Check("health", "GET", "/api/am/gateway/v2/server-startup-healthcheck", 200),
        Check("smoke", "GET", "/menu", 200, "Authorization", "arn:s"),
    ]
    assert checks_of({"health": None}) == []
