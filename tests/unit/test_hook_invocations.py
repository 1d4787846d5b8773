"""Issue 28: the verification hook proves each invocation against Berth's own record and the
stage's fence before it reads a secret or calls anything, and budgets its calls from the
invocation's remaining time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.context import invocation_started
from chalicelib.decisions.hook_invocations import invocation_refusal
from chalicelib.decisions.verification import Answer, Verdict
from chalicelib.flows import verify
from chalicelib.spec.fence import FenceVariables
from chalicelib.values.records import DeploymentRecord, Trigger
from tests.fakes import in_memory_berth

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SERVICE = "arn:aws:ecs:us-east-1:123456789012:service/wso2-dev/apim"
REVISION = "arn:aws:ecs:us-east-1:123456789012:service-revision/wso2-dev/apim/4980306466"
LISTENER = "https://apim-dev-test.internal.example.com:8443"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/smoke-token"
FENCE = FenceVariables(
    clusters="dev=wso2-dev", account="123456789012", region="us-east-1",
    test_listeners=f"dev={LISTENER}",
).fence()  # fmt: skip
DETAILS: dict[str, Any] = {
    "environment": "dev", "service": "apim", "testUrl": LISTENER, "health": "/h",
    "smoke": {"path": "/s", "header": {"name": "Authorization", "secret": SECRET}},
}  # fmt: skip


def record(status: str = "IN_PROGRESS", arn: str | None = SERVICE) -> DeploymentRecord:
    return DeploymentRecord(
        environment="dev", service="apim", record_id="D#1", run_id="r", status=status,  # type: ignore[arg-type]
        trigger=Trigger(kind="image", event_id="e"), ecs_service_arn=arn,
        created_at=T0, updated_at=T0,
    )  # fmt: skip


def refusal(**changes: Any) -> str | None:
    given: dict[str, Any] = {
        "stage": "POST_TEST_TRAFFIC_SHIFT", "expected_stage": "POST_TEST_TRAFFIC_SHIFT",
        "service_arn": SERVICE, "revision_arn": REVISION, "details": DETAILS,
        "record": record(), "fence": FENCE, **changes,
    }  # fmt: skip
    return invocation_refusal(**given)


def test_berths_own_awaited_invocation_goes_on():
    assert refusal() is None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"stage": "PRE_SCALE_UP"},
         "invoked at PRE_SCALE_UP: Berth registers its hook for POST_TEST_TRAFFIC_SHIFT only"),
        ({"record": None}, "no deployment of dev/apim by Berth is in progress"),
        ({"record": record("COMPLETED")}, "no deployment of dev/apim by Berth is in progress"),
        ({"service_arn": SERVICE.replace("apim", "payments")},
         f"the invocation names {SERVICE.replace('apim', 'payments')}; Berth's deployment of "
         f"dev/apim in progress is of {SERVICE}"),
        ({"record": record(arn=None)},
         f"the invocation names {SERVICE}; Berth's deployment of dev/apim in progress is of a "
         "service not started yet"),
        ({"revision_arn": REVISION.replace("/apim/", "/payments/")},
         f"target revision {REVISION.replace('/apim/', '/payments/')} is not a revision of "
         f"{SERVICE}"),
        ({"details": {**DETAILS, "testUrl": "https://attacker.example.com"}},
         "testUrl https://attacker.example.com is not a declared test listener of environment "
         "dev"),
        ({"details": {**DETAILS, "testUrl": "http://169.254.170.2"}},
         "testUrl: 169.254.170.2 is a link-local address: the hook would call inside its own "
         "network (the Lambda runtime API, instance or task metadata); name the test listener by "
         "its load balancer's DNS name"),
        ({"details": {**DETAILS, "smoke": {"path": "/s", "header": {
            "name": "Authorization", "secret": SECRET.replace("wso2/dev/", "wso2/prod/")}}}},
         "smoke header secret: secret wso2/prod/smoke-token is outside environment dev's "
         "secrets: name one under wso2/dev/ (environments.dev.secretsPrefix in chalicelib/environments/<stage>.yaml)"),
    ],
)  # fmt: skip
def test_an_invocation_berth_cannot_prove_is_refused(changes, reason):
    assert refusal(**changes) == reason


class Listener:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []

    def request(self, method: str, url: str, headers: dict[str, str], timeout: float) -> Answer:
        self.calls.append((url, timeout))
        return Answer(200, 5, body=f"echo {headers.get('Authorization', '')}")


class Secrets:
    def value(self, arn: str) -> str:
        return "s3cr3t"


def hook_berth(seconds_left: float) -> tuple[Any, Listener]:
    berth = in_memory_berth()
    listener = Listener()
    berth.http = listener  # type: ignore[assignment]
    berth.secrets = Secrets()  # type: ignore[assignment]
    invocation_started(berth.clock() + timedelta(seconds=seconds_left))
    return berth, listener


def test_each_call_is_bounded_by_the_invocations_remaining_time():
    berth, listener = hook_berth(seconds_left=verify.ANSWER_MARGIN_SECONDS + 3)
    try:
        results = verify._verify(berth, {**DETAILS, "timeout": 30})
    finally:
        invocation_started(None)
    assert [round(t) for _, t in listener.calls] == [3, 3]
    assert isinstance(results, list)
    assert [a.body for _, a in results] == ["echo ", "echo [secret redacted]"]


def test_too_little_time_left_answers_in_progress_without_calling():
    berth, listener = hook_berth(seconds_left=verify.ANSWER_MARGIN_SECONDS + 0.5)
    try:
        found = verify._verify(berth, DETAILS)
    finally:
        invocation_started(None)
    assert listener.calls == []
    assert found == Verdict(
        "IN_PROGRESS", "health: this invocation's time ran short; ECS calls the hook back", 30
    )
