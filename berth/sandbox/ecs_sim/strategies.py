"""Blue/green, canary and linear deployments as ECS plays them, and deployment alarms.

A deployment whose deploymentConfiguration.strategy is BLUE_GREEN, CANARY or LINEAR goes through
ECS's lifecycle stages (scale up green, test traffic, production traffic in one step, a canary
step or linear steps, bake time, clean up), invokes the lifecycle hooks configured for each stage
with ECS's payload and honours their answers (SUCCEEDED, FAILED, IN_PROGRESS with callBackDelay),
and fails when a hook fails or a deployment alarm is in ALARM (alarms are CloudWatch alarms of
the sandbox, fired on demand); rolling deployments fail on alarms too. What follows a failure
(FAILED, the rollback) is the scheduler's: these functions say what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from moto.moto_api._internal import mock_random

from berth.sandbox.ecs_sim.progress import Rollout

# The stages of a blue/green, canary or linear deployment, in order: every stage of botocore's ecs
# model, the hook stages (DeploymentLifecycleHookStage: RECONCILE_SERVICE, PRE_SCALE_UP,
# POST_SCALE_UP, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, PRE_PRODUCTION_TRAFFIC_SHIFT,
# PRODUCTION_TRAFFIC_SHIFT, POST_PRODUCTION_TRAFFIC_SHIFT, in the order DeploymentLifecycleHook.
# lifecycleStages lists them) and those DescribeServiceDeployments reports
# (ServiceDeploymentLifecycleStage adds SCALE_UP, BAKE_TIME and CLEAN_UP), merged in the order both
# enums and the ECS developer guide's "Lifecycle hooks for Amazon ECS service deployments" give.
# Each stage's rule, from DeploymentLifecycleHook.lifecycleStages:
# - RECONCILE_SERVICE "only happens when you start a new service deployment with more than 1
#   service revision in an ACTIVE state" (played only then);
# - PRE_SCALE_UP "The green service revision has not started"; POST_SCALE_UP "has started";
# - TEST_TRAFFIC_SHIFT "The green service revision is migrating from 0% to 100% of test traffic";
#   POST_TEST_TRAFFIC_SHIFT "The test traffic shift is complete";
# - PRE_PRODUCTION_TRAFFIC_SHIFT "Occurs before production traffic shift. For linear and canary
#   deployments, this stage is invoked before every traffic shift step";
# - PRODUCTION_TRAFFIC_SHIFT "For linear and canary deployments, this stage is invoked at every
#   traffic shift step"; POST_PRODUCTION_TRAFFIC_SHIFT "The production traffic shift is complete";
# - BAKE_TIME: bakeTimeInMinutes, "both blue and green service revisions are running
#   simultaneously after the production traffic has shifted" (DeploymentConfiguration); CLEAN_UP.
STAGES = (
    "RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP",
)  # fmt: skip
# The stages ECS reports as a service deployment's lifecycleStage (ServiceDeploymentLifecycleStage:
# no PRE_PRODUCTION_TRAFFIC_SHIFT, which the sandbox reports as the stage before it); those a hook
# may name are strict_ecs.strategies.HOOK_STAGES.
REPORTED_STAGES = tuple(s for s in STAGES if s != "PRE_PRODUCTION_TRAFFIC_SHIFT")
# The stages played again before and at each production traffic step of a canary or linear one.
STEP_STAGES = ("PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT")
# "IN_PROGRESS - Amazon ECS invokes the function again after a delay. By default, the delay is 30
# seconds" (ECS developer guide, "Lambda hooks for Amazon ECS service deployments").
HOOK_DEFAULT_DELAY = 30
HOOK_STATUSES = frozenset({"SUCCEEDED", "FAILED", "IN_PROGRESS"})
HookInvoker = Callable[[str, dict[str, Any]], Any]
"""Invoke a Lambda function by ARN with a payload; its answer (raises when the invocation fails)."""


class Simulator(Protocol):
    """What the strategies read and record of the simulated ECS (scheduler.SimulatedEcs)."""

    account: str
    region: str
    invoke_hook: HookInvoker | None
    time_scale: float
    shortest_wait: float
    lifecycle: dict[str, list[str]]
    hook_invocations: list[dict[str, Any]]
    traffic: dict[str, list[float]]


@dataclass(frozen=True)


class Failure:
    """Why a deployment failed (a hook, an alarm), who says so, and whether to roll back."""

    reason: str
    by: str
    roll_back: bool
    alarm: str | None = None
    """The deployment alarm in ALARM, when one failed it (ServiceDeploymentAlarms.
    triggeredAlarmNames)."""


Outcome = Literal["waiting", "complete"] | Failure
"""Where `advance_stages` leaves a deployment."""


def configuration(service: Any) -> dict[str, Any]:
    return dict(getattr(service, "deployment_configuration", None) or {})


def strategy_of(service: Any) -> str:
    return str(configuration(service).get("strategy") or "ROLLING")


def alarm_in_alarm(sim: Simulator, service: Any) -> str | None:
    """The first deployment alarm of the service in ALARM state (DeploymentAlarms: "When
    the alarms are generated, Amazon ECS sets the service deployment to failed")."""
    from moto.cloudwatch.models import cloudwatch_backends

    alarms = configuration(service).get("alarms") or {}
    if not alarms.get("enable"):
        return None
    known = cloudwatch_backends[sim.account][sim.region].alarms
    for name in alarms.get("alarmNames") or []:
        alarm = known.get(name)
        if alarm is not None and alarm.state_value == "ALARM":
            return str(name)
    return None


def alarm_failure(service: Any, alarm: str, stage: str) -> Failure:
    # AWS's wording for an alarm-failed deployment was not found in public reports: the
    # sandbox's own, naming the alarm as DescribeServiceDeployments' triggeredAlarmNames does.
    during = f" during {stage}" if stage else ""
    reason = f"ECS deployment alarm {alarm} is in ALARM state{during}."
    roll_back = bool((configuration(service).get("alarms") or {}).get("rollback"))
    return Failure(reason, by="ECS deployment alarms", roll_back=roll_back, alarm=alarm)


def _revision_arn(sim: Simulator, service: Any, deployment: dict[str, Any]) -> str:
    number = str(deployment["id"]).rsplit("/", 1)[-1]
    return (
        f"arn:aws:ecs:{sim.region}:{sim.account}:service-revision/"
        f"{service.cluster_name}/{service.name}/{number}"
    )


def _hook_payload(
    sim: Simulator, service: Any, deployment: dict[str, Any], stage: str, rollout: Rollout, *,
    hook: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """What ECS passes a lifecycle hook (ECS developer guide, "Lifecycle hooks for Amazon ECS
    service deployments", Lifecycle payloads: serviceArn, targetServiceRevisionArn,
    testTrafficWeights and productionTrafficWeights, maps of service revision ARN to
    percentage; under executionDetails, beside the stage, the service deployment and the
    hookDetails configured or returned with IN_PROGRESS, "Lambda hooks for Amazon ECS service
    deployments")."""
    green = _revision_arn(sim, service, deployment)
    previous = next((d for d in service.deployments if d["status"] == "ACTIVE"), None)
    blue = _revision_arn(sim, service, previous) if previous else None
    tested = STAGES.index(stage) >= STAGES.index("TEST_TRAFFIC_SHIFT")
    test = {green: 100} if tested else ({blue: 100} if blue else {})
    production = {green: rollout.production}
    if blue is not None:
        production[blue] = 100 - rollout.production
    number = str(deployment["id"]).rsplit("/", 1)[-1]
    return {
        "executionDetails": {
            "testTrafficWeights": test,
            "productionTrafficWeights": production,
            "serviceArn": service.arn,
            "targetServiceRevisionArn": green,
        },
        "executionId": str(mock_random.uuid4()),
        "lifecycleStage": stage,
        "resourceArn": (
            f"arn:aws:ecs:{sim.region}:{sim.account}:service-deployment/"
            f"{service.cluster_name}/{service.name}/{number}"
        ),
        "hookDetails": rollout.hook_details
        if rollout.hook_details is not None
        else hook.get("hookDetails"),
    }


def _invoke(sim: Simulator, hook: dict[str, Any], payload: dict[str, Any]) -> Any:
    answer: Any = None
    if sim.invoke_hook is not None:
        try:
            answer = sim.invoke_hook(str(hook.get("hookTargetArn")), payload)
        except Exception as exc:  # the function failed: ECS rolls back
            answer = {"error": f"{type(exc).__name__}: {exc}"}
    sim.hook_invocations.append(
        {"function": hook.get("hookTargetArn"), "payload": payload, "answer": answer}
    )
    return answer


def _production_steps(service: Any) -> tuple[list[float], int]:
    """The production traffic percentages green gets, and the minutes between steps
    (CanaryConfiguration, LinearConfiguration: defaults 5.0/10 and 10.0/6)."""
    config = configuration(service)
    strategy = strategy_of(service)
    if strategy == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        return [float(canary.get("canaryPercent", 5.0)), 100.0], int(
            canary.get("canaryBakeTimeInMinutes", 10)
        )
    if strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step = float(linear.get("stepPercent", 10.0))
        steps = [min(100.0, round(step * i, 1)) for i in range(1, int(100 // step) + 2)]
        return sorted(set(steps)), int(linear.get("stepBakeTimeInMinutes", 6))
    return [100.0], 0


def _wait(sim: Simulator, rollout: Rollout, now: float, seconds: float) -> None:
    rollout.due_at = now + max(seconds * sim.time_scale, sim.shortest_wait)
    rollout.done = False


def reported_stage(visited: list[str]) -> str | None:
    """The lifecycleStage DescribeServiceDeployments reports after these stages: the last one
    ServiceDeploymentLifecycleStage has."""
    return next((s for s in reversed(visited) if s in REPORTED_STAGES), None)


def _reconciling(service: Any) -> bool:
    # "with more than 1 service revision in an ACTIVE state": the revisions still running beside
    # the new one (a deployment started while another was under way).
    return sum(1 for d in service.deployments if d.get("status") == "ACTIVE") > 1


def _run_hooks(
    sim: Simulator, service: Any, deployment: dict[str, Any], rollout: Rollout, now: float, *,
    stage: str,
) -> Outcome | None:  # fmt: skip
    """Invoke the hooks configured for `stage` that have not passed it (at this production
    traffic step, for STEP_STAGES); None when they all passed."""
    hooks = list(configuration(service).get("lifecycleHooks") or [])
    step = len(sim.traffic.get(deployment["id"]) or []) if stage in STEP_STAGES else 0
    for index, hook in enumerate(hooks):
        if stage not in (hook.get("lifecycleStages") or []):
            continue
        key = (f"{stage}#{step}", index)
        if key in rollout.hooks_passed:
            continue
        answer = _invoke(sim, hook, _hook_payload(sim, service, deployment, stage, rollout,
                                                  hook=hook))  # fmt: skip
        status = answer.get("hookStatus") if isinstance(answer, dict) else None
        if status == "IN_PROGRESS":
            rollout.hook_details = answer.get("hookDetails", rollout.hook_details)
            _wait(sim, rollout, now, float(answer.get("callBackDelay") or HOOK_DEFAULT_DELAY))
            return "waiting"
        if status != "SUCCEEDED":
            return _hook_failure(hook, stage, status)
        rollout.hooks_passed.add(key)
        rollout.hook_details = None
    return None


def advance_stages(
    sim: Simulator, service: Any, deployment: dict[str, Any], rollout: Rollout, now: float
) -> Outcome:
    """Move a blue/green, canary or linear deployment on from where it waits: "waiting" (for a
    hook's callBackDelay or a bake time), "complete", or the Failure the scheduler acts on."""
    visited = sim.lifecycle.setdefault(deployment["id"], [])
    while rollout.stage < len(STAGES):
        stage = STAGES[rollout.stage]
        if stage == "RECONCILE_SERVICE" and not _reconciling(service):
            rollout.stage += 1
            continue
        if not visited or visited[-1] != stage:
            visited.append(stage)
        alarm = alarm_in_alarm(sim, service)
        if alarm is not None:
            return alarm_failure(service, alarm, stage)
        stopped = _run_hooks(sim, service, deployment, rollout, now, stage=stage)
        if stopped is not None:
            return stopped
        if stage == "PRODUCTION_TRAFFIC_SHIFT" and rollout.production < 100:
            steps, bake = _production_steps(service)
            rollout.production = next(p for p in steps if p > rollout.production)
            sim.traffic.setdefault(deployment["id"], []).append(rollout.production)
            if rollout.production < 100:
                # the next step goes through PRE_PRODUCTION_TRAFFIC_SHIFT again
                rollout.stage = STAGES.index("PRE_PRODUCTION_TRAFFIC_SHIFT")
                _wait(sim, rollout, now, bake * 60)
                return "waiting"
        if stage == "BAKE_TIME" and not rollout.baked:
            rollout.baked = True
            minutes = int(configuration(service).get("bakeTimeInMinutes") or 0)
            _wait(sim, rollout, now, minutes * 60)
            return "waiting"
        rollout.stage += 1
    rollout.due_at = None
    return "complete"


def _hook_failure(hook: dict[str, Any], stage: str, status: str | None) -> Failure:
    # "FAILED - Amazon ECS rolls back the deployment to the last successful service
    # revision"; "If your function doesn't return a valid hookStatus, or if it fails, Amazon
    # ECS rolls back the deployment" (ECS developer guide, Lambda hooks). The event's wording
    # is the sandbox's own (AWS's was not found in public reports).
    answered = f"returned {status}" if status else "did not return a valid hookStatus"
    reason = (
        f"ECS deployment lifecycle hook {hook.get('hookTargetArn')} {answered} at {stage}."
    )
    return Failure(reason, by="ECS deployment lifecycle hook", roll_back=True)
