"""What a stage lets a spec reach, declared by the operator outside specs (the stage's
configuration, deployed with the stack) and enforced before any AWS call: a spec naming a role
the stage's iam:PassRole does not cover, or a repository its ECR statements do not cover, would
otherwise validate and fail with AccessDenied halfway through a deployment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .yamlsource import Path

if TYPE_CHECKING:
    from .spec import Spec

ROLE_FIELDS = ("executionRoleArn", "taskRoleArn")


@dataclass(frozen=True)
class StageFence:
    """Role names the stage may pass to ECS tasks, and the ECR repositories it may deploy."""

    roles: frozenset[str]
    repositories: frozenset[str]


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def fence_problems(spec: Spec, fence: StageFence) -> list[tuple[Path, str]]:
    """Each reference of `spec` outside the stage's fence, as (path, reason)."""
    problems: list[tuple[Path, str]] = []
    roles = ", ".join(sorted(fence.roles))
    for field, default in (
        ("executionRoleArn", spec.execution_role_arn),
        ("taskRoleArn", spec.task_role_arn),
    ):
        if default and _role_name(default) not in fence.roles:
            problems.append(((field,), f"role {_role_name(default)} is not one this stage may "
                                       f"pass to ECS tasks ({roles})"))  # fmt: skip
    for name, svc in spec.services.items():
        for field, own in (
            ("executionRoleArn", svc.execution_role_arn),
            ("taskRoleArn", svc.task_role_arn),
        ):
            if own and _role_name(own) not in fence.roles:
                problems.append(((("services", name, field)), f"role {_role_name(own)} is not "
                                 f"one this stage may pass to ECS tasks ({roles})"))  # fmt: skip
        if svc.image.repository not in fence.repositories:
            listed = ", ".join(sorted(fence.repositories))
            problems.append((("services", name, "image", "repository"),
                             f"{svc.image.repository!r} is not a repository this stage deploys "
                             f"from ({listed})"))  # fmt: skip
    return problems
