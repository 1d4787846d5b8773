"""The deployment configurations ECS refuses for blue/green, canary and linear deployments.

Bake times, traffic percentages, the configuration of another strategy, lifecycle hooks without
target or role, load balancers without advancedConfiguration (`strategy_problem`).
"""

from __future__ import annotations

from typing import Any

# ECS API reference (botocore's ecs service model): DeploymentConfiguration.bakeTimeInMinutes "You
# must provide this parameter when you use the BLUE_GREEN deployment strategy"; canaryConfiguration
# and linearConfiguration "Only valid when the deployment strategy is CANARY" / "LINEAR";
# CanaryConfiguration.canaryPercent "multiples of 0.1 from 0.1 to 100.0", LinearConfiguration.
# stepPercent "multiples of 0.1 from 3.0 to 100.0", their bake times "0 to 1440 minutes";
# DeploymentLifecycleHook.hookTargetArn "You must provide this parameter when configuring an
# AWS_LAMBDA lifecycle hook"; AdvancedConfiguration (alternate target group, production listener
# rule, role: CloudFormation's AdvancedConfiguration marks AlternateTargetGroupArn and RoleArn
# required). ECS developer guide, "Required resources for Amazon ECS blue/green deployments": an
# Application or Network Load Balancer with an alternate target group and listener rules. AWS's
# refusal texts for these were not found in public reports: the wording below is the sandbox's
# own, in the style of AWS's InvalidParameterException messages.
NON_ROLLING = frozenset({"BLUE_GREEN", "CANARY", "LINEAR"})
# The strategies AWS documents the deployment circuit breaker for: "The deployment circuit breaker
# can only be used for services using the rolling update (ECS) deployment type" (ECS API
# reference, DeploymentCircuitBreaker); "Both methods only support rolling update deployment and
# blue/green deployment types" (ECS developer guide, "Amazon ECS deployment failure detection").
# For CANARY and LINEAR no AWS page documents it: the sandbox refuses a breaker turned on with
# them, in the API reference's words (whether ECS refuses, accepts or ignores it is not documented;
# refusing is at least as strict). A breaker turned off is not one used.
CIRCUIT_BREAKER_STRATEGIES = frozenset({"ROLLING", "BLUE_GREEN"})
BAKE_MAX = 1440


def _tenths(value: Any, low: float, high: float) -> bool:
    number = float(value)
    return low <= number <= high and abs(number * 10 - round(number * 10)) < 1e-9


def _bake_problem(name: str, value: Any) -> str | None:
    if value is not None and not 0 <= int(value) <= BAKE_MAX:
        return f"{name} must be between 0 and {BAKE_MAX}."
    return None


def _configuration_problem(config: dict[str, Any], strategy: str) -> str | None:
    breaker = config.get("deploymentCircuitBreaker") or {}
    if breaker.get("enable") and strategy not in CIRCUIT_BREAKER_STRATEGIES:
        return (
            "The deployment circuit breaker can only be used for services using the rolling "
            f"update (ECS) deployment type; {strategy} deployments fail on their alarms and "
            "lifecycle hooks."
        )
    if strategy == "BLUE_GREEN" and config.get("bakeTimeInMinutes") is None:
        return "bakeTimeInMinutes must be specified for the BLUE_GREEN deployment strategy."
    canary = config.get("canaryConfiguration")
    linear = config.get("linearConfiguration")
    if canary is not None and strategy != "CANARY":
        return "canaryConfiguration is only valid when the deployment strategy is CANARY."
    if linear is not None and strategy != "LINEAR":
        return "linearConfiguration is only valid when the deployment strategy is LINEAR."
    if canary is not None and "canaryPercent" in canary and not _tenths(
        canary["canaryPercent"], 0.1, 100.0
    ):
        return "canaryPercent must be a multiple of 0.1 between 0.1 and 100.0."
    if linear is not None and "stepPercent" in linear and not _tenths(
        linear["stepPercent"], 3.0, 100.0
    ):
        return "stepPercent must be a multiple of 0.1 between 3.0 and 100.0."
    return (
        _bake_problem("bakeTimeInMinutes", config.get("bakeTimeInMinutes"))
        or _bake_problem("canaryBakeTimeInMinutes", (canary or {}).get("canaryBakeTimeInMinutes"))
        or _bake_problem("stepBakeTimeInMinutes", (linear or {}).get("stepBakeTimeInMinutes"))
    )


# DeploymentLifecycleHookStage (botocore's ecs model), in its order; "PAUSE hooks cannot be
# configured at TEST_TRAFFIC_SHIFT or PRODUCTION_TRAFFIC_SHIFT stages. These stages are only valid
# for AWS_LAMBDA hooks" (DeploymentLifecycleHook.lifecycleStages). botocore does not check enums
# client-side, so ECS is the one that refuses another name (the wording is the sandbox's own).
HOOK_STAGES = (
    "RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
)  # fmt: skip
LAMBDA_ONLY_STAGES = ("TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")


def _stages_problem(hook: dict[str, Any]) -> str | None:
    for stage in hook.get("lifecycleStages") or []:
        if stage not in HOOK_STAGES:
            return f"{stage} is not a valid lifecycle stage: {', '.join(HOOK_STAGES)}."
        if hook.get("targetType") == "PAUSE" and stage in LAMBDA_ONLY_STAGES:
            return (
                "PAUSE hooks cannot be configured at TEST_TRAFFIC_SHIFT or "
                "PRODUCTION_TRAFFIC_SHIFT stages."
            )
    return None


def _hooks_problem(hooks: list[dict[str, Any]]) -> str | None:
    for hook in hooks:
        if problem := _stages_problem(hook):
            return problem
        if hook.get("targetType", "AWS_LAMBDA") == "AWS_LAMBDA":
            if not hook.get("hookTargetArn"):
                return "hookTargetArn must be specified for an AWS_LAMBDA lifecycle hook."
            if ":lambda:" not in str(hook["hookTargetArn"]):
                return f"hookTargetArn {hook['hookTargetArn']} is not a Lambda function ARN."
            if not hook.get("roleArn"):
                return "roleArn must be specified for an AWS_LAMBDA lifecycle hook."
        if not hook.get("lifecycleStages"):
            return "lifecycleStages must contain at least one stage."
    return None


def _balancers_problem(balancers: list[dict[str, Any]], strategy: str) -> str | None:
    for balancer in balancers:
        advanced = balancer.get("advancedConfiguration")
        if advanced is None:
            if strategy in NON_ROLLING:
                return (
                    f"advancedConfiguration must be specified for each load balancer of a "
                    f"service using the {strategy} deployment strategy."
                )
            continue
        for key in ("alternateTargetGroupArn", "productionListenerRule", "roleArn"):
            if not advanced.get(key):
                return f"advancedConfiguration.{key} must be specified."
        if advanced["alternateTargetGroupArn"] == balancer.get("targetGroupArn"):
            return "The alternate target group must be different from the target group."
    return None


def strategy_problem(
    config: dict[str, Any] | None, balancers: list[dict[str, Any]] | None
) -> str | None:
    """Why AWS refuses this deployment configuration and these load balancers (ECS's
    blue/green, canary and linear deployments); None when it accepts them."""
    config = config or {}
    strategy = str(config.get("strategy") or "ROLLING")
    problem = _configuration_problem(config, strategy)
    if problem:
        return problem
    if strategy in NON_ROLLING and not balancers:
        # Berth's sandbox plays traffic shifting through a load balancer only (Service Connect
        # blue/green is not played): without one, ECS would shift no traffic.
        return f"The {strategy} deployment strategy requires a load balancer in this sandbox."
    return _hooks_problem(config.get("lifecycleHooks") or []) or _balancers_problem(
        balancers or [], strategy
    )
