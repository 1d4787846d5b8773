"""The approval gate (issue 18) against the sandbox: a blue/green deployment of APIM whose spec
asks for an approval waits at POST_TEST_TRAFFIC_SHIFT after its verification passed (Berth's hook
answers IN_PROGRESS, one notification says how to approve), until `berth approve` records who
approved on the deployment record, or until its deadline passes and ECS rolls it back before
production traffic moves."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from berth.cli import main
from berth.sandbox.listener import Route, TestListener
from chalicelib import handlers
from tests.integration.helpers import assert_truth, deploy_example, history, live_image, shift_clock
from tests.integration.test_verify_hook import HEALTH, SMOKE, blue_green_spec, sandbox_digest

CALLER = "arn:aws:sts::123456789012:user/moto"  # moto's GetCallerIdentity


@pytest.fixture
def listener():
    with TestListener({HEALTH: Route(200, "{}"), SMOKE: Route(200, "[]")}) as running:
        yield running


def _gated(sandbox: Any, listener: TestListener, timeout: int) -> None:
    """APIM moved onto blue/green with its verification and an approval gate (the move is a
    deployment of its own, held at the gate too: approved)."""
    deploy_example(sandbox)
    sandbox.ecs_sim.time_scale = 0.0001
    document = yaml.safe_load(blue_green_spec(sandbox, listener.url))
    document["services"]["apim"]["deployment"]["approval"] = {"timeout": timeout}
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    _run_until_waiting(sandbox, 0)
    assert approve("--note", "onto blue/green").exit_code == 0
    sandbox.run_until_idle()
    assert history("apim")[0].status == "COMPLETED"


def _answers(sandbox: Any, since: int) -> list[str]:
    return [str((i["answer"] or {}).get("hookStatus")) for i in sandbox.ecs_sim.hook_invocations[since:]]


def _run_until_waiting(sandbox: Any, since: int, calls: int = 1) -> None:
    """Turn the sandbox until the hook answered IN_PROGRESS `calls` times since `since`."""
    for _ in range(2000):
        if _answers(sandbox, since).count("IN_PROGRESS") >= calls:
            return
        if not sandbox.step():
            time.sleep(0.001)
    raise AssertionError(f"the hook never waited: {_answers(sandbox, since)}")


def approve(*args: str) -> Any:
    """`berth approve dev apim ARGS` as an operator runs it against the sandbox."""
    return CliRunner().invoke(main, ["approve", "dev", "apim", *args], env=_env())


def _env() -> dict[str, str]:
    return dict(ENV["vars"])


ENV: dict[str, Any] = {}


@pytest.fixture(autouse=True)
def _sandbox_env(sandbox):
    ENV["vars"] = sandbox.env_vars()
    yield
    ENV.clear()


def test_a_deployment_waits_for_berth_approve_then_completes_with_the_approver_recorded(
    sandbox, listener
):
    _gated(sandbox, listener, timeout=30)
    sandbox.renew_clients(BERTH_NOTIFY_STARTED="true")  # the start, then the gate, then the outcome
    calls = len(sandbox.ecs_sim.hook_invocations)

    # When a new image is pushed, it is verified and then waits (two call-backs, nothing moved)
    listener.received.clear()
    sandbox.push("wso2am", "4.7.0-2")
    _run_until_waiting(sandbox, calls, calls=2)
    assert _answers(sandbox, calls) == ["IN_PROGRESS", "IN_PROGRESS"]
    first, second = (i["answer"] for i in sandbox.ecs_sim.hook_invocations[calls:])
    assert first["callBackDelay"] == 60 and first["hookDetails"]["berth"]["verified"] is True
    assert second == first  # the call-back waits the same way, without verifying again
    record = history("apim")[0]
    assert record.status == "IN_PROGRESS" and record.approval is not None
    assert record.approval.approved_by is None
    assert record.approval.deadline - record.approval.asked_at == timedelta(minutes=30)
    assert record.stages[0].startswith("POST_TEST_TRAFFIC_SHIFT: verification passed: ")
    assert record.stages[1] == (
        f"POST_TEST_TRAFFIC_SHIFT: waiting for approval until "
        f"{record.approval.deadline:%Y-%m-%d %H:%M} UTC (berth approve dev apim)"
    )
    # the test listener was called once for the verification, not at every call-back
    assert [(m, p) for m, p, _ in listener.received] == [("GET", HEALTH), ("GET", SMOKE)]
    # one notification says what waits, how to approve, and until when
    sandbox.collect_notifications()
    [waiting] = [n for n in sandbox.notifications if n.document["status"] == "WARNING"
                 and n.document["record_id"] == record.record_id]
    assert waiting.subject == "[dev] apim 4.7.0-2 waits for approval"
    assert waiting.document["record_id"] == record.record_id
    assert waiting.document["action"] == (
        "approve with `berth approve dev apim` before "
        f"{record.approval.deadline:%Y-%m-%d %H:%M} UTC; without an approval by then, ECS rolls "
        "the deployment back"
    )
    # and no production traffic moved to the new revision
    assert record.ecs_deployment_id not in sandbox.ecs_sim.traffic

    # When someone approves it
    result = approve("--note", "CHG-1042")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith(
        f"dev/apim 4.7.0-2 (record {record.record_id}): approved by {CALLER} at "
    )
    assert result.output.splitlines()[0].endswith(": CHG-1042")
    # and approves it again: nothing changes
    again = approve()
    assert again.exit_code == 0 and "already approved by" in again.output
    sandbox.run_until_idle()

    # Then the next call answered SUCCEEDED, production traffic moved, the record says who
    assert _answers(sandbox, calls)[-1] == "SUCCEEDED"
    assert len(listener.received) == 2
    record = history("apim")[0]
    assert record.status == "COMPLETED"
    assert record.approval is not None
    assert (record.approval.approved_by, record.approval.note) == (CALLER, "CHG-1042")
    assert record.stages[2].startswith(f"POST_TEST_TRAFFIC_SHIFT: approved by {CALLER} at ")
    assert record.stages[-1] == "completed"
    assert live_image(sandbox, "apim").endswith(sandbox_digest(sandbox, "4.7.0-2"))
    statuses = [n.document["status"] for n in sandbox.notifications if n.document["record_id"] == record.record_id]
    assert statuses == ["STARTED", "WARNING", "COMPLETED"]
    assert_truth(sandbox)
    # berth history shows the approval
    shown = CliRunner().invoke(main, ["history", "dev", "apim", "--limit", "1"], env=_env())
    assert f"    approved by {CALLER} at " in shown.output


def test_no_approval_by_the_deadline_rolls_back_before_production_traffic(sandbox, listener):
    _gated(sandbox, listener, timeout=5)
    before = live_image(sandbox, "apim")
    calls = len(sandbox.ecs_sim.hook_invocations)
    sandbox.push("wso2am", "4.7.0-2")
    _run_until_waiting(sandbox, calls)

    # When the deadline passes (Berth's clock 6 minutes on) without an approval
    shift_clock(6)
    sandbox.run_until_idle()

    # Then the hook answered FAILED and ECS rolled back; green never had production traffic
    assert _answers(sandbox, calls)[-1] == "FAILED"
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert record.ecs_deployment_id not in sandbox.ecs_sim.traffic
    assert live_image(sandbox, "apim") == before
    assert record.stages[2] == "POST_TEST_TRAFFIC_SHIFT: approval failed: not approved within 5 minutes"
    # and the one outcome notification says why
    sandbox.collect_notifications()
    notes = [n for n in sandbox.notifications if n.document["record_id"] == record.record_id]
    assert [n.document["status"] for n in notes] == ["WARNING", "ROLLED_BACK"]  # no start by default
    assert notes[-1].document["reason"] == (
        "Berth's approval gate failed at POST_TEST_TRAFFIC_SHIFT, before production traffic "
        "moved: not approved within 5 minutes"
    )
    # and a late approval is refused, saying why
    late = approve()
    assert late.exit_code == 1
    assert late.stderr == "berth: nothing to approve: no deployment in progress\n"
    by_id = approve("--record", record.record_id)
    assert by_id.stderr == (
        f"berth: nothing to approve: dev/apim record {record.record_id} is ROLLED_BACK, not "
        "waiting for approval\n"
    )
    assert_truth(sandbox)


def test_berth_approve_refuses_when_nothing_waits(sandbox):
    deploy_example(sandbox)
    result = CliRunner().invoke(main, ["approve", "dev", "apim"], env=sandbox.env_vars())
    assert result.exit_code == 1
    assert result.stderr == (
        "berth: nothing to approve: no deployment in progress\n"
    )


def test_the_hook_and_berth_approve_never_overwrite_each_other(sandbox, listener):
    _gated(sandbox, listener, timeout=5)
    calls = len(sandbox.ecs_sim.hook_invocations)
    sandbox.push("wso2am", "4.7.0-2")
    _run_until_waiting(sandbox, calls)
    store = handlers.berth().store
    stale = history("apim")[0]

    # When `berth approve` writes while the hook holds an older read of the record
    assert approve().exit_code == 0
    # Then the hook's write of that older read (its deadline passing) is refused by DynamoDB
    assert store.transition_approval(stale, "WAITING", reason="stale") is None
    assert store.transition_approval(stale, None, reason="stale") is None
    kept = history("apim")[0]
    assert kept.approval is not None and kept.approval.approved_by == CALLER
    # and even past the deadline, the approval stands: the deployment completes
    shift_clock(6)
    sandbox.run_until_idle()
    assert _answers(sandbox, calls)[-1] == "SUCCEEDED"
    assert history("apim")[0].status == "COMPLETED"


@pytest.mark.parametrize("notify_started", [None, "false"])
def test_without_start_notifications_the_approval_is_still_asked_for(
    sandbox, listener, notify_started
):
    # A stage leaves starts untold by default (BERTH_NOTIFY_STARTED), never what an operator must
    # act on; the approval is written on the record alone, after the head's copy: the outcome
    # keeps it.
    _gated(sandbox, listener, timeout=30)
    if notify_started is not None:
        sandbox.renew_clients(BERTH_NOTIFY_STARTED=notify_started)
    calls = len(sandbox.ecs_sim.hook_invocations)
    sandbox.push("wso2am", "4.7.0-2")
    _run_until_waiting(sandbox, calls)
    record = history("apim")[0]
    assert approve("--note", "CHG-7").exit_code == 0
    sandbox.run_until_idle()

    sandbox.collect_notifications()
    assert [(n.document["status"], n.subject) for n in sandbox.notifications
            if n.document["record_id"] == record.record_id] == [
        ("WARNING", "[dev] apim 4.7.0-2 waits for approval"),
        ("COMPLETED", "[dev] apim 4.7.0-2 deployed"),
    ]  # fmt: skip
    done = history("apim")[0]
    assert (done.status, done.stages[-1]) == ("COMPLETED", "completed")
    assert done.approval is not None and (done.approval.approved_by, done.approval.note) == (
        CALLER, "CHG-7",
    )  # fmt: skip
    assert any(line.startswith("POST_TEST_TRAFFIC_SHIFT: approved by ") for line in done.stages)
