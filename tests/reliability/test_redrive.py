"""A redrive after a crash between UpdateService and the write that records it (issue 34).

ECS then runs what Berth would register, with a deployment no record names. The redriven event
must find that deployment again and record it, and ECS's own outcome event, arriving for a
record already settled, must be absorbed, never dead-lettered."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from berth.sandbox.lambdas import LAMBDA_ATTEMPTS
from berth.sandbox.sandbox import Sandbox
from chalicelib import handlers
from tests.faults import Fault
from tests.integration.helpers import deploy_example, history, live_image


@pytest.fixture
def box(no_retry_sleep: None) -> Iterator[Sandbox]:
    # Invocations of 300 ms: a dead invocation's start lease expires with it, as on Lambda.
    with Sandbox(rollout_seconds=0.0, lambda_timeout_ms=300) as sandbox:
        deploy_example(sandbox)
        yield sandbox


def _fail_the_write_after_update_service(box: Sandbox) -> list[Fault]:
    """Make the first DynamoDB transaction after UpdateService fail (AccessDenied: botocore does
    not retry it), as a Lambda that dies right after UpdateService never writes it."""
    berth = handlers.berth()
    armed: list[Fault] = []

    def arm(**_: Any) -> None:
        if not armed:
            fault = Fault(
                "TransactWriteItems", "AccessDeniedException", status=400, times=LAMBDA_ATTEMPTS
            )
            armed.append(fault.attach(berth.clients.dynamodb))

    berth.clients.ecs.meta.events.register("after-call.ecs.UpdateService", arm)
    return armed


def test_a_redriven_push_records_the_deployment_ecs_reports(box):
    armed = _fail_the_write_after_update_service(box)
    since, seen = len(box.deliveries), len(box.notifications)
    digest = box.push("wso2am", "4.7.0-2")
    box.run_until_idle()
    assert [f.injected for f in armed] == [LAMBDA_ATTEMPTS]
    # The push never recorded its start, so ECS's outcome came before its record: both wait in
    # the dead-letter queue, and are redriven, the push first, once the leases have expired.
    dead = [d for d in box.deliveries[since:] if d.error]
    assert [d.function for d in dead] == ["on_image_pushed", "on_deployment_state_change"]
    time.sleep(0.35)
    redriven = len(box.deliveries)
    for delivery in dead:
        box.deliver(delivery.function, delivery.event)
    box.run_until_idle()

    assert [d.error for d in box.deliveries[redriven:] if d.error] == []
    assert live_image(box, "apim").endswith(digest)
    latest = history("apim")[0]
    deployment = latest.ecs_deployment_id
    assert (latest.status, latest.reason) == (
        "COMPLETED",
        "found again: an earlier delivery of this event deployed dev-apim:2 and stopped before "
        f"recording it; ECS's deployment {deployment} completed",
    )
    # ECS's own COMPLETED event found the record settled: absorbed, told once.
    told = [n.document["status"] for n in box.notifications[seen:]]
    assert told == ["COMPLETED"]
    head = handlers.berth().store.get_head("dev", "apim")
    assert (head.task_definition_arn, head.active_record_id) == (latest.task_definition_arn, None)
