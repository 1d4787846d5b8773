"""What the simulated scheduler remembers of each deployment and one-off task it plays out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rollout:
    """A deployment the scheduler announced, until it completes or fails."""

    service_key: str
    deployment_id: str
    task_definition: str
    announced_at: float
    rollback_of: str | None = None
    rollback_to: str | None = None
    done: bool = False
    # A blue/green, canary or linear deployment's progress: the stage it is in, when it may move
    # on (a hook's callBackDelay, a bake time), what its hooks passed, how much production
    # traffic green has.
    stage: int = 0
    due_at: float | None = None
    hook_details: Any = None
    hooks_passed: set[tuple[str, int]] = field(default_factory=set)
    production: float = 0.0
    baked: bool = False


@dataclass


class OneOff:
    """A task RunTask started, to be played to its end."""

    cluster: str
    task_arn: str
    task_definition: str
    started_at: float
    done: bool = False

