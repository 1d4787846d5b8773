"""The roles ECS uses for blue/green, canary and linear deployments are scoped per environment
in the stage's configuration, its policy (iam:PassRole only to ecs.amazonaws.com) and the
template, and the hook role may invoke only Berth's verification hook."""

from __future__ import annotations

import pytest

from berth.stages import stage_fence, stage_variables
from chalicelib.spec.fence import environment_map
from tests.integration.test_fence_iam import policy, template_roles


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_environment_has_its_own_rollout_roles(stage):
    declared = environment_map(stage_variables(stage)["BERTH_ENVIRONMENT_ROLLOUT_ROLES"])
    assert declared == {
        env: [f"berth-ecs-lb-{stage}-{env}", f"berth-ecs-hook-{stage}-{env}"]
        for env in ("dev", "prod")
    }
    statement = policy(stage)["PassOnlyTheRolloutRoles"]
    assert statement["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}
    }
    passable = {arn.rsplit("/", 1)[-1] for arn in statement["Resource"]}
    every = {name for names in declared.values() for name in names}
    roles = template_roles(stage)
    assert passable == every == {n for n in roles if n.startswith("berth-ecs-")}
    for env in ("dev", "prod"):
        lb = roles[f"berth-ecs-lb-{stage}-{env}"]
        assert lb["ManagedPolicyArns"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/"
                                            "AmazonECSInfrastructureRolePolicyForLoadBalancers"}]
        hook = roles[f"berth-ecs-hook-{stage}-{env}"]
        for role in (lb, hook):
            [trust] = role["AssumeRolePolicyDocument"]["Statement"]
            assert trust["Principal"] == {"Service": "ecs.amazonaws.com"}
        [inline] = hook["Policies"]
        [grant] = inline["PolicyDocument"]["Statement"]
        assert grant["Action"] == "lambda:InvokeFunction"
        assert grant["Resource"]["Fn::Sub"].endswith(":function:berth-${Stage}-verify_rollout")
    assert stage_fence(stage, overrides={}).verify_hook == f"berth-{stage}-verify_rollout"
