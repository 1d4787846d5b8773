"""Rules of a spec that span fields (Fargate sizes, ports, secrets, roles, networks, dependency
order): plain functions over a validated Spec, each problem a (path, reason) pair that
`spec.parse_spec` locates in the file. Where AWS enforces a rule, its wording is named beside it."""

from __future__ import annotations

import difflib
import itertools
import re
import typing
from graphlib import CycleError
from typing import TYPE_CHECKING

from .wso2_contract import contract_problems
from .yamlsource import Path

if TYPE_CHECKING:
    from .spec import Service, Spec

SECRET_LOOKING_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|API_KEY|ACCESS_KEY|CREDENTIAL", re.IGNORECASE
)
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
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



def did_you_mean(word: str, choices: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""



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
    if svc.load_balancer is not None:
        port = svc.load_balancer.container_port or svc.preset.lb_port
        where: Path = (*at, "loadBalancer", "containerPort")
        if port is None:
            problems.append((where, "required for generic containers"))
        elif port not in ports:
            listed = ", ".join(map(str, ports))
            problems.append((where, f"{port} is not one of the service's ports ({listed})"))
    return problems


def _environment_problems(spec: Spec, name: str, svc: Service) -> list[tuple[Path, str]]:
    at: Path = ("services", name)
    problems: list[tuple[Path, str]] = []
    for key in sorted(svc.environment):
        if not ENV_NAME.match(key):
            problems.append(((*at, "environment", key), "not a valid environment variable name"))
        elif SECRET_LOOKING_NAME.search(key):
            problems.append(
                (
                    (*at, "environment", key),
                    "looks like a secret; move it to secrets as a Secrets Manager or SSM ARN",
                )
            )
    for key in sorted(set(svc.environment) & set(svc.secrets)):
        problems.append(((*at, "secrets", key), "is also set in environment; keep one"))
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
        elif svc.secrets:
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
    if svc.heap is not None and svc.heap >= svc.effective_memory:
        problems.append(
            (
                (*at, "heap"),
                f"{svc.heap} MiB heap does not fit in {svc.effective_memory} MiB memory",
            )
        )
    problems += _environment_problems(spec, name, svc)
    for i, dep in enumerate(svc.depends_on):
        if dep not in spec.services:
            hint = did_you_mean(dep, spec.services)
            problems.append(((*at, "dependsOn", i), f"unknown service {dep!r}{hint}"))
        elif dep == name:
            problems.append(((*at, "dependsOn", i), "a service cannot depend on itself"))
    return problems


def semantic_problems(spec: Spec) -> list[tuple[Path, str]]:
    """Rules that span fields; each problem is (path, reason)."""
    problems: list[tuple[Path, str]] = []
    for name, svc in spec.services.items():
        problems += _service_problems(spec, name, svc)
    problems += contract_problems(spec)  # WSO2 images' variables and replicas
    if not problems:
        try:
            spec.deployment_order()
        except CycleError as exc:
            cycle = " -> ".join(exc.args[1][::-1])
            problems.append((("services",), f"dependsOn forms a cycle: {cycle}"))
    return problems


