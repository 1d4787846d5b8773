"""The sandbox plays ECS's blue/green deployments as ECS does (issue 18): it refuses the
configurations AWS refuses, goes through the lifecycle stages, invokes the lifecycle hook with
ECS's payload and honours its answers (IN_PROGRESS with callBackDelay, SUCCEEDED, FAILED), and
rolls back when the hook fails or a deployment alarm fires. The hook here is scripted; Berth's
own hook is tested in test_verify_hook.py."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from botocore.exceptions import ClientError

from berth.sandbox.ecs_sim.strategies import STAGES
from berth.sandbox.sandbox import example_spec
from tests.integration.helpers import deploy_example, history, live_image

BLUE_GREEN = "wso2-dev-bluegreen.yaml"
HOOK = "arn:aws:lambda:us-east-1:123456789012:function:berth-dev-verify_rollout"


class ScriptedHook:
    """Answers ECS's invocations in turn; records each payload."""

    def __init__(self, *answers: dict[str, Any], on_call: Any = None) -> None:
        self.answers = list(answers)
        self.payloads: list[dict[str, Any]] = []
        self.on_call = on_call

    def __call__(self, function_arn: str, payload: dict[str, Any]) -> Any:
        assert function_arn == HOOK
        self.payloads.append(payload)
        if self.on_call is not None:
            self.on_call()
        return self.answers.pop(0)


def _switch_to_blue_green(sandbox: Any, hook: ScriptedHook) -> None:
    """The dev example runs (rolling); its blue/green variant is uploaded and rolled out."""
    deploy_example(sandbox)
    assert sandbox.ecs_sim is not None
    sandbox.ecs_sim.time_scale = 0.0001
    sandbox.ecs_sim.invoke_hook = hook
    sandbox.upload_spec(sandbox.adapt_spec(example_spec(BLUE_GREEN)))
    sandbox.run_until_idle()


def _apim(sandbox: Any) -> dict[str, Any]:
    ecs = sandbox.client("ecs")
    return dict(ecs.describe_services(cluster="wso2-dev", services=["apim"])["services"][0])


def test_a_blue_green_deployment_goes_through_ecs_stages_and_waits_for_its_hook(sandbox):
    # Given APIM switched to blue/green, whose hook first answers IN_PROGRESS with a delay
    progress = {"hookStatus": "IN_PROGRESS", "callBackDelay": 5, "hookDetails": {"tries": 1}}
    hook = ScriptedHook(progress, {"hookStatus": "SUCCEEDED"})
    _switch_to_blue_green(sandbox, hook)

    # Then ECS went through every stage (RECONCILE_SERVICE only comes with more than one ACTIVE
    # revision) and invoked the hook twice at POST_TEST_TRAFFIC_SHIFT
    [record] = [r for r in history("apim")[:1]]
    assert record.status == "COMPLETED"
    assert sandbox.ecs_sim.lifecycle[record.ecs_deployment_id] == list(STAGES[1:])
    assert "PRE_PRODUCTION_TRAFFIC_SHIFT" in STAGES
    first, second = hook.payloads
    assert first["lifecycleStage"] == second["lifecycleStage"] == "POST_TEST_TRAFFIC_SHIFT"
    # with the hookDetails the service configured, then those the hook returned
    assert first["hookDetails"]["berth"]["service"] == "apim"
    assert second["hookDetails"] == {"tries": 1}
    details = first["executionDetails"]
    green = details["targetServiceRevisionArn"]
    assert details["serviceArn"] == _apim(sandbox)["serviceArn"]
    assert details["testTrafficWeights"] == {green: 100}
    assert details["productionTrafficWeights"][green] == 0
    assert sandbox.ecs_sim.traffic[record.ecs_deployment_id] == [100.0]
    # and DescribeServices reports the configuration Berth rendered
    apim = _apim(sandbox)
    assert apim["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"
    assert apim["loadBalancers"][0]["advancedConfiguration"]["roleArn"] == (
        "arn:aws:iam::123456789012:role/berth-ecs-lb-dev-dev"
    )


def test_a_failed_hook_rolls_back_before_production_traffic(sandbox):
    # Given APIM on blue/green whose hook passes its first deployment
    hook = ScriptedHook({"hookStatus": "SUCCEEDED"})
    _switch_to_blue_green(sandbox, hook)
    before = live_image(sandbox, "apim")

    # When a new image's hook answers FAILED
    hook.answers.append({"hookStatus": "FAILED"})
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    # Then ECS failed the deployment and rolled back to what ran
    events = [e.detail for e in sandbox.ecs_sim.emitted]
    failed = [e for e in events if e["eventName"] == "SERVICE_DEPLOYMENT_FAILED"]
    assert failed[-1]["reason"] == (
        f"ECS deployment lifecycle hook {HOOK} returned FAILED at POST_TEST_TRAFFIC_SHIFT."
    )
    assert events[-2]["reason"].startswith(
        "ECS deployment lifecycle hook: rolling back to deploymentId ecs-svc/"
    )
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert live_image(sandbox, "apim") == before
    # green never had production traffic
    assert record.ecs_deployment_id not in sandbox.ecs_sim.traffic
    assert sandbox.ecs_sim.lifecycle[record.ecs_deployment_id][-1] == "POST_TEST_TRAFFIC_SHIFT"


def test_an_alarm_in_alarm_rolls_the_deployment_back_naming_it(sandbox):
    # Given APIM on blue/green; the alarm fires while the new revision is being tested
    hook = ScriptedHook({"hookStatus": "SUCCEEDED"})
    _switch_to_blue_green(sandbox, hook)
    hook.answers.append({"hookStatus": "SUCCEEDED"})
    hook.on_call = lambda: sandbox.fire_alarm("apim-dev-gateway-5xx")

    # When a new image is deployed
    sandbox.collect_notifications()
    sandbox.notifications.clear()
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    # Then ECS fails it at the next stage (PRE_PRODUCTION_TRAFFIC_SHIFT, before production
    # traffic moves), naming the alarm, and rolls back
    failed = [e.detail for e in sandbox.ecs_sim.emitted
              if e.detail["eventName"] == "SERVICE_DEPLOYMENT_FAILED"]  # fmt: skip
    assert failed[-1]["reason"] == (
        "ECS deployment alarm apim-dev-gateway-5xx is in ALARM state during "
        "PRE_PRODUCTION_TRAFFIC_SHIFT."
    )
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    # and Berth's record and its one outcome notification name the alarm and the stage
    reason = (
        "deployment alarm apim-dev-gateway-5xx went into ALARM during PRE_PRODUCTION_TRAFFIC_SHIFT"
    )
    assert record.reason == reason
    sandbox.collect_notifications()
    outcomes = [n.document for n in sandbox.notifications
                if n.document["service"] == "apim" and n.document["status"] != "STARTED"]  # fmt: skip
    assert [(o["status"], o["reason"]) for o in outcomes] == [("ROLLED_BACK", reason)]


def test_an_unchanged_blue_green_spec_deploys_nothing(sandbox):
    hook = ScriptedHook({"hookStatus": "SUCCEEDED"})
    _switch_to_blue_green(sandbox, hook)
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(sandbox.adapt_spec(example_spec(BLUE_GREEN)))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []


def _create(sandbox: Any, configuration: dict[str, Any], advanced: dict[str, Any] | None) -> str:
    ecs = sandbox.client("ecs")
    ecs.create_cluster(clusterName="strict")
    arn = ecs.register_task_definition(
        family="x", containerDefinitions=[{"name": "x", "image": "x", "memory": 512,
                                           "portMappings": [{"containerPort": 80}]}],
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
    balancer: dict[str, Any] = {
        "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/b/1",
        "containerName": "x", "containerPort": 80,
    }  # fmt: skip
    if advanced is not None:
        balancer["advancedConfiguration"] = advanced
    try:
        ecs.create_service(
            cluster="strict", serviceName="x", taskDefinition=arn, desiredCount=1,
            deploymentConfiguration=configuration, loadBalancers=[balancer],
        )  # fmt: skip
    except ClientError as refused:
        error = refused.response["Error"]
        return f"{error['Code']}: {error['Message']}"
    return "created"


ADVANCED = {
    "alternateTargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/g/2",
    "productionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/l/1/2/3",
    "roleArn": "arn:aws:iam::123456789012:role/lb",
}


@pytest.mark.parametrize(
    ("configuration", "advanced", "refusal"),
    [
        ({"strategy": "BLUE_GREEN"}, ADVANCED,
         "bakeTimeInMinutes must be specified for the BLUE_GREEN deployment strategy."),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5, "canaryConfiguration": {}}, ADVANCED,
         "canaryConfiguration is only valid when the deployment strategy is CANARY."),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 0.05}}, ADVANCED,
         "canaryPercent must be a multiple of 0.1 between 0.1 and 100.0."),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepBakeTimeInMinutes": 2000}}, ADVANCED,
         "stepBakeTimeInMinutes must be between 0 and 1440."),
        ({"strategy": "CANARY"}, None,
         "advancedConfiguration must be specified for each load balancer of a service using the "
         "CANARY deployment strategy."),
        ({"strategy": "LINEAR"}, {**ADVANCED, "roleArn": ""},
         "advancedConfiguration.roleArn must be specified."),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1, "lifecycleHooks": [
            {"hookTargetArn": HOOK, "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]}, ADVANCED,
         "roleArn must be specified for an AWS_LAMBDA lifecycle hook."),
        # Issue 30: AWS documents the circuit breaker for rolling and blue/green deployments only
        ({"strategy": "CANARY", "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
         ADVANCED, "The deployment circuit breaker can only be used for services using the "
         "rolling update (ECS) deployment type; CANARY deployments fail on their alarms and "
         "lifecycle hooks."),
        ({"strategy": "LINEAR", "deploymentCircuitBreaker": {"enable": True, "rollback": False}},
         ADVANCED, "The deployment circuit breaker can only be used for services using the "
         "rolling update (ECS) deployment type; LINEAR deployments fail on their alarms and "
         "lifecycle hooks."),
    ],
)  # fmt: skip
def test_the_sandbox_refuses_what_ecs_refuses(sandbox, configuration, advanced, refusal):
    assert _create(sandbox, configuration, advanced) == f"InvalidParameterException: {refusal}"


@pytest.mark.parametrize(
    "configuration",
    [
        {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
         "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        {"strategy": "CANARY", "deploymentCircuitBreaker": {"enable": False, "rollback": False}},
    ],
)  # fmt: skip
def test_the_sandbox_takes_a_breaker_where_aws_documents_it_or_turned_off(sandbox, configuration):
    assert _create(sandbox, configuration, ADVANCED) == "created"


def test_berth_diff_renders_the_rollout_roles_so_an_unchanged_spec_shows_no_difference(sandbox):
    from berth.commands.diff import Stage, changes_anything, diff_spec
    from chalicelib import handlers
    from chalicelib.spec.parse import parse_spec

    hook = ScriptedHook({"hookStatus": "SUCCEEDED"})
    _switch_to_blue_green(sandbox, hook)
    berth = handlers.berth()
    text = sandbox.adapt_spec(example_spec(BLUE_GREEN))
    spec = parse_spec(text.encode(), "s.yaml")
    stage = Stage(berth.store, berth.ecs, berth.ecr, "123456789012", "us-east-1",
                  berth.settings.fence)  # fmt: skip
    [apim] = [d for d in diff_spec(stage, spec) if d.service == "apim"]
    assert not changes_anything(diff_spec(stage, spec))
    changed = [line for line in apim.settings if line[:1] in "+-" and line[:3] not in "---+++"]
    assert not [line for line in changed if "roleArn" in line or "hookTargetArn" in line]
    # and a role the stage no longer declares would show
    other = berth.settings.fence
    assert other is not None
    moved = dataclasses.replace(other, rollout_roles={"dev": ("other-lb", "other-hook")})
    changed_stage = Stage(berth.store, berth.ecs, berth.ecr, "123456789012", "us-east-1", moved)
    [shown] = [d for d in diff_spec(changed_stage, spec) if d.service == "apim"]
    assert shown.change.kind == "settings"
    assert any("role/other-lb" in line and line.startswith("+") for line in shown.settings)


@pytest.mark.parametrize(
    ("deployment", "steps"),
    [
        ({"strategy": "canary", "canary": {"percent": 10, "bake": 1}}, [10.0, 100.0]),
        ({"strategy": "linear", "linear": {"stepPercent": 25, "bake": 1}},
         [25.0, 50.0, 75.0, 100.0]),
    ],
)  # fmt: skip
def test_canary_and_linear_shift_production_traffic_in_their_steps(sandbox, deployment, steps):
    import yaml

    deploy_example(sandbox)
    sandbox.ecs_sim.time_scale = 0.0001
    hook = ScriptedHook({"hookStatus": "SUCCEEDED"})
    sandbox.ecs_sim.invoke_hook = hook
    document = yaml.safe_load(sandbox.adapt_spec(example_spec(BLUE_GREEN)))
    configured = document["services"]["apim"]["deployment"]
    configured.pop("bakeTime")
    configured.update(deployment)
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()

    record = history("apim")[0]
    assert record.status == "COMPLETED"
    assert sandbox.ecs_sim.traffic[record.ecs_deployment_id] == steps
    assert [p["lifecycleStage"] for p in hook.payloads] == ["POST_TEST_TRAFFIC_SHIFT"]


def test_a_spec_back_on_rolling_takes_the_service_off_blue_green(sandbox):
    # Given APIM on blue/green
    hook = ScriptedHook({"hookStatus": "SUCCEEDED"})
    _switch_to_blue_green(sandbox, hook)
    assert _apim(sandbox)["deploymentConfiguration"]["strategy"] == "BLUE_GREEN"

    # When the dev example (rolling) is uploaded again
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()

    # Then ECS is told to deploy rolling again, without the alternate target group
    [update] = [c.params for c in sandbox.recorder.ecs_mutations(mark)
                if c.operation == "UpdateService"]  # fmt: skip
    assert update["deploymentConfiguration"]["strategy"] == "ROLLING"
    assert "advancedConfiguration" not in update["loadBalancers"][0]
    apim = _apim(sandbox)
    assert apim["deploymentConfiguration"]["strategy"] == "ROLLING"
    assert history("apim")[0].status == "COMPLETED"
    # and a second upload of it changes nothing
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
