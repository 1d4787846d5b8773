"""Berth's verification hook (issue 18) against the sandbox: ECS invokes app.py's verify_rollout
at POST_TEST_TRAFFIC_SHIFT; it calls APIM through the test listener (a local server on
127.0.0.1), with the smoke call's header read from Secrets Manager under the stage's policy, and
answers ECS, which completes the deployment or rolls it back before production traffic."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from berth.sandbox.listener import Route, TestListener
from berth.sandbox.sandbox import example_spec
from tests.integration.helpers import deploy_example, history, live_image

HEALTH = "/api/am/gateway/v2/server-startup-healthcheck"
SMOKE = "/pizzashack/1.0.0/menu"


@pytest.fixture
def listener():
    with TestListener({HEALTH: Route(200, "{}"), SMOKE: Route(200, "[]")}) as running:
        yield running


def blue_green_spec(sandbox: Any, url: str, startup: int = 10) -> str:
    document = yaml.safe_load(sandbox.adapt_spec(example_spec("wso2-dev-bluegreen.yaml")))
    verify = document["services"]["apim"]["deployment"]["verify"]
    verify["testUrl"] = url
    verify["startup"] = startup
    return yaml.safe_dump(document, sort_keys=False)


def _blue_green(sandbox: Any, listener: TestListener, startup: int = 10) -> None:
    deploy_example(sandbox)
    sandbox.ecs_sim.time_scale = 0.0001
    sandbox.upload_spec(blue_green_spec(sandbox, listener.url, startup))
    sandbox.run_until_idle()


def _ms(text: str) -> str:
    return re.sub(r"in \d+ ms", "in N ms", text)


def test_a_verified_revision_completes_and_the_record_says_what_was_checked(sandbox, listener):
    # Given APIM on blue/green, its test listener answering the health check and the smoke API
    _blue_green(sandbox, listener)

    # When a new image is pushed
    listener.received.clear()
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    # Then the hook called both through the test listener, the smoke call with the secret header
    assert [(m, p) for m, p, _ in listener.received] == [("GET", HEALTH), ("GET", SMOKE)]
    assert listener.received[1][2]["Authorization"] == "sandbox"  # wso2/dev/smoke-token's value
    # and ECS moved production traffic and completed; the record keeps the verification
    record = history("apim")[0]
    assert record.status == "COMPLETED"
    assert [_ms(s) for s in record.stages] == [
        f"POST_TEST_TRAFFIC_SHIFT: verification passed: health GET {HEALTH}: 200 in N ms; "
        f"smoke GET {SMOKE}: 200 in N ms",
        "completed",
    ]
    [answer] = [i["answer"] for i in sandbox.ecs_sim.hook_invocations[-1:]]
    assert answer == {"hookStatus": "SUCCEEDED"}
    assert live_image(sandbox, "apim").endswith(sandbox_digest(sandbox, "4.7.0-2"))


def sandbox_digest(sandbox: Any, tag: str) -> str:
    images = sandbox.client("ecr").describe_images(
        repositoryName="wso2am", imageIds=[{"imageTag": tag}]
    )["imageDetails"]
    return str(images[0]["imageDigest"])


def test_a_failing_smoke_api_rolls_back_before_production_traffic(sandbox, listener):
    _blue_green(sandbox, listener)
    before = live_image(sandbox, "apim")
    sandbox.collect_notifications()
    sandbox.notifications.clear()

    # When the new revision's gateway is up but the smoke API answers 500
    listener.routes[SMOKE] = Route(500, '{"fault": {"code": 900900, "message": "Unclassified"}}')
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    # Then the hook answered FAILED at once and ECS rolled back; green had no production traffic
    assert sandbox.ecs_sim.hook_invocations[-1]["answer"] == {"hookStatus": "FAILED"}
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert record.ecs_deployment_id not in sandbox.ecs_sim.traffic
    assert live_image(sandbox, "apim") == before
    verification = (
        f'smoke GET {SMOKE}: 500 (expected 200) in N ms: {{"fault": {{"code": 900900, '
        '"message": "Unclassified"}}'
    )
    assert _ms(record.verification) == verification
    # and its one outcome notification says which stage failed and why
    sandbox.collect_notifications()
    notes = [n for n in sandbox.notifications if n.document["service"] == "apim"]
    [outcome] = [n for n in notes if n.document["status"] != "STARTED"]
    assert outcome.document["status"] == "ROLLED_BACK"
    assert _ms(outcome.document["reason"]) == (
        "Berth's verification failed at POST_TEST_TRAFFIC_SHIFT, before production traffic moved: "
        + verification
    )
    assert _ms(record.stages[0]) == f"POST_TEST_TRAFFIC_SHIFT: verification failed: {verification}"
    assert record.stages[1].startswith("failed: Berth's verification failed at ")
    assert record.stages[-1].startswith("rolled back (ecs-svc/")


def test_a_gateway_still_starting_is_waited_for_with_a_call_back_delay(sandbox, listener):
    _blue_green(sandbox, listener)
    calls = len(sandbox.ecs_sim.hook_invocations)

    # When the new gateway answers 503 twice before its startup health check passes
    listener.routes[HEALTH] = Route(503, "starting", then=[(503, "starting"), (200, "{}")])
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    # Then ECS was told to call back twice (ECS's default 30 s), with the time first seen
    answers = [i["answer"] for i in sandbox.ecs_sim.hook_invocations[calls:]]
    assert [a["hookStatus"] for a in answers] == ["IN_PROGRESS", "IN_PROGRESS", "SUCCEEDED"]
    assert answers[0]["callBackDelay"] == 30
    assert "firstSeenAt" in answers[0]["hookDetails"]["berth"]
    record = history("apim")[0]
    assert record.status == "COMPLETED"
    assert [s.split(":")[:2] for s in record.stages] == [
        ["POST_TEST_TRAFFIC_SHIFT", " verification passed"], ["completed"]
    ]


def test_a_gateway_that_never_starts_fails_after_its_startup_time(sandbox, listener):
    _blue_green(sandbox, listener, startup=0)
    listener.routes[HEALTH] = Route(503, "starting")
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert _ms(record.verification).startswith(
        f"not ready after 0 min: health GET {HEALTH}: 503 (expected 200) in N ms: starting"
    )


def test_the_hook_reaches_nothing_but_loopback(sandbox, listener):
    # The example's real test listener address is refused in the sandbox, never called.
    deploy_example(sandbox)
    sandbox.ecs_sim.time_scale = 0.0001
    text = blue_green_spec(sandbox, "https://apim-dev-test.internal.example.com:8443", startup=0)
    sandbox.upload_spec(text)
    sandbox.run_until_idle()
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert "refused: apim-dev-test.internal.example.com is not a host this process may call" in (
        record.verification
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"lifecycleStage": "POST_TEST_TRAFFIC_SHIFT"},  # no executionDetails: not ECS's shape
        {"executionDetails": {"serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/c/s"},
         "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "hookDetails": {"other": 1}},
    ],
)  # fmt: skip
def test_an_invocation_berth_did_not_configure_fails_and_calls_nothing(sandbox, payload):
    mark = sandbox.recorder.mark()
    delivery = sandbox.deliver("verify_rollout", payload)
    assert (delivery.error, delivery.result) == (None, {"hookStatus": "FAILED"})
    assert sandbox.recorder.since(mark) == []


# ---- issue 28: the hook acts only for what Berth owns and is waiting for ------------------------


def _secret_reads(sandbox: Any, mark: int) -> list[str]:
    return [c.operation for c in sandbox.recorder.since(mark) if c.service == "secretsmanager"]


def test_a_replayed_invocation_after_the_deployment_reads_no_secret_and_calls_nothing(
    sandbox, listener
):
    # Given a verified blue/green deployment that completed
    _blue_green(sandbox, listener)
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    payload = sandbox.ecs_sim.hook_invocations[-1]["payload"]
    listener.received.clear()
    mark = sandbox.recorder.mark()

    # When someone allowed to invoke the hook replays ECS's invocation
    delivery = sandbox.deliver("verify_rollout", payload)

    # Then it fails without reading the smoke header's secret or calling the listener
    assert delivery.result == {"hookStatus": "FAILED"}
    assert listener.received == []
    assert _secret_reads(sandbox, mark) == []


def test_forged_invocations_during_a_real_deployment_do_nothing(sandbox, listener):
    # Given a blue/green deployment ECS is verifying, and a hostile listener in the sandbox
    _blue_green(sandbox, listener)
    forged: list[Any] = []
    real = sandbox.ecs_sim.invoke_hook
    with TestListener({"/": Route(200, "ok")}, name="attacker.sandbox.test") as attacker:

        def invoke(function: str, payload: dict[str, Any]) -> Any:
            if not forged:  # while Berth's record is in progress, before ECS's own invocation
                details = payload["hookDetails"]["berth"]
                other = "arn:aws:ecs:us-east-1:123456789012:service/wso2-dev/not-berths"
                elsewhere = {**details, "testUrl": attacker.url}
                for hostile in (
                    {**payload, "executionDetails": {**payload["executionDetails"],
                                                     "serviceArn": other}},
                    {**payload, "hookDetails": {"berth": elsewhere}},
                    {**payload, "lifecycleStage": "PRE_SCALE_UP"},
                ):  # fmt: skip
                    mark = sandbox.recorder.mark()
                    forged.append(
                        (sandbox.deliver("verify_rollout", hostile).result,
                         _secret_reads(sandbox, mark))
                    )  # fmt: skip
            return real(function, payload)

        sandbox.ecs_sim.invoke_hook = invoke
        listener.received.clear()
        sandbox.push("wso2am", "4.7.0-2")
        sandbox.run_until_idle()

        # Then each forgery got FAILED, read no secret and reached no listener
        assert forged == [({"hookStatus": "FAILED"}, [])] * 3
        assert attacker.received == []
    # and ECS's own invocation still verified the real deployment
    assert [(m, p) for m, p, _ in listener.received] == [("GET", HEALTH), ("GET", SMOKE)]
    assert history("apim")[0].status == "COMPLETED"


def test_a_redirect_is_not_followed_and_the_secret_goes_nowhere_else(sandbox, listener):
    _blue_green(sandbox, listener)
    with TestListener({"/steal": Route(200, "{}")}, name="attacker.sandbox.test") as attacker:
        # When the smoke API redirects to another host
        listener.routes[SMOKE] = Route(302, "", headers={"Location": f"{attacker.url}/steal"})
        sandbox.push("wso2am", "4.7.0-2")
        sandbox.run_until_idle()
        # Then the other host heard nothing; the 302 was the answer, and not the expected one
        assert attacker.received == []
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert _ms(record.verification) == f"smoke GET {SMOKE}: 302 (expected 200) in N ms"


def test_a_body_echoing_the_secret_is_kept_redacted(sandbox, listener):
    _blue_green(sandbox, listener)
    sandbox.collect_notifications()
    sandbox.notifications.clear()
    # When the smoke API answers 500 with the header it received (wso2/dev/smoke-token: sandbox)
    listener.routes[SMOKE] = Route(500, '{"received": "Authorization: sandbox"}')
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    record = history("apim")[0]
    expected = (
        f'smoke GET {SMOKE}: 500 (expected 200) in N ms: {{"received": "Authorization: '
        '[secret redacted]"}'
    )
    assert _ms(record.verification) == expected
    sandbox.collect_notifications()
    told = [n.document["reason"] for n in sandbox.notifications
            if n.document["service"] == "apim" and n.document["status"] == "ROLLED_BACK"]  # fmt: skip
    assert told and all("Authorization: sandbox" not in reason for reason in told)


def test_a_slow_listener_is_bounded_by_verify_timeout(sandbox, listener):
    _blue_green(sandbox, listener, startup=0)
    listener.routes[HEALTH] = Route(200, "{}", delay=3)
    document = yaml.safe_load(blue_green_spec(sandbox, listener.url, startup=0))
    document["services"]["apim"]["deployment"]["verify"]["timeout"] = 1
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert "TimeoutError" in record.verification
