"""Berth's verification of a new revision through the test listener: what to call, and what the
answers mean for ECS (SUCCEEDED, FAILED with the reason, IN_PROGRESS while the product starts).

Pure: the flow makes the calls (chalicelib.adapters.http) and passes their answers in.

WSO2 facts (docs/wso2.md, "Start-up and sizing"): APIM is ready when the gateway's startup
health check (`/api/am/gateway/v2/server-startup-healthcheck`, helm-apim's readiness probe)
answers 200, which takes about 3 minutes; MI is ready when `/healthz` answers 200, "not-ready
while any CApp is faulty" (helm-mi's readiness probe), in 15-35 s. While either starts, the
listener answers 502, 503 or 504, or the connection fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

HookStatus = Literal["SUCCEEDED", "FAILED", "IN_PROGRESS"]
# ECS's own default between IN_PROGRESS invocations (ECS developer guide, "Lambda hooks for Amazon
# ECS service deployments": "By default, the delay is 30 seconds").
CALL_BACK_DELAY = 30
STARTING = frozenset({502, 503, 504})
EXCERPT = 200
# Kept for writing the record and answering ECS after the last call; the hook's function timeout
# must cover both calls at the spec's longest verify.timeout plus this (berth/package.py checks).
ANSWER_MARGIN_SECONDS = 10
REDACTED = "[secret redacted]"


@dataclass(frozen=True)
class Check:
    """One HTTP call to make through the test listener."""

    name: Literal["health", "smoke"]
    method: str
    path: str
    expected: int
    header: str | None = None
    """The name of a header whose value is the secret `secret`."""
    secret: str | None = None


@dataclass(frozen=True)
class Answer:
    """What one call got: a status (None when no HTTP answer came), its latency, the start of
    its body, or the error that stopped it."""

    status: int | None
    milliseconds: int
    body: str = ""
    error: str = ""


@dataclass(frozen=True)
class Verdict:
    status: HookStatus
    reason: str
    call_back_delay: int | None = None


def checks_of(details: dict[str, Any]) -> list[Check]:
    """The calls a service's hookDetails ask for (chalicelib.rendering.strategies.hook_details)."""
    checks: list[Check] = []
    if details.get("health"):
        checks.append(Check("health", "GET", str(details["health"]), 200))
    smoke = details.get("smoke")
    if isinstance(smoke, dict):
        header = smoke.get("header") or {}
        checks.append(Check(
            "smoke", str(smoke.get("method", "GET")), str(smoke["path"]),
            int(smoke.get("status", 200)), header.get("name"), header.get("secret"),
        ))  # fmt: skip
    return checks


def redacted(answer: Answer, secrets: list[str]) -> Answer:
    """`answer` with every occurrence of a secret value in its body and error replaced."""
    body, error = answer.body, answer.error
    for value in sorted(filter(None, secrets), key=len, reverse=True):
        body, error = body.replace(value, REDACTED), error.replace(value, REDACTED)
    return Answer(answer.status, answer.milliseconds, body, error)


def excerpt(body: str) -> str:
    """The start of a body, on one line."""
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


def describe(check: Check, answer: Answer) -> str:
    """One line per call: what was called, what came back, how fast, what it said."""
    got = str(answer.status) if answer.status is not None else answer.error or "no answer"
    line = f"{check.name} {check.method} {check.path}: {got}"
    if answer.status is not None and answer.status != check.expected:
        line += f" (expected {check.expected})"
    line += f" in {answer.milliseconds} ms"
    if answer.status is not None and answer.status != check.expected and answer.body:
        line += f": {excerpt(answer.body)}"
    return line


def _starting(answer: Answer) -> bool:
    return answer.status is None or answer.status in STARTING


def verdict(
    results: list[tuple[Check, Answer]],
    *,
    first_seen: datetime,
    now: datetime,
    startup_minutes: int,
) -> Verdict:
    """SUCCEEDED when every call got its status; IN_PROGRESS while the product may still be
    starting (no answer, or 502/503/504, within `startup_minutes` of the first invocation);
    FAILED otherwise, with what each failing call got."""
    failing = [(c, a) for c, a in results if a.status != c.expected]
    if not failing:
        return Verdict("SUCCEEDED", "; ".join(describe(c, a) for c, a in results))
    reason = "; ".join(describe(c, a) for c, a in failing)
    # Until the product's own health check passes, the smoke call says nothing; once it passes,
    # an API that answers (other than 502/503/504) with the wrong status is broken: that is the
    # answer, with no waiting.
    health_failing = any(c.name == "health" for c, _ in failing)
    still_starting = health_failing or all(_starting(a) for _, a in failing)
    within = now - first_seen < timedelta(minutes=startup_minutes)
    if still_starting and within:
        return Verdict("IN_PROGRESS", f"still starting: {reason}", CALL_BACK_DELAY)
    if still_starting:
        reason = f"not ready after {startup_minutes} min: {reason}"
    return Verdict("FAILED", reason)
