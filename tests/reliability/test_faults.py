"""AWS faults in every operation the handlers use, one at a time, transient and persistent.

Transient faults (throttling, 5xx, timeouts that clear) must succeed through botocore's retries.
Persistent ones must end in a record and a notification naming the AWS error, or in a raised
invocation that Lambda retries (and the dead-letter queue keeps), never in a service left on a
task definition Berth did not record. After the fault clears, redelivery converges.
"""

from __future__ import annotations

import itertools
import time

import pytest
import yaml

from berth.sandbox.sandbox import Sandbox, example_spec
from chalicelib import handlers
from tests.faults import Fault
from tests.integration.helpers import deploy_example
from tests.reliability.conftest import FIGURES

# Every operation of an image update's life (the push and the ECS events it causes); checked
# against what a push really calls by test_push_operations_are_the_ones_a_push_calls.
PUSH_OPERATIONS = [
    ("dynamodb", "GetItem"),
    ("dynamodb", "Query"),
    ("dynamodb", "Scan"),
    ("dynamodb", "TransactWriteItems"),
    ("ecr", "DescribeImages"),
    ("ecs", "RegisterTaskDefinition"),
    ("ecs", "UpdateService"),
    ("sns", "Publish"),
]
SPEC_OPERATIONS = [
    ("s3", "GetObject"),
    ("ecs", "DescribeServices"),
    ("ecs", "DescribeTaskDefinition"),
    ("ecs", "CreateService"),
]
KINDS = {
    # kind: (error code for JSON protocols, for XML protocols, HTTP status)
    "throttling": ("ThrottlingException", "Throttling", 400),
    "5xx": ("ServiceUnavailable", "ServiceUnavailable", 503),
    "timeout": ("ReadTimeout", "ReadTimeout", 0),
    "access-denied": ("AccessDeniedException", "AccessDenied", 403),
}
TRANSIENT = ("throttling", "5xx", "timeout")
# AccessDenied is never transient: botocore does not retry it, so it is only tried persistent.
CASES = [(k, p) for k in KINDS for p in (False, True) if p or k in TRANSIENT]
CASE_IDS = [f"{k}-{'persistent' if p else 'transient'}" for k, p in CASES]
_tags = itertools.count(2)


def _fault(box: Sandbox, service: str, operation: str, kind: str, persistent: bool) -> Fault:
    # A fresh container per case: botocore's retry quota, drained by earlier cases, starts full.
    box.renew_clients()
    json_code, xml_code, status = KINDS[kind]
    code = xml_code if service in ("s3", "sns") else json_code
    client = getattr(handlers.berth().clients, service)
    return Fault(operation, code, status=status or 500, times=None if persistent else 2).attach(
        client
    )


def _recorded_task_definitions(service: str) -> set[str]:
    records = handlers.berth().store.history("dev", service, limit=200)
    return {
        arn
        for r in records
        for arn in (r.task_definition_arn, r.previous_task_definition_arn)
        if arn
    }


def _live_task_definition(box: Sandbox, service: str) -> str | None:
    found = box.client("ecs").describe_services(cluster="wso2-dev", services=[service])["services"]
    return found[0]["taskDefinition"] if found else None


def _redrive(box: Sandbox, since: int) -> None:
    """What Lambda's retries and a dead-letter redrive do once the fault has cleared."""
    failed = [d for d in box.deliveries[since:] if d.error]
    if failed:
        # Let the failed invocations' start leases and powertools' in-progress idempotency
        # records (spec uploads) expire with the invocations' deadlines (300 ms here).
        time.sleep(0.35)
    for delivery in failed:
        box.deliver(delivery.function, delivery.event)
    box.run_until_idle()


def _count(key: str) -> None:
    figures = FIGURES["AWS faults"]
    figures[key] = figures.get(key, 0) + 1


@pytest.fixture(scope="module")
def box(no_retry_sleep_module):
    with Sandbox(rollout_seconds=0.0, lambda_timeout_ms=300) as sandbox:
        deploy_example(sandbox)
        yield sandbox


@pytest.fixture(scope="module")
def no_retry_sleep_module():
    import types

    import botocore.endpoint

    saved = botocore.endpoint.time
    botocore.endpoint.time = types.SimpleNamespace(sleep=lambda _: None)
    yield
    botocore.endpoint.time = saved


def test_push_operations_are_the_ones_a_push_calls(box):
    mark = box.recorder.mark()
    box.push("wso2am", f"4.7.0-{next(_tags)}")
    box.run_until_idle()
    called = {(c.service, c.operation) for c in box.recorder.since(mark)}
    assert called == set(PUSH_OPERATIONS)


@pytest.mark.parametrize(("kind", "persistent"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    ("service", "operation"), PUSH_OPERATIONS, ids=[f"{s}.{o}" for s, o in PUSH_OPERATIONS]
)
def test_fault_during_an_image_push(box, service, operation, kind, persistent):
    tag = f"4.7.0-{next(_tags)}"
    since, seen = len(box.deliveries), len(box.notifications)
    fault = _fault(box, service, operation, kind, persistent)
    box.push("wso2am", tag)
    box.run_until_idle()
    fault.detach()
    _count("injected")
    raised = [d for d in box.deliveries[since:] if d.error]
    notes = box.notifications[seen:]
    head = handlers.berth().store.get_head("dev", "apim")
    assert _live_task_definition(box, "apim") in _recorded_task_definitions("apim")

    if not persistent:
        assert fault.injected >= 1 and raised == []
        assert head.image.tag == tag and notes[-1].subject == f"[dev] apim {tag} deployed", [
            (d.function, d.result) for d in box.deliveries[since:]
        ]
        _count("transient survived")
        return
    code = fault.code
    reported = [n for n in notes if any(code in e for e in n.document["errors"])]
    if reported:
        assert reported[-1].document["status"] == "FAILED"
        assert reported[-1].subject == f"[dev] apim {tag} FAILED"
        assert head.image.tag != tag  # Berth knows the service did not move
        _count("persistent reported")
    elif service == "sns":
        assert head.image.tag == tag and notes == []  # deployed; the lost message is logged
        _count("persistent reported")
    else:
        assert raised, "a persistent fault must be reported or raised for Lambda to retry"
        _count("persistent raised for retry")
        _redrive(box, since)
        assert handlers.berth().store.get_head("dev", "apim").image.tag == tag
    assert _live_task_definition(box, "apim") in _recorded_task_definitions("apim")
    _count("persistent survived")


@pytest.mark.parametrize(("kind", "persistent"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize(
    ("service", "operation"), SPEC_OPERATIONS, ids=[f"{s}.{o}" for s, o in SPEC_OPERATIONS]
)
def test_fault_during_a_spec_upload(box, service, operation, kind, persistent):
    marker = next(_tags)
    document = yaml.safe_load(box.adapt_spec(example_spec()))
    document["services"]["mi"]["environment"]["EDITED_ON"] = f"run-{marker}"  # MI changes
    spec = yaml.safe_dump(document, sort_keys=False)
    if operation in ("CreateService", "DescribeImages"):  # only a new service calls these
        admin = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/admin-password"
        extra = (
            f"  extra{marker}:\n    product: wso2mi\n    image: wso2mi\n"
            "    environment: {MI_HOSTNAME: extra.internal, APIM_HOST: apim.internal}\n"
            f"    secrets: {{APIM_ADMIN_PASSWORD: '{admin}'}}\n"
        )
        spec = spec.replace("  mi:\n", extra + "  mi:\n", 1)
    since, seen = len(box.deliveries), len(box.notifications)
    fault = _fault(box, service, operation, kind, persistent)
    box.upload_spec(spec)
    box.run_until_idle()
    fault.detach()
    _count("injected")
    notes = box.notifications[seen:]
    assert [d.error for d in box.deliveries[since:] if d.error] == []
    for name in ("mi", "apim"):
        assert _live_task_definition(box, name) in _recorded_task_definitions(name)
    if not persistent:
        assert any(
            n.subject.startswith("[dev] mi") and n.document["status"] == "COMPLETED" for n in notes
        )
        _count("transient survived")
        return
    [failure] = [n for n in notes if n.document["status"] in ("REJECTED", "FAILED")]
    assert any(fault.code in e for e in failure.document["errors"]), failure.document
    _count("persistent reported")
    _count("persistent survived")
