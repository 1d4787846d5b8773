"""How long ECS may take to carry a deployment out by its strategy: the minutes Berth waits on top
of the stage's rollout timeout before it calls a rollout stuck.

A rolling deployment is done once the new tasks are steady: the stage's timeout
(BERTH_ROLLOUT_TIMEOUT_MINUTES) covers it. Blue/green, canary and linear deployments go on by
ECS's schedule after that, and the sweep must not call them stuck while ECS is within it:

- blue/green: production traffic moves at once, then ECS keeps both revisions for
  `bakeTimeInMinutes` ("The time period when both blue and green service revisions are running
  simultaneously after the production traffic has shifted": ECS API reference,
  DeploymentConfiguration);
- canary: `canaryBakeTimeInMinutes` between the canary's shift and the rest's, then the
  deployment's bake time (ECS API reference, CanaryConfiguration);
- linear: `stepBakeTimeInMinutes` between steps, "not applied after reaching 100 percent
  traffic" (ECS API reference, LinearConfiguration), then the deployment's bake time. The number
  of waits is CloudFormation's own count for the same schedule: (100 / stepPercent) - 1 when the
  step divides 100, else floor(100 / stepPercent) (CloudFormation template reference,
  AWS::ECS::Service LinearConfiguration), i.e. ceil(100 / stepPercent) - 1 shifts after the first;
- a lifecycle hook holds the deployment at POST_TEST_TRAFFIC_SHIFT while Berth's hook answers
  IN_PROGRESS: up to `verify.startup` minutes verifying and `approval.timeout` waiting for a
  person (docs/spec.md).

AWS documents no default bake time for canary and linear deployments given none: the schedule
then counts ECS's largest (1440 minutes, "Valid values are 0 to 1440 minutes"), so a missing
value never makes Berth give up early; give `bakeTime` to keep the sweep's wait short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from chalicelib.spec.deployment import BAKE_MINUTES, Deployment

# ECS's defaults when the spec gives a canary or linear block without values (the spec model's
# own defaults, quoted from CanaryConfiguration and LinearConfiguration).
CANARY_BAKE_DEFAULT = 10
LINEAR_STEP_DEFAULT, LINEAR_BAKE_DEFAULT = 10.0, 6


@dataclass(frozen=True)
class Schedule:
    """The minutes of a deployment's strategy beyond its tasks' start, by what takes them."""

    hooks: int = 0
    traffic: int = 0
    bake: int = 0

    @property
    def minutes(self) -> int:
        return self.hooks + self.traffic + self.bake


def linear_waits(step_percent: float) -> int:
    """How many step bakes a linear deployment waits: one between each two shifts."""
    # In tenths, as ECS takes the percentage, so that 100 / 12.5 is exact.
    return math.ceil(1000 / round(step_percent * 10)) - 1


def schedule(deployment: Deployment) -> Schedule:
    """What a deployment's strategy adds to the time its tasks take to be steady."""
    if deployment.strategy == "rolling":
        return Schedule()
    hooks = 0
    if deployment.verify is not None:
        hooks += deployment.verify.startup
    if deployment.approval is not None:
        hooks += deployment.approval.timeout
    traffic = 0
    if deployment.strategy == "canary":
        traffic = deployment.canary.bake if deployment.canary else CANARY_BAKE_DEFAULT
    elif deployment.strategy == "linear":
        linear = deployment.linear
        step = linear.step_percent if linear else LINEAR_STEP_DEFAULT
        traffic = linear_waits(step) * (linear.bake if linear else LINEAR_BAKE_DEFAULT)
    bake = deployment.bake_time if deployment.bake_time is not None else BAKE_MINUTES
    return Schedule(hooks=hooks, traffic=traffic, bake=bake)


def deadline_minutes(deployment: Deployment, margin_minutes: int) -> int:
    """Minutes after its start before a deployment with no outcome is stuck: the stage's rollout
    timeout (the margin for tasks to start and settle) plus the strategy's schedule."""
    return margin_minutes + schedule(deployment).minutes
