"""ECS's native deployment strategies (rolling, blue/green, canary, linear), deployment alarms and
Berth's verification hook: the spec's rules for them and their rendering into CreateService /
UpdateService (`deploymentConfiguration`, `loadBalancers[].advancedConfiguration`). Pure.

Sources: ECS API reference (DeploymentConfiguration, CanaryConfiguration, LinearConfiguration,
DeploymentLifecycleHook, DeploymentAlarms, AdvancedConfiguration; botocore's ecs service model),
ECS developer guide "Required resources for Amazon ECS blue/green deployments" (an Application or
Network Load Balancer with an alternate target group and listener rules, the deployment controller
ECS) and "Lifecycle hooks for Amazon ECS service deployments"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .fence import secret_problems
from .located import Path

if TYPE_CHECKING:
    from .fence import StageFence
    from .spec import Deployment, LoadBalancer, Service, Spec, Verify

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


def deployment_configuration(
    spec: Spec, name: str, roles: RolloutRoles | None
) -> dict[str, Any]:
    """The keys of DeploymentConfiguration a strategy or alarms add; none for a plain rolling
    deployment, so that such services render exactly as before."""
    deployment: Deployment = spec.services[name].deployment
    config: dict[str, Any] = {}
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


# ---- rules --------------------------------------------------------------------------------------


def _listener_kind(arn: str) -> str:
    return "an Application Load Balancer listener rule" if ":listener-rule/" in arn else (
        "a Network Load Balancer listener"
    )


def _load_balancer_problems(at: Path, svc: Service) -> Problems:
    """Each load balancer of a blue/green, canary or linear service needs its alternate target
    group and production listener rule: ECS shifts traffic on every one of them."""
    deployment = svc.deployment
    balancers = svc.target_groups()
    if not balancers:
        reason = (
            f"{deployment.strategy} deployments shift traffic between two target groups of a "
            "load balancer (ECS developer guide, blue/green deployments): add loadBalancer with "
            "targetGroupArn, alternateTargetGroupArn and productionListenerRule"
        )
        return [((*at, "deployment", "strategy"), reason)]
    problems: Problems = []
    for field, balancer in balancers:
        problems += _balancer_problems((*at, *field), deployment, balancer)
    return problems


def _balancer_problems(where: Path, deployment: Deployment, balancer: LoadBalancer) -> Problems:
    problems: Problems = []
    if balancer.alternate_target_group_arn is None:
        problems.append(((*where, "alternateTargetGroupArn"), (
            f"required for {deployment.strategy} deployments: the target group ECS registers "
            "the new (green) revision's tasks with, on the same load balancer"
        )))  # fmt: skip
    elif balancer.alternate_target_group_arn == balancer.target_group_arn:
        problems.append(((*where, "alternateTargetGroupArn"), (
            "is the same as targetGroupArn; blue and green need two target groups"
        )))  # fmt: skip
    if balancer.production_listener_rule is None:
        problems.append(((*where, "productionListenerRule"), (
            f"required for {deployment.strategy} deployments: the listener rule (ALB) or "
            "listener (NLB) ECS moves production traffic with"
        )))  # fmt: skip
    if deployment.verify is not None and balancer.test_listener_rule is None:
        problems.append(((*where, "testListenerRule"), (
            "required with deployment.verify: Berth verifies the new revision through the test "
            "listener before production traffic moves"
        )))  # fmt: skip
    rules = [r for r in (balancer.production_listener_rule, balancer.test_listener_rule) if r]
    if len(rules) == 2 and _listener_kind(rules[0]) != _listener_kind(rules[1]):
        problems.append(((*where, "testListenerRule"), (
            f"is {_listener_kind(rules[1])} but productionListenerRule is "
            f"{_listener_kind(rules[0])}; both belong to the same load balancer"
        )))  # fmt: skip
    if len(rules) == 2 and rules[0] == rules[1]:
        problems.append(((*where, "testListenerRule"), (
            "is the production listener rule; test traffic needs a rule of its own"
        )))  # fmt: skip
    return problems


def _rolling_problems(at: Path, svc: Service) -> Problems:
    """Fields that only non-rolling deployments use, given to a rolling one."""
    deployment = svc.deployment
    problems: Problems = []
    only = "only blue-green, canary and linear deployments use it; set deployment.strategy"
    if deployment.bake_time is not None:
        problems.append(((*at, "deployment", "bakeTime"), only))
    if deployment.verify is not None:
        problems.append(((*at, "deployment", "verify"), (
            "Berth verifies through ECS's lifecycle hooks and the test listener, which "
            "rolling deployments do not have; set deployment.strategy to blue-green, canary or "
            "linear"
        )))  # fmt: skip
    if deployment.approval is not None:
        problems.append(((*at, "deployment", "approval"), (
            "Berth holds a deployment for approval in ECS's lifecycle hooks, which rolling "
            "deployments do not have; set deployment.strategy to blue-green, canary or linear"
        )))  # fmt: skip
    for where, balancer in svc.target_groups():
        for field, value in (
            ("alternateTargetGroupArn", balancer.alternate_target_group_arn),
            ("productionListenerRule", balancer.production_listener_rule),
            ("testListenerRule", balancer.test_listener_rule),
        ):
            if value is not None:
                problems.append(((*at, *where, field), only))
    return problems


def _strategy_problems(at: Path, svc: Service) -> Problems:
    deployment = svc.deployment
    problems: Problems = []
    # "Only valid when the deployment strategy is CANARY" / "... is LINEAR"
    # (DeploymentConfiguration.canaryConfiguration, linearConfiguration).
    if deployment.canary is not None and deployment.strategy != "canary":
        problems.append(((*at, "deployment", "canary"), (
            "only valid with strategy: canary (ECS takes canaryConfiguration only for CANARY)"
        )))  # fmt: skip
    if deployment.linear is not None and deployment.strategy != "linear":
        problems.append(((*at, "deployment", "linear"), (
            "only valid with strategy: linear (ECS takes linearConfiguration only for LINEAR)"
        )))  # fmt: skip
    if deployment.strategy == "rolling":
        return problems + _rolling_problems(at, svc)
    if deployment.strategy == "blue-green" and deployment.bake_time is None:
        # bakeTimeInMinutes: "You must provide this parameter when you use the BLUE_GREEN
        # deployment strategy."
        problems.append(((*at, "deployment", "bakeTime"), (
            "required for blue-green: the minutes ECS keeps the old (blue) revision running "
            "after production traffic moved, to roll back to (0-1440)"
        )))  # fmt: skip
    problems += _load_balancer_problems(at, svc)
    verify = deployment.verify
    nothing = verify is not None and verify.health is None and verify.smoke is None
    if nothing and svc.preset.health_path is None:
        problems.append(((*at, "deployment", "verify"), (
            f"nothing to check for a {svc.product} service: give health (a path) or smoke "
            "(a request)"
        )))  # fmt: skip
    return problems


def strategy_problems(spec: Spec) -> Problems:
    """Every service's strategy, alarms and verification, as ECS and Berth's hook take them."""
    problems: Problems = []
    for name, svc in spec.services.items():
        at: Path = ("services", name)
        problems += _strategy_problems(at, svc)
        seen: set[str] = set()
        for i, alarm in enumerate(svc.deployment.alarms):
            if alarm in seen:
                problems.append(((*at, "deployment", "alarms", i), f"{alarm!r} is listed twice"))
            seen.add(alarm)
    return problems


def strategy_fence_problems(spec: Spec, fence: StageFence) -> Problems:
    """What the stage must provide for a spec's strategies: the environment's rollout roles, the
    verification hook, and alternate target groups of the environment."""
    env = spec.environment
    problems: Problems = []
    for name, svc in spec.services.items():
        at: Path = ("services", name)
        deployment = svc.deployment
        if deployment.strategy == "rolling":
            continue
        if env not in fence.rollout_roles:
            problems.append(((*at, "deployment", "strategy"), (
                f"environment {env} has no roles for {deployment.strategy} deployments: the "
                "operator declares ECS's load balancer and hook roles "
                f"(BERTH_ENVIRONMENT_ROLLOUT_ROLES={env}=<load balancer role>,<hook role>; "
                "infra/resources.yaml creates them)"
            )))  # fmt: skip
        if deployment.verify is not None and fence.verify_hook is None:
            problems.append(((*at, "deployment", "verify"), (
                "this stage has no verification hook (BERTH_VERIFY_HOOK_FUNCTION)"
            )))  # fmt: skip
        if deployment.approval is not None and fence.verify_hook is None:
            problems.append(((*at, "deployment", "approval"), (
                "this stage has no verification hook (BERTH_VERIFY_HOOK_FUNCTION), which holds "
                "deployments for approval"
            )))  # fmt: skip
        smoke = deployment.verify.smoke if deployment.verify else None
        if smoke is not None and smoke.header is not None:
            # The hook reads it with the stage's policy, which reads the environments' secrets
            # only: the same fence as the tasks' secrets.
            where: Path = (*at, "deployment", "verify", "smoke", "header", "secret")
            problems += secret_problems(where, smoke.header.secret, fence, env)
        allowed = fence.networks.get(env)
        for where, balancer in svc.target_groups():
            alternate = balancer.alternate_target_group_arn
            if alternate is not None and allowed is not None and not any(
                alternate == a or (a.endswith("*") and alternate.startswith(a[:-1]))
                for a in allowed.target_groups
            ):
                listed = ", ".join(sorted(allowed.target_groups)) or "none"
                problems.append(((*at, *where, "alternateTargetGroupArn"), (
                    f"not a target group of environment {env} ({listed}; "
                    "BERTH_ENVIRONMENT_TARGET_GROUPS)"
                )))  # fmt: skip
    return problems


# ---- leaving a strategy -------------------------------------------------------------------------
# A rolling service renders no strategy, alarms or hooks (so that it renders as before), and the
# live comparison only reads the keys rendered: without these, a spec that goes back to rolling
# (or drops its alarms, its verification, its load balancer's advanced configuration) would look
# unchanged and never reach ECS. Whether UpdateService keeps a DeploymentConfiguration member it
# is not sent is not documented: Berth resets them explicitly.
ROLLING_RESET: dict[str, Any] = {
    "strategy": "ROLLING",
    "alarms": {"alarmNames": [], "enable": False, "rollback": False},
    "lifecycleHooks": [],
}


def _active(key: str, value: Any) -> bool:
    if key == "strategy":
        return value not in (None, "ROLLING")
    if key == "alarms":
        return bool(isinstance(value, dict) and value.get("enable"))
    return bool(value)


def left_behind(live: dict[str, Any] | None, wanted: dict[str, Any]) -> dict[str, Any]:
    """What the live DeploymentConfiguration still has that the rendered one dropped, as the
    values that reset it (empty when nothing is left behind)."""
    live = live or {}
    return {
        key: reset
        for key, reset in ROLLING_RESET.items()
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
