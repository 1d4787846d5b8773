"""What a stage lets a spec reach, declared by the operator outside specs (the stage's
configuration, deployed with the stack) and enforced before any AWS call: a spec naming a role
the stage's iam:PassRole does not cover, or a repository its ECR statements do not cover, would
otherwise validate and fail with AccessDenied halfway through a deployment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .yamlsource import Path

if TYPE_CHECKING:
    from .spec import Spec

@dataclass(frozen=True)
class StageFence:
    """Role names the stage may pass to ECS tasks, the ECR repositories it may deploy, and each
    environment's clusters (empty: not declared, not checked)."""

    roles: frozenset[str]
    repositories: frozenset[str]
    clusters: dict[str, frozenset[str]] = field(default_factory=dict)


def environment_clusters(declared: str) -> dict[str, frozenset[str]]:
    """`dev=wso2-dev;prod=wso2-prod,wso2-prod-b` as environment -> clusters."""
    clusters: dict[str, frozenset[str]] = {}
    for entry in filter(None, (e.strip() for e in declared.split(";"))):
        environment, _, names = entry.partition("=")
        clusters[environment.strip()] = frozenset(n.strip() for n in names.split(",") if n.strip())
    return clusters


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _cluster_problems(spec: Spec, fence: StageFence) -> list[tuple[Path, str]]:
    if not fence.clusters:
        return []
    declared = fence.clusters.get(spec.environment)
    if declared is None:
        known = ", ".join(sorted(fence.clusters))
        return [(("environment",), f"{spec.environment!r} is not an environment of this stage "
                                   f"({known})")]  # fmt: skip
    if spec.cluster in declared:
        return []
    listed = ", ".join(sorted(declared))
    return [
        (
            ("cluster",),
            f"{spec.cluster!r} is not a cluster of environment {spec.environment} ({listed}): "
            "each environment deploys only to the clusters its stage declares",
        )
    ]


def _role_problem(path: Path, arn: str | None, fence: StageFence) -> list[tuple[Path, str]]:
    if arn is None or _role_name(arn) in fence.roles:
        return []
    roles = ", ".join(sorted(fence.roles))
    return [(path, f"role {_role_name(arn)} is not one this stage may pass to ECS tasks ({roles})")]


def fence_problems(spec: Spec, fence: StageFence) -> list[tuple[Path, str]]:
    """Each reference of `spec` outside the stage's fence, as (path, reason)."""
    problems = _cluster_problems(spec, fence)
    problems += _role_problem(("executionRoleArn",), spec.execution_role_arn, fence)
    problems += _role_problem(("taskRoleArn",), spec.task_role_arn, fence)
    for name, svc in spec.services.items():
        at: Path = ("services", name)
        problems += _role_problem((*at, "executionRoleArn"), svc.execution_role_arn, fence)
        problems += _role_problem((*at, "taskRoleArn"), svc.task_role_arn, fence)
        if svc.image.repository not in fence.repositories:
            listed = ", ".join(sorted(fence.repositories))
            problems.append((("services", name, "image", "repository"),
                             f"{svc.image.repository!r} is not a repository this stage deploys "
                             f"from ({listed})"))  # fmt: skip
    return problems
