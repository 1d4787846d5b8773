"""How ECS deploys a service: rolling, blue/green, canary or linear, with alarms, Berth's
verification and an approval gate."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
)

from .base import SecretArn, SpecModel

# Which strategies ECS documents the deployment circuit breaker for, in AWS's words:
# - ROLLING: "The deployment circuit breaker can only be used for services using the rolling update
#   (ECS) deployment type" (ECS API reference, DeploymentCircuitBreaker; botocore's ecs model,
#   DeploymentConfiguration.deploymentCircuitBreaker);
# - BLUE_GREEN: "Amazon ECS provides two methods for detecting deployment failures: Deployment
#   Circuit Breaker, CloudWatch Alarms [...] Both methods only support rolling update deployment
#   and blue/green deployment types" (ECS developer guide, "Amazon ECS deployment failure
#   detection", deployment-failure-detection.html). The API reference's "(ECS) deployment type"
#   is the ECS deployment controller, which ECS's own blue/green runs on (CODE_DEPLOY is the other);
# - CANARY, LINEAR: no AWS page documents it. Their pages name "CloudWatch alarms for automatic
#   rollback" and deployment lifecycle hooks as what fails such a deployment (ECS developer guide,
#   "Required resources for Amazon ECS canary deployments", canary-deployment-implementation.html,
#   and "... linear deployments", linear-deployment-implementation.html): not sent; use
#   `deployment.alarms` and `deployment.verify`.
CIRCUIT_BREAKER_STRATEGIES: frozenset[str] = frozenset({"rolling", "blue-green"})


class CircuitBreaker(SpecModel):
    enable: bool = True
    rollback: bool = True


# ---- deployment strategies (ECS API reference: DeploymentConfiguration, CanaryConfiguration,
# LinearConfiguration; limits quoted from botocore's ecs service model) ---------------------------
Strategy = Literal["rolling", "blue-green", "canary", "linear"]


# bakeTimeInMinutes, canaryBakeTimeInMinutes, stepBakeTimeInMinutes: "Valid values are 0 to 1440
# minutes (24 hours)".
BAKE_MINUTES = 1440


def _tenths(value: float) -> float:
    # canaryPercent and stepPercent: "Valid values are multiples of 0.1".
    if abs(value * 10 - round(value * 10)) > 1e-9:
        raise ValueError(f"{value} is not a multiple of 0.1 (ECS takes percentages in tenths)")
    return round(value, 1)


class Canary(SpecModel):
    """CanaryConfiguration: canaryPercent "from 0.1 to 100.0. The default value is 5.0";
    canaryBakeTimeInMinutes "The default value is 10"."""

    percent: Annotated[float, AfterValidator(_tenths)] = Field(default=5.0, ge=0.1, le=100.0)
    bake: int = Field(default=10, ge=0, le=BAKE_MINUTES, description="minutes")


class Linear(SpecModel):
    """LinearConfiguration: stepPercent "from 3.0 to 100.0. The default value is 10.0";
    stepBakeTimeInMinutes "The default value is 6"."""

    step_percent: Annotated[float, AfterValidator(_tenths)] = Field(default=10.0, ge=3.0, le=100.0)
    bake: int = Field(default=6, ge=0, le=BAKE_MINUTES, description="minutes")


# The longest a spec lets one verification call take; Berth's hook makes two (health, smoke), so
# its function timeout covers both and the time to answer (berth/package.py checks the stage).
VERIFY_TIMEOUT_MAX = 30
HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$"  # an HTTP token (RFC 9110, 5.6.2)


class VerifyHeader(SpecModel):
    """A request header whose value is a secret (Secrets Manager), read by the hook at run time."""

    name: str = Field(pattern=HEADER_NAME)
    secret: SecretArn


class VerifyRequest(SpecModel):
    """One HTTP call Berth's hook makes through the test listener, and the status it expects."""

    method: Literal["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] = "GET"
    path: str = Field(pattern=r"^/[\x21-\x7e]*$", max_length=2048)
    status: int = Field(default=200, ge=100, le=599)
    header: VerifyHeader | None = None


class Verify(SpecModel):
    """Berth's verification of the new revision before production traffic moves: run by Berth's
    lifecycle hook Lambda at POST_TEST_TRAFFIC_SHIFT, through the load balancer's test listener."""

    test_url: str = Field(pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$", max_length=300)
    health: str | None = Field(default=None, pattern=r"^/[\x21-\x7e]*$", max_length=2048)
    smoke: VerifyRequest | None = None
    timeout: int = Field(
        default=5, ge=1, le=VERIFY_TIMEOUT_MAX, description="seconds per request"
    )
    startup: int = Field(
        default=10, ge=0, le=60, description="minutes the product may still be starting"
    )


# Berth's approval deadline must come before ECS gives up on the hook itself: a lifecycle hook's
# timeoutInMinutes defaults to 1440 with action ROLLBACK (ECS API reference,
# DeploymentLifecycleHookTimeoutConfiguration), and the same hook may first spend up to
# verify.startup (60 min at most) verifying; 1320 min (22 h) leaves room for both.
APPROVAL_MINUTES = 1320


class Approval(SpecModel):
    """An approval gate: after verification passes (or at once, without verify), the deployment
    waits at POST_TEST_TRAFFIC_SHIFT until someone runs `berth approve`, and rolls back before
    production traffic moves when nobody has within `timeout` minutes."""

    timeout: int = Field(default=60, ge=1, le=APPROVAL_MINUTES, description="minutes")


class Deployment(SpecModel):
    minimum_healthy_percent: int = Field(default=100, ge=0, le=100)
    maximum_percent: int = Field(default=200, ge=100, le=200)
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    strategy: Strategy = "rolling"
    bake_time: int | None = Field(default=None, ge=0, le=BAKE_MINUTES, description="minutes")
    canary: Canary | None = None
    linear: Linear | None = None
    # CloudWatch alarm names (1-255 characters, CloudWatch PutMetricAlarm AlarmName); rendered as
    # deploymentConfiguration.alarms with rollback.
    alarms: list[Annotated[str, Field(min_length=1, max_length=255)]] = []
    verify: Verify | None = None
    approval: Approval | None = None
