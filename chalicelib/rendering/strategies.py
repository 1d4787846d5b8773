"""ECS's native deployment strategies (rolling, blue/green, canary, linear), deployment alarms and
Berth's verification hook, rendered into CreateService / UpdateService (`deploymentConfiguration`,
`loadBalancers[].advancedConfiguration`). Pure. The spec's rules for them are
`chalicelib.spec.rules.strategies`.

Sources: ECS API reference (DeploymentConfiguration, CanaryConfiguration, LinearConfiguration,
DeploymentLifecycleHook, DeploymentAlarms, AdvancedConfiguration; botocore's ecs service model),
ECS developer guide "Required resources for Amazon ECS blue/green deployments" (an Application or
Network Load Balancer with an alternate target group and listener rules, the deployment controller
ECS) and "Lifecycle hooks for Amazon ECS service deployments"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.spec.deployment import CIRCUIT_BREAKER_STRATEGIES
from chalicelib.spec.located import Path

if TYPE_CHECKING:
    from chalicelib.spec.deployment import Deployment, Verify
    from chalicelib.spec.fence import StageFence
    from chalicelib.spec.model import Spec
    from chalicelib.spec.networking import LoadBalancer

Problems = list[tuple[Path, str]]

# The spec's names for DeploymentConfiguration.strategy.
STRATEGIES = {"rolling": "ROLLING", "blue-green": "BLUE_GREEN", "canary": "CANARY",
              "linear": "LINEAR"}  # fmt: skip
# The stage at which ECS invokes Berth's hook: "The test traffic shift is complete. The green
# service revision handles 100% of the test traffic. The blue service revision handles 100% of
# the production traffic" (DeploymentLifecycleHook.lifecycleStages): the new revision is reachable
# through the test listener and has no production traffic yet.
VERIFY_STAGE = "POST_TEST_TRAFFIC_SHIFT"
# hookDetails: "custom parameters that Amazon ECS passes to your hook target invocations";
# CloudFormation's HookDetails "must be a JSON object as a string"; Berth keeps its own under one
# key, so that what the hook returns with IN_PROGRESS can sit beside it.
HOOK_DETAILS_KEY = "berth"


@dataclass(frozen=True)
class RolloutRoles:
    """What ECS needs from the stage for a non-rolling deployment: the infrastructure role it
    changes the load balancer's listener rules with (AdvancedConfiguration.roleArn), the role it
    invokes lifecycle hooks with (DeploymentLifecycleHook.roleArn) and Berth's hook function."""

    load_balancer_role_arn: str
    hook_role_arn: str
    hook_function_arn: str | None


def rollout_roles(
    fence: StageFence | None, environment: str, account: str, region: str
) -> RolloutRoles | None:
    """The environment's rollout roles as ARNs, when the stage declares them."""
    if fence is None or environment not in fence.rollout_roles:
        return None
    partition = "aws-cn" if region.startswith("cn-") else "aws"
    load_balancer, hook = fence.rollout_roles[environment]
    function = (
        f"arn:{partition}:lambda:{region}:{account}:function:{fence.verify_hook}"
        if fence.verify_hook
        else None
    )
    return RolloutRoles(
        f"arn:{partition}:iam::{account}:role/{load_balancer}",
        f"arn:{partition}:iam::{account}:role/{hook}",
        function,
    )


# ---- rendering ----------------------------------------------------------------------------------


def hook_details(spec: Spec, name: str, verify: Verify | None) -> dict[str, Any]:
    """What Berth's hook needs to verify one service (and to hold it at its approval gate),
    passed by ECS on each invocation."""
    svc = spec.services[name]
    approval = svc.deployment.approval
    if verify is None:
        return {HOOK_DETAILS_KEY: {
            "environment": spec.environment, "service": name, "product": svc.product,
            "approval": {"timeout": approval.timeout} if approval else None,
        }}  # fmt: skip
    smoke = verify.smoke
    details = {
        HOOK_DETAILS_KEY: {
            "environment": spec.environment,
            "service": name,
            "product": svc.product,
            "testUrl": verify.test_url,
            "health": verify.health or svc.preset.health_path,
            "smoke": smoke.model_dump(by_alias=True, exclude_none=True) if smoke else None,
            "timeout": verify.timeout,
            "startup": verify.startup,
        }
    }
    if approval is not None:
        details[HOOK_DETAILS_KEY]["approval"] = {"timeout": approval.timeout}
    return details


def circuit_breaker(deployment: Deployment) -> dict[str, Any] | None:
    """DeploymentConfiguration.deploymentCircuitBreaker, for the strategies AWS documents it for
    (CIRCUIT_BREAKER_STRATEGIES); None for the others."""
    if deployment.strategy not in CIRCUIT_BREAKER_STRATEGIES:
        return None
    breaker = deployment.circuit_breaker
    return {"enable": breaker.enable, "rollback": breaker.rollback}


def deployment_configuration(
    spec: Spec, name: str, roles: RolloutRoles | None
) -> dict[str, Any]:
    """The keys of DeploymentConfiguration a strategy or alarms add, the circuit breaker where
    AWS documents it; a plain rolling deployment renders only the breaker, as before."""
    deployment: Deployment = spec.services[name].deployment
    config: dict[str, Any] = {}
    if (breaker := circuit_breaker(deployment)) is not None:
        config["deploymentCircuitBreaker"] = breaker
    if deployment.strategy != "rolling":
        config["strategy"] = STRATEGIES[deployment.strategy]
    if deployment.bake_time is not None:
        config["bakeTimeInMinutes"] = deployment.bake_time
    if deployment.strategy == "canary":
        canary = deployment.canary
        config["canaryConfiguration"] = {
            "canaryPercent": canary.percent if canary else 5.0,
            "canaryBakeTimeInMinutes": canary.bake if canary else 10,
        }
    if deployment.strategy == "linear":
        linear = deployment.linear
        config["linearConfiguration"] = {
            "stepPercent": linear.step_percent if linear else 10.0,
            "stepBakeTimeInMinutes": linear.bake if linear else 6,
        }
    if deployment.alarms:
        config["alarms"] = {
            "alarmNames": list(deployment.alarms),
            "enable": True,
            "rollback": True,
        }
    verify = deployment.verify
    hooked = verify is not None or deployment.approval is not None
    if hooked and roles is not None and roles.hook_function_arn is not None:
        config["lifecycleHooks"] = [
            {
                "hookTargetArn": roles.hook_function_arn,
                "roleArn": roles.hook_role_arn,
                "lifecycleStages": [VERIFY_STAGE],
                "hookDetails": hook_details(spec, name, verify),
            }
        ]
    return config


def advanced_configuration(
    balancer: LoadBalancer, roles: RolloutRoles | None
) -> dict[str, Any] | None:
    """One load balancer's AdvancedConfiguration, when the spec gives its alternate target group
    (kept per load balancer, so a service with several renders one for each)."""
    if balancer.alternate_target_group_arn is None:
        return None
    config: dict[str, Any] = {"alternateTargetGroupArn": balancer.alternate_target_group_arn}
    if balancer.production_listener_rule is not None:
        config["productionListenerRule"] = balancer.production_listener_rule
    if balancer.test_listener_rule is not None:
        config["testListenerRule"] = balancer.test_listener_rule
    if roles is not None:
        config["roleArn"] = roles.load_balancer_role_arn
    return config


# ---- leaving a strategy -------------------------------------------------------------------------
# A rolling service renders no strategy, alarms or hooks (so that it renders as before), a canary
# or linear one no circuit breaker, and the live comparison only reads the keys rendered: without
# these, a spec that goes back to rolling (or drops its alarms, its verification, its load
# balancer's advanced configuration), or leaves rolling for canary, would look unchanged and never
# reach ECS, or keep a breaker AWS does not document for its strategy. Whether UpdateService keeps
# a DeploymentConfiguration member it is not sent is not documented: Berth resets them explicitly
# (a breaker turned off is not one "used": DeploymentCircuitBreaker.enable).
RESETS: dict[str, Any] = {
    "strategy": "ROLLING",
    "alarms": {"alarmNames": [], "enable": False, "rollback": False},
    "lifecycleHooks": [],
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
}


def _active(key: str, value: Any) -> bool:
    if key == "strategy":
        return value not in (None, "ROLLING")
    if key in ("alarms", "deploymentCircuitBreaker"):
        return bool(isinstance(value, dict) and value.get("enable"))
    return bool(value)


def left_behind(live: dict[str, Any] | None, wanted: dict[str, Any]) -> dict[str, Any]:
    """What the live DeploymentConfiguration still has that the rendered one dropped, as the
    values that reset it (empty when nothing is left behind)."""
    live = live or {}
    return {
        key: reset
        for key, reset in RESETS.items()
        if key not in wanted and _active(key, live.get(key))
    }


def advanced_left_behind(live: list[Any] | None, wanted: list[Any]) -> bool:
    """Does a live load balancer keep an advancedConfiguration the rendered ones dropped?"""
    kept = {
        str(b.get("targetGroupArn"))
        for b in live or []
        if isinstance(b, dict) and b.get("advancedConfiguration")
    }
    rendered = {
        str(b.get("targetGroupArn"))
        for b in wanted
        if isinstance(b, dict) and b.get("advancedConfiguration")
    }
    return bool(kept - rendered)
