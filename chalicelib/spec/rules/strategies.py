"""The spec's rules for ECS's deployment strategies (rolling, blue/green, canary, linear), their
alarms and Berth's verification hook: what ECS takes with each, and what the stage must provide.

Sources: ECS API reference (DeploymentConfiguration, CanaryConfiguration, LinearConfiguration,
DeploymentLifecycleHook, AdvancedConfiguration; botocore's ecs service model), ECS developer guide
"Required resources for Amazon ECS blue/green deployments". Rendering them is
`chalicelib.rendering.strategies`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.deployment import CIRCUIT_BREAKER_STRATEGIES
from chalicelib.spec.fence import declared_in
from chalicelib.spec.located import Path
from chalicelib.spec.rules.fence import declared, secret_problems

if TYPE_CHECKING:
    from chalicelib.spec.deployment import Deployment
    from chalicelib.spec.fence import StageFence
    from chalicelib.spec.model import Service, Spec
    from chalicelib.spec.networking import LoadBalancer

Problems = list[tuple[Path, str]]
# What the operator adds to an environment for ECS's blue/green, canary and linear deployments.
ROLLOUT_ROLES = "{loadBalancer: <load balancer role>, hook: <hook role>}"


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
    if (
        "circuit_breaker" in deployment.model_fields_set
        and deployment.strategy not in CIRCUIT_BREAKER_STRATEGIES
    ):
        # chalicelib.spec.deployment.CIRCUIT_BREAKER_STRATEGIES: AWS documents the breaker
        # for rolling and blue/green deployments only.
        problems.append(((*at, "deployment", "circuitBreaker"), (
            f"not with {deployment.strategy}: ECS documents the deployment circuit breaker for "
            "rolling and blue/green deployments only (\"Both methods only support rolling "
            "update deployment and blue/green deployment types\", ECS developer guide, "
            "deployment failure detection); a canary or linear deployment fails on its alarms "
            "(deployment.alarms) and Berth's verification (deployment.verify)"
        )))  # fmt: skip
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
                f"({declared_in('rolloutRoles', env, fence.stage, value=ROLLOUT_ROLES)}; "
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
            if alternate is not None and allowed is not None and not declared(
                alternate, allowed.target_groups
            ):
                listed = ", ".join(sorted(allowed.target_groups)) or "none"
                problems.append(((*at, *where, "alternateTargetGroupArn"), (
                    f"not a target group of environment {env} ({listed}; "
                    f"{declared_in('network.targetGroups', env, fence.stage)})"
                )))  # fmt: skip
    return problems

