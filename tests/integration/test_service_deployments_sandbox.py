"""Blue/green, canary and linear deployments followed the way ECS reports them (issue 30): the
sandbox answers ListServiceDeployments and DescribeServiceDeployments from its own state, a
rollback being a state of the same service deployment, and the sweep asks ECS before it concludes
anything, and not before the strategy's schedule has passed on top of the stage's timeout."""

from __future__ import annotations

import json
from typing import Any

import yaml
from botocore.validate import ParamValidator

from berth.sandbox.sandbox import example_spec
from chalicelib import handlers
from chalicelib.decisions.deadlines import deadline_minutes
from chalicelib.spec.model import Spec
from tests.integration.helpers import deploy_example, history, shift_clock
from tests.integration.test_rollout import SCHEDULED
from tests.integration.test_strategies_sandbox import BLUE_GREEN, ScriptedHook

DAY = 24 * 60


def _on_blue_green(sandbox: Any, hook: ScriptedHook, **deployment: Any) -> None:
    """The dev example runs; then APIM moves to blue/green (or what `deployment` says)."""
    deploy_example(sandbox)
    sandbox.ecs_sim.time_scale = 0.0001
    sandbox.ecs_sim.invoke_hook = hook
    document = yaml.safe_load(sandbox.adapt_spec(example_spec(BLUE_GREEN)))
    document["services"]["apim"]["deployment"].update(deployment)
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    assert history("apim")[0].status == "COMPLETED"


def _push_and_lose_ecs_events(sandbox: Any, tag: str, ticks: int) -> None:
    """Berth starts the deployment; ECS plays `ticks` turns of it, its events lost."""
    sandbox.push("wso2am", tag)
    sandbox.pump()
    for _ in range(ticks):
        sandbox.advance_ecs(publish=False)


def _service_deployments(sandbox: Any, raw: list[dict[str, Any]] | None = None) -> list[Any]:
    """APIM's service deployments, newest first, as DescribeServiceDeployments describes them;
    `raw` collects each answer's JSON as the sandbox sent it."""
    ecs = sandbox.client("ecs")

    def keep(response_dict: dict[str, Any], **_: Any) -> None:
        if raw is not None:
            raw.append(json.loads(response_dict["body"]))

    ecs.meta.events.register("before-parse.ecs.*", keep)
    listed = ecs.list_service_deployments(cluster="wso2-dev", service="apim")
    arns = [d["serviceDeploymentArn"] for d in listed["serviceDeployments"]]
    return list(ecs.describe_service_deployments(serviceDeploymentArns=arns)["serviceDeployments"])


def _enum_errors(value: Any, shape: Any, where: str = "") -> list[str]:
    """Values outside their shape's enum (botocore's validator does not check enums)."""
    errors: list[str] = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in value.items():
            if name in shape.members:
                errors += _enum_errors(member, shape.members[name], f"{where}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            errors += _enum_errors(item, shape.member, f"{where}[{index}]")
    elif getattr(shape, "enum", None) and value not in shape.enum:
        errors.append(f"{where}: {value!r} is not one of {shape.enum}")
    return errors


def _unknown_members(value: Any, shape: Any, where: str = "") -> list[str]:
    """Members the output shape does not have (botocore's parser would drop them silently)."""
    errors: list[str] = []
    if shape.type_name == "structure" and isinstance(value, dict):
        if shape.name == "HookDetails":  # a document: any JSON
            return []
        for name, member in value.items():
            if name not in shape.members:
                errors.append(f"{where}.{name}")
            else:
                errors += _unknown_members(member, shape.members[name], f"{where}.{name}")
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            errors += _unknown_members(item, shape.member, f"{where}[{index}]")
    return errors


def test_the_sandbox_answers_the_service_deployment_apis_in_botocores_shapes(sandbox):
    # Given APIM on blue/green, and a new image whose hook fails
    hook = ScriptedHook({"hookStatus": "SUCCEEDED"}, {"hookStatus": "FAILED"})
    _on_blue_green(sandbox, hook)
    _push_and_lose_ecs_events(sandbox, "4.7.0-2", ticks=2)  # announced, then failed

    # Then ECS says it is rolling back, on the failed deployment's own service deployment
    record = history("apim")[0]
    number = record.ecs_deployment_id.rsplit("/", 1)[-1]
    rolling_back, *_ = _service_deployments(sandbox)
    assert rolling_back["targetServiceRevision"]["arn"].endswith(f"/apim/{number}")
    assert rolling_back["status"] == "ROLLBACK_IN_PROGRESS"
    assert rolling_back["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert rolling_back["statusReason"] == rolling_back["rollback"]["reason"]
    assert "returned FAILED at POST_TEST_TRAFFIC_SHIFT" in rolling_back["rollback"]["reason"]

    # When the rollback ends
    sandbox.advance_ecs(publish=False)

    # Then the same service deployment says ROLLBACK_SUCCESSFUL, back to the revision it replaced
    raw: list[dict[str, Any]] = []
    rolled_back, previous, *older = _service_deployments(sandbox, raw)
    assert rolled_back["serviceDeploymentArn"] == rolling_back["serviceDeploymentArn"]
    assert rolled_back["status"] == "ROLLBACK_SUCCESSFUL"
    assert rolled_back["rollback"]["serviceRevisionArn"] == previous["targetServiceRevision"]["arn"]
    assert (previous["status"], previous["lifecycleStage"]) == ("SUCCESSFUL", "CLEAN_UP")
    assert {d["status"] for d in older} <= {"SUCCESSFUL"}
    # and both answers, as sent, are in botocore's output shapes, with its enums' values
    model = sandbox.client("ecs").meta.service_model
    for operation, answer in zip(
        ("ListServiceDeployments", "DescribeServiceDeployments"), raw, strict=True
    ):
        shape = model.operation_model(operation).output_shape
        report = ParamValidator().validate(answer, shape)
        assert not report.has_errors(), report.generate_report()
        assert _enum_errors(answer, shape) == []
        assert _unknown_members(answer, shape) == []


def test_an_unknown_service_deployment_is_a_failure_not_an_error(sandbox):
    deploy_example(sandbox)
    ecs = sandbox.client("ecs")
    unknown = "arn:aws:ecs:us-east-1:123456789012:service-deployment/wso2-dev/apim/1"
    answer = ecs.describe_service_deployments(serviceDeploymentArns=[unknown])
    assert (answer["serviceDeployments"], answer["failures"]) == (
        [], [{"arn": unknown, "reason": "MISSING"}],
    )  # fmt: skip
    missing = ecs.exceptions.ServiceNotFoundException
    try:
        ecs.list_service_deployments(cluster="wso2-dev", service="nothing")
    except missing:
        pass
    else:
        raise AssertionError("ListServiceDeployments of a missing service answered")


def test_a_blue_green_rollback_whose_events_never_came_is_concluded_from_ecs(sandbox):
    # Given APIM on blue/green, and a new image whose hook fails; ECS rolls it back, and none of
    # its events reach Berth
    hook = ScriptedHook({"hookStatus": "SUCCEEDED"}, {"hookStatus": "FAILED"})
    _on_blue_green(sandbox, hook)
    _push_and_lose_ecs_events(sandbox, "4.7.0-2", ticks=3)
    assert history("apim")[0].status == "IN_PROGRESS"

    # When the sweep runs long after the deployment's schedule
    mark = sandbox.recorder.mark()
    shift_clock(DAY)
    swept = sandbox.deliver("sweep", SCHEDULED)

    # Then it asked ECS's service deployment and concluded ROLLED_BACK from it, not TIMED_OUT
    assert [o["action"] for o in swept.result["outcomes"]] == ["rolled-back"]
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert record.reason.startswith(
        "reconciled from ECS's service deployment: ECS says ROLLBACK_SUCCESSFUL"
    )
    called = [c.operation for c in sandbox.recorder.calls[mark:] if c.service == "ecs"]
    assert called[:2] == ["ListServiceDeployments", "DescribeServiceDeployments"]
    assert handlers.berth().store.get_head("dev", "apim").image.tag == "4.7.0-1"


def test_the_sweep_leaves_a_rollback_ecs_is_still_carrying_out(sandbox):
    # Given a blue/green deployment whose hook failed: Berth heard ECS start rolling back, and
    # ECS's rollback takes long
    hook = ScriptedHook({"hookStatus": "SUCCEEDED"}, {"hookStatus": "FAILED"})
    _on_blue_green(sandbox, hook)
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.pump()
    sandbox.advance_ecs()  # announced
    sandbox.advance_ecs()  # failed; the rollback starts
    sandbox.ecs_sim.rollout_seconds = 3600  # and lasts
    sandbox.pump()
    assert history("apim")[0].status == "ROLLING_BACK"

    # When the sweep runs
    shift_clock(DAY)
    swept = sandbox.deliver("sweep", SCHEDULED)

    # Then it concludes nothing while ECS says ROLLBACK_IN_PROGRESS
    assert swept.result["outcomes"] == []
    assert history("apim")[0].status == "ROLLING_BACK"
    # and ECS's own outcome concludes it
    sandbox.ecs_sim.rollout_seconds = 0.0
    sandbox.run_until_idle()
    assert history("apim")[0].status == "ROLLED_BACK"


def _canary(sandbox: Any) -> int:
    """APIM on a canary whose canary bakes an hour; the minutes the sweep must wait for it."""
    canary = {"strategy": "canary", "canary": {"percent": 10, "bake": 60}, "bakeTime": 5}
    _on_blue_green(sandbox, ScriptedHook({"hookStatus": "SUCCEEDED"}), **canary)
    accepted = handlers.berth().store.accepted_spec("dev")
    deployment = Spec.model_validate(accepted.document).services["apim"].deployment
    return deadline_minutes(deployment, handlers.berth().settings.rollout_timeout_minutes)


def test_a_canary_within_its_bake_time_is_not_timed_out_at_the_stage_timeout(sandbox):
    # Given APIM on a canary; a new image's canary has 10 % and bakes (in real time, an hour)
    deadline = _canary(sandbox)
    sandbox.ecs_sim.invoke_hook.answers.append({"hookStatus": "SUCCEEDED"})
    sandbox.ecs_sim.time_scale = 1.0
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.pump()
    sandbox.advance_ecs()
    sandbox.advance_ecs()
    sandbox.pump()
    record = history("apim")[0]
    assert sandbox.ecs_sim.traffic[record.ecs_deployment_id] == [10.0]

    # When the sweep runs after the stage's rollout timeout (30 min), within the schedule
    timeout = handlers.berth().settings.rollout_timeout_minutes
    assert deadline > timeout + 60
    shift_clock(timeout + 1)
    swept = sandbox.deliver("sweep", SCHEDULED)

    # Then the canary is left to ECS
    assert swept.result["outcomes"] == []
    assert history("apim")[0].status == "IN_PROGRESS"

    # When ECS is still at it after the whole schedule
    shift_clock(deadline - timeout)
    swept = sandbox.deliver("sweep", SCHEDULED)

    # Then the sweep stops waiting, from what the service deployment says
    assert [o["action"] for o in swept.result["outcomes"]] == ["timed-out"]
    record = history("apim")[0]
    assert record.status == "TIMED_OUT" and record.ecs_still_rolling
    assert f"no outcome after {deadline} min" in record.reason
    assert "ECS says IN_PROGRESS" in record.reason


def test_a_rollback_ecs_already_finished_is_concluded_from_the_failure_event(sandbox):
    # Given a blue/green deployment whose hook failed, and ECS done rolling it back before Berth
    # hears of the failure; the rollback's COMPLETED never comes
    hook = ScriptedHook({"hookStatus": "SUCCEEDED"}, {"hookStatus": "FAILED"})
    _on_blue_green(sandbox, hook)
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.pump()
    told = [e for _ in range(3) for e in sandbox.advance_ecs(publish=False)]
    assert told[-1].detail["eventName"] == "SERVICE_DEPLOYMENT_COMPLETED"

    # When the other events arrive
    for event in told[:-1]:
        sandbox.put_event("aws.ecs", event.detail_type, event.detail, event.resources)
    sandbox.run_until_idle()

    # Then the record is concluded from the service deployment's ROLLBACK_SUCCESSFUL, sweep-free
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert handlers.berth().store.get_head("dev", "apim").image.tag == "4.7.0-1"
