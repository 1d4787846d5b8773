"""Rules of a spec that span a service's fields (Fargate sizes, ports, load balancers,
environment and secrets, log groups, dependency order): plain functions over a validated Spec,
each problem a (path, reason) pair that `chalicelib.spec.parse` locates in the file. Where AWS
enforces a rule, its wording is named beside it."""

from __future__ import annotations

import itertools
from graphlib import CycleError
from typing import TYPE_CHECKING

from chalicelib.spec.located import Path

from .containers import container_problems
from .names import ENV_NAME, SECRET_LOOKING_NAME, did_you_mean

if TYPE_CHECKING:
    from chalicelib.spec.model import Service, Spec

# Fargate task sizes: cpu units -> the memory values (MiB) AWS accepts with them (AWS Fargate "Task
# CPU and memory" table). 0.25 vCPU takes only 512, 1024 or 2048: AWS refuses 1536 with "No Fargate
# configuration exists for given values: 256 CPU, 1536 memory."
def _steps(low: int, high: int, step: int) -> tuple[int, ...]:
    return tuple(range(low, high + 1, step))


FARGATE_MEMORY: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}





def _listed(values: tuple[int, ...]) -> str:
    step = values[1] - values[0] if len(values) > 3 else 0
    if step and all(b - a == step for a, b in itertools.pairwise(values)):
        return f"{values[0]}-{values[-1]} in steps of {step}"
    return ", ".join(map(str, values))


def fargate_size_problem(cpu: int, memory: int) -> str | None:
    """Why Fargate refuses this task size, or None when it runs it."""
    if cpu not in FARGATE_MEMORY:
        return f"{cpu} is not a valid Fargate cpu (valid: {', '.join(map(str, FARGATE_MEMORY))})"
    if memory not in FARGATE_MEMORY[cpu]:
        return (
            f"{memory} is not a valid Fargate memory for cpu {cpu} "
            f"(valid: {_listed(FARGATE_MEMORY[cpu])})"
        )
    return None


def _fargate_problems(name: str, svc: Service) -> list[tuple[Path, str]]:
    problem = fargate_size_problem(svc.effective_cpu, svc.effective_memory)
    if problem is None:
        return []
    where = "cpu" if svc.effective_cpu not in FARGATE_MEMORY or svc.memory is None else "memory"
    return [(("services", name, where), problem)]


def _port_problems(spec: Spec, name: str, svc: Service) -> list[tuple[Path, str]]:
    at: Path = ("services", name)
    ports = svc.effective_ports
    problems: list[tuple[Path, str]] = [
        ((*at, "ports"), f"port {port} is listed more than once")
        for port in sorted({p for p in ports if ports.count(p) > 1})
    ]
    for field, lb in svc.target_groups():
        port = svc.target_port(lb)
        where: Path = (*at, *field, "containerPort")
        if port is None:
            problems.append((where, "required for generic containers"))
        elif port not in ports:
            listed = ", ".join(map(str, ports))
            problems.append((where, f"{port} is not one of the service's ports ({listed})"))
    return problems + load_balancer_problems(at, svc)


# "For services that use an Application Load Balancer or Network Load Balancer, you cannot attach
# more than five target groups to a service." (ECS developer guide, "Registering multiple target
# groups with an Amazon ECS service").
MAX_TARGET_GROUPS = 5


def load_balancer_problems(at: Path, svc: Service) -> list[tuple[Path, str]]:
    """`loadBalancer` or `loadBalancers`, not both; at most five; each target group once."""
    problems: list[tuple[Path, str]] = []
    if svc.load_balancer is not None and svc.load_balancers is not None:
        problems.append(
            (
                (*at, "loadBalancers"),
                "set either loadBalancer or loadBalancers, not both: move the loadBalancer "
                "entry into the loadBalancers list",
            )
        )
    entries = svc.load_balancers or []
    if len(entries) > MAX_TARGET_GROUPS:
        problems.append(
            (
                (*at, "loadBalancers"),
                f"{len(entries)} target groups; ECS attaches at most {MAX_TARGET_GROUPS} to a "
                "service: send several ports through one load balancer's listeners instead",
            )
        )
    seen: dict[str, int] = {}
    for i, lb in enumerate(entries):
        first = seen.setdefault(lb.target_group_arn, i)
        if first != i:
            problems.append(
                (
                    (*at, "loadBalancers", i, "targetGroupArn"),
                    f"the same target group as loadBalancers[{first}]; give each port its own "
                    "target group (a target group has one health check)",
                )
            )
    return problems


def _variable_problems(
    at: Path, environment: dict[str, str], secrets: dict[str, str]
) -> list[tuple[Path, str]]:
    problems: list[tuple[Path, str]] = []
    for key in sorted(environment):
        if not ENV_NAME.match(key):
            problems.append(((*at, "environment", key), "not a valid environment variable name"))
        elif SECRET_LOOKING_NAME.search(key):
            problems.append(
                (
                    (*at, "environment", key),
                    "looks like a secret; move it to secrets as a Secrets Manager or SSM ARN",
                )
            )
    for key in sorted(set(environment) & set(secrets)):
        problems.append(((*at, "secrets", key), "is also set in environment; keep one"))
    return problems


def _environment_problems(spec: Spec, name: str, svc: Service) -> list[tuple[Path, str]]:
    at: Path = ("services", name)
    problems = _variable_problems(at, svc.environment, svc.secrets)
    for container, sidecar in svc.containers.items():
        where: Path = (*at, "containers", container)
        problems += _variable_problems(where, sidecar.environment, sidecar.secrets)
    has_secrets = bool(svc.secrets) or any(c.secrets for c in svc.containers.values())
    if spec.execution_role_of(name) is None:
        if spec.launch_type_of(name) == "FARGATE":
            # "Fargate requires task definition to have execution role ARN to support log driver
            # awslogs." (RegisterTaskDefinition): Berth always logs with awslogs and pulls from ECR.
            problems.append(
                (
                    (*at, "executionRoleArn"),
                    "required on Fargate: ECS pulls the ECR image and writes the awslogs log "
                    "stream with the task execution role; set executionRoleArn here or at the "
                    "top level",
                )
            )
        elif has_secrets:
            problems.append(((*at, "executionRoleArn"), "required when the service has secrets"))
    return problems


def _log_group_problems(spec: Spec, name: str, svc: Service) -> list[tuple[Path, str]]:
    """Each environment logs under /berth/<environment>: Berth creates the group, and its IAM
    policy allows logs:CreateLogGroup only under /berth/ (.chalice/policy-<stage>.json), so a
    spec cannot write into another environment's or another team's log groups."""
    group = spec.log_group_of(name)
    prefix = f"/berth/{spec.environment}"
    if group == prefix or group.startswith(prefix + "/"):
        return []
    where: Path = ("services", name, "logGroup") if svc.log_group else ("logGroup",)
    return [(where, f"{group!r} is outside this environment's log groups; use {prefix} or "
                    f"{prefix}/<name>")]  # fmt: skip


def _service_problems(spec: Spec, name: str, svc: Service) -> list[tuple[Path, str]]:
    at: Path = ("services", name)
    problems: list[tuple[Path, str]] = []
    if spec.launch_type_of(name) == "FARGATE":
        problems += _fargate_problems(name, svc)
    if spec.network_of(name) is None:
        # Berth renders awsvpc tasks on either launch type, and CreateService refuses them
        # without one: "Network Configuration must be provided when networkMode 'awsvpc' is
        # specified."
        problems.append(
            (
                (*at, "network"),
                f"{spec.launch_type_of(name)} services run in awsvpc mode and need network "
                "subnets and securityGroups (here or at the top level)",
            )
        )
    problems += _port_problems(spec, name, svc)
    problems += _log_group_problems(spec, name, svc)
    available = svc.effective_memory - svc.sidecar_memory
    if svc.heap is not None and svc.heap >= available:
        beside = f" beside the sidecars' {svc.sidecar_memory} MiB" if svc.containers else ""
        problems.append(
            (
                (*at, "heap"),
                f"{svc.heap} MiB heap does not fit in {svc.effective_memory} MiB memory{beside}",
            )
        )
    problems += container_problems(spec, name, svc)
    problems += _environment_problems(spec, name, svc)
    for i, dep in enumerate(svc.depends_on):
        if dep not in spec.services:
            others = sorted(n for n in spec.services if n != name)
            hint = did_you_mean(dep, spec.services) or (
                f": name one of {', '.join(others)}" if others else ": remove it"
            )
            problems.append(((*at, "dependsOn", i), f"unknown service {dep!r}{hint}"))
        elif dep == name:
            problems.append(((*at, "dependsOn", i), "a service cannot depend on itself"))
    return problems


def service_problems(spec: Spec) -> list[tuple[Path, str]]:
    """Each service's own rules, and services both deployed and retired."""
    problems: list[tuple[Path, str]] = []
    for name, svc in spec.services.items():
        problems += _service_problems(spec, name, svc)
    problems += [
        (("retire", name), f"{name} is also under services: a service is deployed or retired, "
         "not both; remove it from one of them")
        for name in spec.retire
        if name in spec.services
    ]  # fmt: skip
    return problems


def dependency_cycle_problems(spec: Spec) -> list[tuple[Path, str]]:
    """A cycle of dependsOn, told once the rest is right (it reads every service's dependsOn)."""
    try:
        spec.deployment_order()
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1][::-1])
        return [(("services",), f"dependsOn forms a cycle: {cycle}")]
    return []
