"""The stage's fence applied to a spec: every cluster, role, secret, subnet, security group,
target group and file system a spec names must be one its environment declares
(`chalicelib.spec.fence`), checked before any AWS call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.fence import declared_in
from chalicelib.spec.located import Path

if TYPE_CHECKING:
    from chalicelib.spec.fence import NetworkFence, StageFence
    from chalicelib.spec.model import Spec
    from chalicelib.spec.networking import Network

Problems = list[tuple[Path, str]]


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _cluster_problems(spec: Spec, fence: StageFence) -> Problems:
    if not fence.clusters:
        return []
    declared = fence.clusters.get(spec.environment)
    if declared is None:
        known = ", ".join(sorted(fence.clusters))
        return [
            (
                ("environment",),
                f"{spec.environment!r} is not an environment of this stage ({known})",
            )
        ]
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


def _role_problem(path: Path, arn: str | None, fence: StageFence, env: str) -> Problems:
    if arn is None:
        return []
    name, own = _role_name(arn), fence.environment_roles.get(env)
    if own is not None and name not in own:
        listed = ", ".join(sorted(own))
        return [
            (
                path,
                f"role {name} is not one of environment {env}'s roles ({listed}): each "
                "environment's tasks run under its own roles "
                f"({declared_in('roles', env, fence.stage)})",
            )
        ]
    if name in fence.roles:
        return []
    roles = ", ".join(sorted(fence.roles))
    return [(path, f"role {name} is not one this stage may pass to ECS tasks ({roles})")]


def _secret_parts(arn: str) -> tuple[str, str, str]:
    """(region, account, name) of a secret reference ECS accepts in `valueFrom`: a Secrets
    Manager ARN `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME[-SUFFIX][:json-key:
    version-stage:version-id]` (ECS developer guide, "Pass Secrets Manager secrets
    programmatically"; Secrets Manager user guide, "Secret ARN") or an SSM parameter ARN
    `arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME`, where a name `/a/b` gives
    `parameter/a/b` (Systems Manager user guide, parameter hierarchies)."""
    parts = arn.split(":")
    if parts[2] == "secretsmanager":
        return parts[3], parts[4], parts[6]
    return parts[3], parts[4], ":".join(parts[5:]).removeprefix("parameter/")


def _secret_problems(path: Path, arn: str, fence: StageFence, env: str) -> Problems:
    region, account, name = _secret_parts(arn)
    if fence.account is not None and account != fence.account:
        return [
            (
                path,
                f"secret of account {account}: environment {env} reads secrets of its own "
                f"account only ({fence.account})",
            )
        ]
    if fence.region is not None and region != fence.region:
        return [
            (
                path,
                f"secret in region {region}: environment {env} reads secrets of its own "
                f"region only ({fence.region})",
            )
        ]
    prefix = fence.secret_prefixes.get(env)
    if prefix is None or (name.startswith(prefix) and ".." not in name.split("/")):
        return []
    return [
        (
            path,
            f"secret {name} is outside environment {env}'s secrets: name one under "
            f"{prefix} ({declared_in('secretsPrefix', env, fence.stage)})",
        )
    ]


def secret_problems(path: Path, arn: str, fence: StageFence, env: str) -> Problems:
    """A secret reference outside the environment's account, region or prefix (for secrets
    that are not the tasks', such as the verification hook's header)."""
    return _secret_problems(path, arn, fence, env)


def _secrets_problems(spec: Spec, fence: StageFence) -> Problems:
    problems: Problems = []
    env = spec.environment
    for name, svc in spec.services.items():
        at: Path = ("services", name)
        for key, arn in sorted(svc.secrets.items()):
            problems += _secret_problems((*at, "secrets", key), arn, fence, env)
        for container, sidecar in svc.containers.items():
            for key, arn in sorted(sidecar.secrets.items()):
                here: Path = (*at, "containers", container, "secrets", key)
                problems += _secret_problems(here, arn, fence, env)
    return problems


def _outside(
    at: Path, values: list[str], allowed: frozenset[str], *, noun: str, env: str, where: str
) -> Problems:
    """Each of `values` (a list field at `at`) that the environment does not list (`where`: the
    field of the environments file that lists them, declared_in)."""
    listed = ", ".join(sorted(allowed)) or "none"
    return [
        ((*at, i), f"{value} is not a {noun} of environment {env} ({listed}; {where})")
        for i, value in enumerate(values)
        if value not in allowed
    ]


def _network_problems(
    at: Path, network: Network | None, allowed: NetworkFence, env: str, stage: str | None
) -> Problems:
    if network is None:
        return []
    problems = _outside(
        (*at, "subnets"), network.subnets, allowed.subnets, noun="subnet", env=env,
        where=declared_in("network.subnets", env, stage),
    ) + _outside(
        (*at, "securityGroups"), network.security_groups, allowed.security_groups,
        noun="security group", env=env,
        where=declared_in("network.securityGroups", env, stage),
    )  # fmt: skip
    if network.assign_public_ip and not allowed.public_ip:
        problems.append(
            (
                (*at, "assignPublicIp"),
                f"environment {env} gives its tasks no public IP: set it to false, or "
                "have the operator allow it "
                f"({declared_in('network.publicIp', env, stage, value='true')})",
            )
        )
    return problems


def declared(arn: str, allowed: frozenset[str]) -> bool:
    """Whether `arn` is one the environment lists: itself, or under a prefix ending in `*`."""
    return any(arn == a or (a.endswith("*") and arn.startswith(a[:-1])) for a in allowed)


def _networks_problems(spec: Spec, fence: StageFence) -> Problems:
    env = spec.environment
    allowed = fence.networks.get(env)
    if allowed is None:
        return []
    problems = _network_problems(("network",), spec.network, allowed, env, fence.stage)
    for name, svc in spec.services.items():
        at: Path = ("services", name)
        problems += _network_problems((*at, "network"), svc.network, allowed, env, fence.stage)
        for where, lb in svc.target_groups():
            if declared(lb.target_group_arn, allowed.target_groups):
                continue
            listed = ", ".join(sorted(allowed.target_groups)) or "none"
            problems.append(
                (
                    (*at, *where, "targetGroupArn"),
                    f"not a target group of environment {env} ({listed}; "
                    f"{declared_in('network.targetGroups', env, fence.stage)})",
                )
            )
    return problems


def fence_problems(spec: Spec, fence: StageFence) -> Problems:
    """Each reference of `spec` outside the stage's fence, as (path, reason)."""
    env = spec.environment
    problems = _cluster_problems(spec, fence)
    problems += _role_problem(("executionRoleArn",), spec.execution_role_arn, fence, env)
    problems += _role_problem(("taskRoleArn",), spec.task_role_arn, fence, env)
    for name, svc in spec.services.items():
        at: Path = ("services", name)
        problems += _role_problem((*at, "executionRoleArn"), svc.execution_role_arn, fence, env)
        problems += _role_problem((*at, "taskRoleArn"), svc.task_role_arn, fence, env)
        if svc.image.repository not in fence.repositories:
            listed = ", ".join(sorted(fence.repositories))
            problems.append(
                (
                    ("services", name, "image", "repository"),
                    f"{svc.image.repository!r} is not a repository this stage deploys "
                    f"from ({listed})",
                )
            )
    problems += _file_system_problems(spec, fence)
    return problems + _secrets_problems(spec, fence) + _networks_problems(spec, fence)


def _file_system_problems(spec: Spec, fence: StageFence) -> Problems:
    """EFS volumes mount only the environment's own file systems: a dev spec naming prod's file
    system would otherwise mount it (the task role's ClientMount is the second fence, and only
    holds for file systems tagged for the environment)."""
    if not fence.file_systems:
        return []
    env = spec.environment
    allowed = fence.file_systems.get(env, frozenset())
    listed = ", ".join(sorted(allowed)) or "none"
    problems: Problems = []
    for name, svc in spec.services.items():
        for volume, declared in sorted(svc.volumes.items()):
            if declared.efs is None or declared.efs.file_system_id in allowed:
                continue
            at: Path = ("services", name, "volumes", volume, "efs", "fileSystemId")
            reason = (
                f"{declared.efs.file_system_id} is not a file system of environment {env} "
                f"({listed}; {declared_in('fileSystems', env, fence.stage)}): a task mounts "
                "only its own "
                "environment's EFS file systems"
            )
            problems.append((at, reason))
    return problems
