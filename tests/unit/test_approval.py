"""The approval gate (issue 18): what Berth's hook answers ECS while a deployment waits for
`berth approve`, what `berth approve` may record, the spec's rules and rendering of
deployment.approval, and what the follower and the sweep make of a gated record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import botocore.session
import pytest
from botocore.validate import ParamValidator

from chalicelib.decisions.approval import APPROVAL_DELAY, NotWaiting, approval_of, gate
from chalicelib.decisions.stages import failure_reason
from chalicelib.decisions.sweep import due
from chalicelib.rendering.service_request import create_service_request, render_service_settings
from chalicelib.spec.parse import parse_spec
from chalicelib.values.records import Approval, DeploymentRecord, Trigger
from tests.unit.test_strategies import FULL_LB, ROLES, TG, problems, spec_text

T0 = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)
ASKED = Approval(asked_at=T0, deadline=T0 + timedelta(minutes=30))
ARN = "arn:aws:iam::123456789012:user/ana"


# ---- the gate's answers -------------------------------------------------------------------------


def test_the_first_call_asks_with_a_deadline_from_now_and_waits():
    found = gate(None, now=T0, timeout_minutes=30)
    assert (found.status, found.reason, found.call_back_delay) == (
        "IN_PROGRESS", "waiting for approval until 2026-12-06 05:30 UTC", APPROVAL_DELAY
    )
    assert found.ask == ASKED


def test_a_later_call_before_the_deadline_waits_without_asking_again():
    found = gate(ASKED, now=T0 + timedelta(minutes=29), timeout_minutes=5)
    assert (found.status, found.call_back_delay, found.ask) == ("IN_PROGRESS", 60, None)
    # the deadline is the record's, not a new one from the (changed) spec's timeout
    assert found.reason == "waiting for approval until 2026-12-06 05:30 UTC"


def test_an_approval_succeeds_and_says_who_when_and_why():
    approved = ASKED.model_copy(update={"approved_by": ARN, "note": "CHG-1042",
                                        "approved_at": T0 + timedelta(minutes=3)})  # fmt: skip
    found = gate(approved, now=T0 + timedelta(hours=5), timeout_minutes=30)
    assert (found.status, found.reason) == (
        "SUCCEEDED", f"approved by {ARN} at 2026-12-06 05:03 UTC: CHG-1042"
    )


def test_no_approval_by_the_deadline_fails():
    found = gate(ASKED, now=T0 + timedelta(minutes=30), timeout_minutes=30)
    assert (found.status, found.reason, found.call_back_delay) == (
        "FAILED", "not approved within 30 minutes", None
    )


# ---- what `berth approve` may record ------------------------------------------------------------


def record(status: str = "IN_PROGRESS", approval: Approval | None = ASKED) -> DeploymentRecord:
    return DeploymentRecord(
        environment="prod", service="apim", record_id="D#1", run_id="r", status=status,  # type: ignore[arg-type]
        trigger=Trigger(kind="image", event_id="e"), approval=approval,
        created_at=T0, updated_at=T0,
    )  # fmt: skip


def test_an_approval_of_a_waiting_record_names_who_when_and_the_note():
    now = T0 + timedelta(minutes=1)
    assert approval_of(record(), by=ARN, note="ok", now=now) == ASKED.model_copy(
        update={"approved_by": ARN, "approved_at": now, "note": "ok"}
    )


def test_a_second_approval_changes_nothing():
    approved = ASKED.model_copy(update={"approved_by": "someone", "approved_at": T0})
    assert approval_of(record(approval=approved), by=ARN, note="", now=T0) is None


@pytest.mark.parametrize(
    ("found", "now", "message"),
    [
        (None, T0, "no deployment in progress"),
        (record("COMPLETED"), T0, "prod/apim record D#1 is COMPLETED, not waiting for approval"),
        (record(approval=None), T0, "prod/apim record D#1 is not waiting for approval (yet: "
         "Berth's hook asks once the new revision passed its verification)"),
        (record(), T0 + timedelta(minutes=30), "prod/apim record D#1: the approval's deadline "
         "passed at 2026-12-06 05:30 UTC; the deployment is being rolled back"),
    ],
)  # fmt: skip
def test_nothing_waiting_is_refused_with_the_reason(found, now, message):
    with pytest.raises(NotWaiting) as refused:
        approval_of(found, by=ARN, note="", now=now)
    assert str(refused.value) == message


# ---- the follower and the sweep -----------------------------------------------------------------


def test_the_outcome_says_the_approval_gate_failed_before_production_traffic():
    failed = record().model_copy(update={"stages": [
        "POST_TEST_TRAFFIC_SHIFT: verification passed: health GET /h: 200 in 3 ms",
        "POST_TEST_TRAFFIC_SHIFT: waiting for approval until 2026-12-06 05:30 UTC (berth approve prod apim)",
        "POST_TEST_TRAFFIC_SHIFT: approval failed: not approved within 30 minutes",
    ]})  # fmt: skip
    assert failure_reason(failed, "hook returned FAILED") == (
        "Berth's approval gate failed at POST_TEST_TRAFFIC_SHIFT, before production traffic "
        "moved: not approved within 30 minutes"
    )


def test_the_sweep_does_not_time_out_a_deployment_waiting_for_its_approval():
    waiting = record().model_copy(update={"started_at": T0})
    timeout = timedelta(minutes=10)
    assert not due(waiting, T0 + timedelta(minutes=35), timeout)  # deadline 05:30 + 10 min
    assert due(waiting, T0 + timedelta(minutes=40), timeout)
    approved = waiting.model_copy(update={"approval": ASKED.model_copy(
        update={"approved_by": ARN, "approved_at": T0 + timedelta(minutes=20)})})  # fmt: skip
    assert not due(approved, T0 + timedelta(minutes=29), timeout)
    assert due(approved, T0 + timedelta(minutes=30), timeout)
    assert due(record(approval=None).model_copy(update={"started_at": T0}),
               T0 + timedelta(minutes=10), timeout)  # fmt: skip


# ---- the spec -----------------------------------------------------------------------------------

BLUE_GREEN = "      strategy: blue-green\n      bakeTime: 0\n"


def test_approval_on_a_rolling_service_is_refused_where_it_is_written():
    [found] = problems(spec_text("      approval: {timeout: 30}\n", "-"))
    assert found == (
        "12:7: services.web.deployment.approval: Berth holds a deployment for approval in ECS's "
        "lifecycle hooks, which rolling deployments do not have; set deployment.strategy to "
        "blue-green, canary or linear"
    )


@pytest.mark.parametrize("timeout", [0, 1321])
def test_the_timeout_stays_within_ecs_own_hook_timeout(timeout):
    [found] = problems(spec_text(BLUE_GREEN + f"      approval: {{timeout: {timeout}}}\n",
                                 FULL_LB))  # fmt: skip
    assert "services.web.deployment.approval.timeout" in found


def test_an_approval_without_verify_renders_berth_hook_at_post_test_traffic_shift():
    spec = parse_spec(spec_text(BLUE_GREEN + "      approval: {timeout: 45}\n", FULL_LB).encode(),
                      "s.yaml")  # fmt: skip
    config = render_service_settings(spec, "web", ROLES)["deploymentConfiguration"]
    assert config["lifecycleHooks"] == [{
        "hookTargetArn": ROLES.hook_function_arn, "roleArn": ROLES.hook_role_arn,
        "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "hookDetails": {"berth": {"environment": "dev", "service": "web", "product": "generic",
                                  "approval": {"timeout": 45}}},
    }]  # fmt: skip
    model = botocore.session.get_session().get_service_model("ecs")
    request = create_service_request(spec, "web", "arn:td", "token", ROLES)
    report = ParamValidator().validate(request, model.operation_model("CreateService").input_shape)
    assert not report.has_errors(), report.generate_report()


def test_an_approval_after_verify_travels_with_the_checks():
    deployment = BLUE_GREEN + (
        "      verify: {testUrl: 'http://127.0.0.1:8080', health: /h}\n"
        "      approval: {}\n"
    )
    spec = parse_spec(spec_text(deployment, FULL_LB).encode(), "s.yaml")
    config = render_service_settings(spec, "web", ROLES)["deploymentConfiguration"]
    [hook] = config["lifecycleHooks"]
    details = hook["hookDetails"]["berth"]
    assert (details["health"], details["approval"]) == ("/h", {"timeout": 60})


def test_the_stage_must_have_the_hook_that_holds_the_deployment():
    from chalicelib.spec.fence import FenceVariables

    fence = FenceVariables(clusters="dev=c", roles="dev=exec", image_repositories="web",
                           rollout_roles="dev=lb,hook", target_groups=f"dev={TG}/*",
                           subnets="dev=subnet-1", security_groups="dev=sg-1")  # fmt: skip
    found = problems(spec_text(BLUE_GREEN + "      approval: {timeout: 5}\n", FULL_LB), fence)
    assert [p.split(": ", 2)[1:] for p in found] == [[
        "services.web.deployment.approval",
        "this stage has no verification hook (BERTH_VERIFY_HOOK_FUNCTION), which holds "
        "deployments for approval",
    ]]  # fmt: skip


# ---- who may approve (issue 28): the environment's declaration, as the shipped prod stage has it


def _prod_fence():  # the prod stage's own file, as its Lambdas read it
    from berth.stages import stage_fence

    return stage_fence("prod", "us-east-1", overrides={})


RELEASE = "arn:aws:sts::123456789012:assumed-role/berth-release-managers/ana"


def _asked_by(requester: str | None) -> DeploymentRecord:
    return record().model_copy(
        update={"trigger": Trigger(kind="rollback", event_id="e", requested_by=requester)}
    )


def test_in_prod_the_requester_may_not_approve_their_own_deployment():
    from chalicelib.decisions.approval import approver_refusal

    fence = _prod_fence()
    refused = approver_refusal(
        _asked_by(RELEASE), RELEASE, approvers=fence.approvers["prod"],
        requester_may_approve=fence.self_approval["prod"],
    )  # fmt: skip
    assert refused == (
        f"{RELEASE} asked for this deployment and may not approve it too: prod wants a second "
        "person (approval.requesterMayApprove in the stage's environments file)"
    )
    # another release manager may
    other = "arn:aws:sts::123456789012:assumed-role/berth-release-managers/bo"
    assert approver_refusal(
        _asked_by(RELEASE), other, approvers=fence.approvers["prod"],
        requester_may_approve=fence.self_approval["prod"],
    ) is None  # fmt: skip


def test_in_prod_only_the_declared_approvers_may_approve():
    from chalicelib.decisions.approval import approver_refusal

    fence = _prod_fence()
    developer = "arn:aws:sts::123456789012:assumed-role/wso2-developers/ana"
    assert approver_refusal(
        _asked_by(None), developer, approvers=fence.approvers["prod"],
        requester_may_approve=fence.self_approval["prod"],
    ) == (
        f"{developer} may not approve prod's deployments (approval.approvers of prod in the "
        "stage's environments file: arn:aws:sts::123456789012:assumed-role/"
        "berth-release-managers/*)"
    )  # fmt: skip


def test_the_approval_endpoint_refuses_a_request_without_an_iam_identity():
    from chalicelib import handlers

    assert handlers.approve({"identity": {"userArn": None}}, "prod", "apim", {}) == (
        403, {"message": "no IAM identity: call this endpoint signed (SigV4)"}
    )


def _prod_berth_waiting(requester: str | None):
    """The approval endpoint's Lambda on the prod stage's declaration, in memory, with one prod
    record waiting at its gate (asked at the Lambda's clock, 30 minutes to go)."""
    from chalicelib import handlers
    from chalicelib.spec.environments import fence_variables, read_environments
    from tests.fakes import in_memory_berth

    berth = in_memory_berth()
    declared = read_environments("prod")
    assert declared is not None
    berth.settings.fence_variables = fence_variables(declared)
    now = berth.clock()
    waiting = _asked_by(requester).model_copy(
        update={"approval": Approval(asked_at=now, deadline=now + timedelta(minutes=30))}
    )
    berth.store.put_record(waiting)
    handlers.use(berth)
    return berth


def test_the_approval_endpoint_refuses_self_approval_in_prod_and_records_a_second_person():
    from chalicelib import handlers

    berth = _prod_berth_waiting(RELEASE)
    try:
        asked = {"record": "D#1", "note": "CHG-9"}
        status, said = handlers.approve({"identity": {"userArn": RELEASE}}, "prod", "apim", asked)
        assert (status, said["message"]) == (403, (
            f"{RELEASE} asked for this deployment and may not approve it too: prod wants a "
            "second person (approval.requesterMayApprove in the stage's environments file)"
        ))  # fmt: skip
        other = "arn:aws:sts::123456789012:assumed-role/berth-release-managers/bo"
        status, said = handlers.approve({"identity": {"userArn": other}}, "prod", "apim", asked)
        assert (status, said["approved"]) == (200, True)
        stored = berth.store.get_record("prod", "apim", "D#1")
        assert stored.approval.approved_by == other and stored.approval.note == "CHG-9"
    finally:
        handlers.use(None)


def test_the_approval_endpoint_judges_the_deadline_by_the_lambdas_clock():
    from chalicelib import handlers

    berth = _prod_berth_waiting(None)
    try:
        berth.clock.now += timedelta(minutes=31)  # type: ignore[attr-defined]
        other = "arn:aws:sts::123456789012:assumed-role/berth-release-managers/bo"
        status, said = handlers.approve(
            {"identity": {"userArn": other}}, "prod", "apim", {"record": "D#1"}
        )
        assert status == 409
        assert said["message"].startswith("prod/apim record D#1: the approval's deadline passed at ")
    finally:
        handlers.use(None)
