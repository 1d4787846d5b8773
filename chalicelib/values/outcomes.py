"""What one event did to one service: the handlers' return value, and its one vocabulary."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools import Logger

from chalicelib.model import Model

from .records import TerminalStatus

logger = Logger(service="berth")

Action = Literal[
    "started",
    "pending",
    "completed",
    "failed",
    "rolled-back",
    "rolling-back",
    "timed-out",
    "skipped",
    "rejected",
    "ignored",
    "external",
    "superseded",
    "recorded",
    "warned",
    "retired",
]
# A record's terminal status and the outcome action that reports it: the one place they meet.
ACTION_OF: dict[TerminalStatus, Action] = {
    "COMPLETED": "completed",
    "FAILED": "failed",
    "ROLLED_BACK": "rolled-back",
    "TIMED_OUT": "timed-out",
    "SKIPPED": "skipped",
    "REJECTED": "rejected",
    "SUPERSEDED": "superseded",
}


class Outcome(Model):
    """One event's effect on one service, as the handler returns it and the replay prints it."""

    action: Action
    environment: str | None = None
    service: str | None = None
    reason: str = ""
    record_id: str | None = None
    ecs_deployment_id: str | None = None
    task_definition_arn: str | None = None


def ignored(reason: str, environment: str | None = None, service: str | None = None) -> Outcome:
    logger.info("ignored", extra={"reason": reason, "environment": environment, "service": service})
    return Outcome(action="ignored", environment=environment, service=service, reason=reason)


def retired(environment: str, service: str, reason: str) -> Outcome:
    return Outcome(action="retired", environment=environment, service=service, reason=reason)


def warned(environment: str, service: str | None, reason: str) -> Outcome:
    return Outcome(action="warned", environment=environment, service=service, reason=reason)
