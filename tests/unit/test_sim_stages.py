"""The sandbox's blue/green, canary and linear stages are botocore's, in AWS's order (issue 30):
every lifecycle hook stage the model has (PRE_PRODUCTION_TRAFFIC_SHIFT included), played where the
ECS developer guide says, and refused by the strict sandbox when a hook names another."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest

from berth.sandbox.ecs_sim.progress import Rollout
from berth.sandbox.ecs_sim.strategies import (
    REPORTED_STAGES,
    STAGES,
    advance_stages,
    reported_stage,
)
from berth.sandbox.strict_ecs.strategies import HOOK_STAGES, strategy_problem

HOOK = "arn:aws:lambda:us-east-1:123456789012:function:hook"


def _enum(shape: str) -> list[str]:
    model = botocore.session.get_session().get_service_model("ecs")
    return list(model.shape_for(shape).enum)


def _in_order(subset: list[str], whole: tuple[str, ...]) -> bool:
    return [s for s in whole if s in subset] == subset


def test_the_sandbox_has_every_stage_of_botocores_model_in_its_order():
    hook_stages = _enum("DeploymentLifecycleHookStage")
    reported = _enum("ServiceDeploymentLifecycleStage")
    assert "PRE_PRODUCTION_TRAFFIC_SHIFT" in hook_stages
    assert set(hook_stages) | set(reported) == set(STAGES)
    assert _in_order(hook_stages, STAGES) and _in_order(reported, STAGES)
    # the strict sandbox takes exactly the model's hook stages, and the service deployment
    # reports only the model's ServiceDeploymentLifecycleStage values
    assert list(HOOK_STAGES) == hook_stages
    assert list(REPORTED_STAGES) == reported


@dataclass
class _Service:
    deployment_configuration: dict[str, Any]
    deployments: list[dict[str, Any]] = field(default_factory=lambda: [
        {"id": "ecs-svc/2", "status": "PRIMARY"}, {"id": "ecs-svc/1", "status": "ACTIVE"}])  # fmt: skip
    arn: str = "arn:aws:ecs:us-east-1:123456789012:service/c/web"
    cluster_name: str = "c"
    name: str = "web"


@dataclass
class _Sim:
    account: str = "123456789012"
    region: str = "us-east-1"
    time_scale: float = 0.0
    shortest_wait: float = 0.0
    lifecycle: dict[str, list[str]] = field(default_factory=dict)
    hook_invocations: list[dict[str, Any]] = field(default_factory=list)
    traffic: dict[str, list[float]] = field(default_factory=dict)
    stages_called: list[tuple[str, float]] = field(default_factory=list)

    def invoke_hook(self, arn: str, payload: dict[str, Any]) -> dict[str, Any]:
        green = payload["executionDetails"]["targetServiceRevisionArn"]
        weight = payload["executionDetails"]["productionTrafficWeights"][green]
        self.stages_called.append((payload["lifecycleStage"], weight))
        return {"hookStatus": "SUCCEEDED"}


def _play(config: dict[str, Any]) -> _Sim:
    sim = _Sim()
    service = _Service(config)
    rollout = Rollout("c/web", "ecs-svc/2", "arn:td:2", 0.0)
    for _ in range(20):
        if advance_stages(sim, service, service.deployments[0], rollout, 0.0) == "complete":
            return sim
    raise AssertionError("the deployment never completed")


def _hooked(strategy: str, **more: Any) -> dict[str, Any]:
    stages = ["PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"]
    return {"strategy": strategy, "bakeTimeInMinutes": 0, **more, "lifecycleHooks": [
        {"hookTargetArn": HOOK, "roleArn": "r", "lifecycleStages": stages}]}  # fmt: skip


def test_a_canary_invokes_its_pre_production_hook_before_every_traffic_step():
    """PRE_PRODUCTION_TRAFFIC_SHIFT: "For linear and canary deployments, this stage is invoked
    before every traffic shift step"; PRODUCTION_TRAFFIC_SHIFT "at every traffic shift step"."""
    sim = _play(_hooked("CANARY", canaryConfiguration={"canaryPercent": 10.0,
                                                       "canaryBakeTimeInMinutes": 1}))  # fmt: skip
    assert sim.stages_called == [
        ("PRE_PRODUCTION_TRAFFIC_SHIFT", 0.0), ("PRODUCTION_TRAFFIC_SHIFT", 0.0),
        ("PRE_PRODUCTION_TRAFFIC_SHIFT", 10.0), ("PRODUCTION_TRAFFIC_SHIFT", 10.0),
    ]  # fmt: skip
    [visited] = sim.lifecycle.values()
    assert visited == [
        "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
        "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP",
    ]  # fmt: skip
    # DescribeServiceDeployments has no PRE_PRODUCTION_TRAFFIC_SHIFT: the stage before it
    assert reported_stage(visited[:6]) == "POST_TEST_TRAFFIC_SHIFT"


def test_linear_steps_and_blue_green_pass_the_pre_production_stage_too():
    linear = _play(_hooked("LINEAR", linearConfiguration={"stepPercent": 50.0}))
    assert [s for s, _ in linear.stages_called].count("PRE_PRODUCTION_TRAFFIC_SHIFT") == 2
    blue_green = _play(_hooked("BLUE_GREEN"))
    assert blue_green.stages_called == [
        ("PRE_PRODUCTION_TRAFFIC_SHIFT", 0.0), ("PRODUCTION_TRAFFIC_SHIFT", 0.0)]  # fmt: skip


def test_reconcile_service_is_played_only_with_more_than_one_active_revision():
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0}
    sim, service = _Sim(), _Service(config)
    service.deployments.append({"id": "ecs-svc/0", "status": "ACTIVE"})
    rollout = Rollout("c/web", "ecs-svc/2", "arn:td:2", 0.0)
    while advance_stages(sim, service, service.deployments[0], rollout, 0.0) != "complete":
        pass
    assert sim.lifecycle["ecs-svc/2"][0] == "RECONCILE_SERVICE"
    assert _play(config).lifecycle["ecs-svc/2"][0] == "PRE_SCALE_UP"


@pytest.mark.parametrize(
    ("hook", "refusal"),
    [
        ({"hookTargetArn": HOOK, "roleArn": "r", "lifecycleStages": ["BEFORE_INSTALL"]},
         "BEFORE_INSTALL is not a valid lifecycle stage: " + ", ".join(HOOK_STAGES) + "."),
        ({"targetType": "PAUSE", "lifecycleStages": ["PRODUCTION_TRAFFIC_SHIFT"]},
         "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT "
         "stages."),
    ],
)  # fmt: skip
def test_the_strict_sandbox_refuses_a_stage_the_model_does_not_allow(hook, refusal):
    balancer = {"targetGroupArn": "tg/1", "advancedConfiguration": {
        "alternateTargetGroupArn": "tg/2", "productionListenerRule": "rule", "roleArn": "r"}}  # fmt: skip
    config = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": [hook]}
    assert strategy_problem(config, [balancer]) == refusal
