"""What a blue/green, canary or linear deployment's events mean for its record: which stage it
failed in and why (Berth's own verification, or a deployment alarm), and the line each event adds
to the record's lifecycle (`DeploymentRecord.stages`). Pure."""

from __future__ import annotations

import dataclasses
import re
from typing import TypeVar

from chalicelib.values.events import EcsDeploymentStateChange
from chalicelib.values.records import DeploymentRecord

from .transitions import Conclude, RollBack

# The line Berth's hook writes (flows/verify.py): "<STAGE>: verification failed: <reason>".
VERIFICATION_FAILED = re.compile(r"^(?P<stage>[A-Z_]+): verification failed: ")
# The line the approval gate writes when its deadline passes (flows/approval.py).
APPROVAL_FAILED = re.compile(r"^(?P<stage>[A-Z_]+): approval failed: (?P<reason>.*)$")
# An alarm named in ECS's reason. AWS's wording of an alarm-failed deployment was not found in a
# public source; the sandbox says "ECS deployment alarm <name> is in ALARM state during <stage>."
# (berth/sandbox/ecs_sim/strategies.py). DescribeServiceDeployments' alarms.triggeredAlarmNames
# would be the authoritative source (not read yet: issue 18, follow-up).
ALARM = re.compile(r"alarm (?P<alarm>[^\s,]+) is in ALARM state(?: during (?P<stage>[A-Z_]+))?")
BEFORE_PRODUCTION = ("PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
                     "POST_TEST_TRAFFIC_SHIFT")  # fmt: skip


def failure_reason(record: DeploymentRecord, event_reason: str) -> str | None:
    """Why the deployment failed, naming the stage, when Berth's verification, its approval gate
    or an alarm failed it; None when none did (the circuit breaker's own reason stands)."""
    last = record.stages[-1] if record.stages else ""
    found = VERIFICATION_FAILED.match(last)
    if found is not None:
        stage = found["stage"]
        before = ", before production traffic moved" if stage in BEFORE_PRODUCTION else ""
        return f"Berth's verification failed at {stage}{before}: {record.verification}"
    unapproved = APPROVAL_FAILED.match(last)
    if unapproved is not None:
        stage = unapproved["stage"]
        before = ", before production traffic moved" if stage in BEFORE_PRODUCTION else ""
        return f"Berth's approval gate failed at {stage}{before}: {unapproved['reason']}"
    alarm = ALARM.search(event_reason)
    if alarm is not None:
        during = f" during {alarm['stage']}" if alarm["stage"] else ""
        return f"deployment alarm {alarm['alarm']} went into ALARM{during}"
    return None


Step = TypeVar("Step", bound=RollBack | Conclude)


def explained(step: Step, record: DeploymentRecord, event: EcsDeploymentStateChange) -> Step:
    """`step` with the failure's stage and cause as its reason, where Berth knows them."""
    failing = isinstance(step, RollBack) or (
        isinstance(step, Conclude) and step.status in ("FAILED", "ROLLED_BACK")
    )
    if not failing:
        return step
    reason = failure_reason(record, event.detail.reason)
    if reason is None:
        return step
    # The tasks were healthy (the hook reached them; an alarm is about what they serve): the
    # stopped tasks and service events of earlier deployments would only mislead as causes.
    return dataclasses.replace(step, reason=reason, read_causes=False)


def stage_line(event: EcsDeploymentStateChange, record: DeploymentRecord, reason: str) -> str:
    """The line an event adds to the record's lifecycle."""
    detail = event.detail
    if detail.event_name == "SERVICE_DEPLOYMENT_FAILED":
        return f"failed: {reason or detail.reason}"
    if event.rollback_target is not None:
        return f"rolling back to {event.rollback_target}"
    if detail.event_name == "SERVICE_DEPLOYMENT_COMPLETED":
        own = detail.deployment_id == record.ecs_deployment_id
        return "completed" if own else f"rolled back ({detail.deployment_id} completed)"
    return detail.event_name


def with_line(record: DeploymentRecord, line: str) -> list[str]:
    """The record's lifecycle with `line` added once."""
    return list(record.stages) if line in record.stages else [*record.stages, line]
