"""Rules of a spec that span fields (Fargate sizes, ports, secrets, roles, networks, dependency
order): plain functions over a validated Spec, each problem a (path, reason) pair that
`spec.parse_spec` locates in the file. Where AWS enforces a rule, its wording is named beside it."""

from __future__ import annotations

import difflib
import itertools
import re
import typing
from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

from .located import Path
from .presets import KEYSTORE_VOLUME
from .schema_init import schema_init_problems
from .strategies import strategy_problems
from .wso2_contract import contract_problems

if TYPE_CHECKING:
    from .fence import StageFence
    from .spec import EfsVolume, Service, Spec

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
    problems += service_connect_problems(spec)
    problems += [
        (("retire", name), f"{name} is also under services: a service is deployed or retired, "
         "not both; remove it from one of them")
        for name in spec.retire
        if name in spec.services
    ]  # fmt: skip
    problems += schema_init_problems(spec)
    problems += strategy_problems(spec)
    if not problems:
        try:
            spec.deployment_order()
        except CycleError as exc:
            cycle = " -> ".join(exc.args[1][::-1])
            problems.append((("services",), f"dependsOn forms a cycle: {cycle}"))
    return problems




# ---- several containers in one task -------------------------------------------------------------
# ECS API reference: TaskDefinition (at most 10 container definitions: "Too many containers."),
# ContainerDefinition (essential, cpu, memory, memoryReservation, dependsOn, mountPoints),
# ContainerDependency, EFSVolumeConfiguration, EFSAuthorizationConfig, EphemeralStorage. AWS's
# refusal texts quoted here are the sandbox's too (berth/sandbox/strict_ecs.py).

MAX_CONTAINERS = 10
KEYSTORE_SECRETS = ("BERTH_KEYSTORE_B64", "BERTH_TRUSTSTORE_B64")
Problems = list[tuple[Path, str]]


def _where(at: Path, name: str, container: str, *rest: str | int) -> Path:
    """The path of a field of one container: the product container's fields sit on the service."""
    return (*at, *rest) if container == name else (*at, "containers", container, *rest)


def _essential(svc: Service, name: str, container: str) -> bool:
    return container == name or svc.containers[container].effective_essential


def _has_health_check(svc: Service, name: str, container: str) -> bool:
    if container == name:
        return (svc.health_check or svc.preset.health_check) is not None
    sidecar = svc.containers[container]
    preset = sidecar.sidecar_preset
    return sidecar.health_check is not None or bool(preset and preset.health_check)


def _dependency_problem(
    svc: Service, name: str, container: str, target: str, condition: str, *, known: list[str]
) -> str | None:
    if target not in known:
        hint = did_you_mean(target, known)
        return f"unknown container {target!r}{hint} (the task has {', '.join(known)})"
    if target == container:
        return "a container cannot start after itself"
    if condition in ("COMPLETE", "SUCCESS") and _essential(svc, name, target):
        # RegisterTaskDefinition: "A dependency container with SUCCESS or COMPLETE condition
        # cannot be an essential container" (quoted in boto/boto3#2436).
        fix = f"set essential: false on {target}"
        if target == name:
            fix = "the product container is always essential; wait for START or HEALTHY"
        return (
            f"{target} is essential, and ECS refuses {condition} on an essential container "
            f"(it runs to completion, which would stop the task): {fix}"
        )
    if condition == "HEALTHY" and not _has_health_check(svc, name, target):
        # ContainerDependency HEALTHY "requires that the dependent container has health checks
        # configured"; without one the dependent container never starts.
        return f"HEALTHY needs a healthCheck on {target}; give it one, or wait for START"
    return None


def _explicit_start_after(svc: Service, name: str, container: str) -> dict[str, str]:
    return dict(svc.start_after if container == name else svc.containers[container].start_after)


def _order_problems(at: Path, name: str, svc: Service) -> Problems:
    order = svc.start_order(name)
    known = list(order)
    problems: Problems = []
    for container, dependencies in order.items():
        explicit = _explicit_start_after(svc, name, container)
        for target, condition in dependencies.items():
            problem = _dependency_problem(svc, name, container, target, condition, known=known)
            if problem:
                key = (target,) if target in explicit else ()
                problems.append((_where(at, name, container, "startAfter", *key), problem))
    if problems:
        return problems
    try:
        TopologicalSorter({c: set(d) for c, d in order.items()}).prepare()
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1][::-1])
        return [((*at, "containers"), f"startAfter forms a cycle: {cycle}; ECS cannot start them")]
    return []


def _memory_problems(at: Path, svc: Service) -> Problems:
    problems: Problems = []
    task = svc.effective_memory
    for container, sidecar in svc.containers.items():
        here: Path = (*at, "containers", container)
        if sidecar.memory is not None and sidecar.memory > task:
            # "The 'memory' setting for container 'X' is greater than for the task."
            reason = f"{sidecar.memory} MiB is more than the task's {task} MiB"
            problems.append(((*here, "memory"), reason))
        reservation = sidecar.memory_reservation
        if reservation is not None and sidecar.memory is not None and reservation >= sidecar.memory:
            # ContainerDefinition: memory "must be greater than memoryReservation".
            reason = f"{reservation} MiB must be below memory ({sidecar.memory} MiB)"
            problems.append(((*here, "memoryReservation"), reason))
    if svc.containers and svc.sidecar_memory >= task:
        reason = f"the sidecars reserve {svc.sidecar_memory} MiB of the task's {task} MiB"
        problems.append(((*at, "containers"), reason + ", leaving nothing for the product"))
    return problems


def _cpu_problems(at: Path, svc: Service) -> Problems:
    cpu = sum(c.cpu or 0 for c in svc.containers.values())
    if cpu <= svc.effective_cpu:
        return []
    # "The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'."
    # (RegisterTaskDefinition, quoted in aws/aws-cdk#1553)
    reason = f"the sidecars' cpu adds up to {cpu}, more than the task's {svc.effective_cpu}"
    return [((*at, "containers"), reason + ": lower them or raise the service's cpu")]


def _shared_port_problems(at: Path, name: str, svc: Service) -> Problems:
    # awsvpc: the task's containers share one network interface, so a port has one owner.
    owner = dict.fromkeys(svc.effective_ports, name)
    problems: Problems = []
    for container, sidecar in svc.containers.items():
        for port in sidecar.effective_ports:
            if port in owner:
                reason = (
                    f"port {port} is already {owner[port]}'s: the task's containers share one "
                    "network namespace (awsvpc), so each port has one owner"
                )
                problems.append(((*at, "containers", container, "ports"), reason))
            owner[port] = container
    return problems


def _efs_problems(at: Path, volume: str, efs: EfsVolume) -> Problems:
    here: Path = (*at, "volumes", volume, "efs")
    problems: Problems = []
    if (efs.access_point_id or efs.iam) and not efs.transit_encryption:
        # EFSAuthorizationConfig: with an access point or IAM authorization "transit encryption
        # must be enabled in the EFSVolumeConfiguration".
        reason = "must be true with an access point or IAM authorization (ECS refuses them without)"
        problems.append(((*here, "transitEncryption"), reason))
    if efs.access_point_id and efs.root_directory not in (None, "/"):
        # EFSVolumeConfiguration.rootDirectory: with an access point it "must either be omitted
        # or set to /": the access point's own path applies.
        reason = "must be omitted (or /) with an access point: the access point's path applies"
        problems.append(((*here, "rootDirectory"), reason))
    return problems


def _mount_problems(at: Path, name: str, svc: Service, container: str) -> Problems:
    volumes = svc.task_volumes()
    explicit = svc.mount_points if container == name else svc.containers[container].mount_points
    problems: Problems = []
    paths: set[str] = set()
    for i, mount in enumerate(svc.mounts_of(name, container)):
        given = i < len(explicit)
        where = _where(at, name, container, "mountPoints", *((i,) if given else ()))
        if mount.volume not in volumes:
            hint = did_you_mean(mount.volume, volumes)
            reason = f"unknown volume {mount.volume!r}{hint}; declare it under volumes"
            problems.append(((*where, "volume") if given else where, reason))
        if mount.path in paths:
            problems.append((where, f"{mount.path} is mounted twice in {container}"))
        paths.add(mount.path)
    return problems


def _volume_problems(spec: Spec, at: Path, name: str, svc: Service) -> Problems:
    problems: Problems = []
    if KEYSTORE_VOLUME in svc.volumes:
        reason = "reserved for the keystore-init preset's volume; choose another name"
        problems.append(((*at, "volumes", KEYSTORE_VOLUME), reason))
    for volume, declared in svc.volumes.items():
        if declared.efs is not None:
            problems += _efs_problems(at, volume, declared.efs)
    for container in [name, *svc.containers]:
        problems += _mount_problems(at, name, svc, container)
    if svc.ephemeral_storage is not None and spec.launch_type_of(name) != "FARGATE":
        # EphemeralStorage: "only supported for tasks hosted on Fargate".
        problems.append(((*at, "ephemeralStorage"), "only Fargate tasks take ephemeralStorage"))
    return problems


def _keystore_init_problems(at: Path, svc: Service, container: str) -> Problems:
    here: Path = (*at, "containers", container)
    problems: Problems = []
    if svc.preset.config_volume is None:
        reason = f"keystore-init hands the stores to WSO2's config volume; {svc.product} has none"
        problems.append(((*here, "preset"), reason))
    if not any(k in svc.containers[container].secrets for k in KEYSTORE_SECRETS):
        reason = "keystore-init has nothing to write: give it BERTH_KEYSTORE_B64 and/or "
        problems.append(((*here, "secrets"), reason + "BERTH_TRUSTSTORE_B64 (Secrets Manager)"))
    for key in KEYSTORE_SECRETS:
        if key in svc.secrets:
            reason = f"{container} (keystore-init) writes the stores: give {key} to it instead"
            problems.append(((*at, "secrets", key), reason + " (one writer)"))
    return problems


def _preset_problems(spec: Spec, at: Path, name: str, svc: Service) -> Problems:
    problems: Problems = []
    for preset in ("firelens", "keystore-init"):
        extra = [c for c, s in svc.containers.items() if s.preset == preset][1:]
        for container in extra:
            problems.append(((*at, "containers", container, "preset"), f"a task has one {preset}"))
    router = svc.log_router
    if router is not None and spec.task_role_of(name) is None:
        # Fluent Bit writes to CloudWatch Logs with the task's credentials, not the execution
        # role's (ECS developer guide, FireLens: "task IAM role").
        reason = "firelens needs a taskRoleArn (here or at the top level): Fluent Bit writes the "
        problems.append(((*at, "containers", router, "preset"), reason + "logs with the task role"))
    for container, sidecar in svc.containers.items():
        if sidecar.preset == "keystore-init":
            problems += _keystore_init_problems(at, svc, container)
    return problems


def container_problems(spec: Spec, name: str, svc: Service) -> Problems:
    """What ECS refuses, or what would never start, in a task of several containers."""
    at: Path = ("services", name)
    problems: Problems = []
    count = 1 + len(svc.containers)
    if count > MAX_CONTAINERS:
        reason = f"{count} containers in one task; ECS allows at most {MAX_CONTAINERS}, the "
        problems.append(((*at, "containers"), reason + "product container included"))
    if name in svc.containers:
        # "Container names must be unique within a Task Definition." (RegisterTaskDefinition)
        reason = "is the product container's name (the service's); container names are unique"
        return [*problems, ((*at, "containers", name), reason + " within a task")]
    problems += _order_problems(at, name, svc)
    problems += _cpu_problems(at, svc) + _memory_problems(at, svc)
    problems += _shared_port_problems(at, name, svc)
    problems += _volume_problems(spec, at, name, svc)
    problems += _preset_problems(spec, at, name, svc)
    return problems


def sidecar_fence_problems(spec: Spec, fence: StageFence) -> Problems:
    """Sidecar images come from the repositories the stage deploys from, as product images do
    (fence.fence_problems applies the same BERTH_IMAGE_REPOSITORIES to services)."""
    listed = ", ".join(sorted(fence.repositories))
    problems: Problems = []
    for name, svc in spec.services.items():
        for container, sidecar in svc.containers.items():
            if sidecar.image.repository not in fence.repositories:
                where: Path = ("services", name, "containers", container, "image", "repository")
                reason = f"{sidecar.image.repository!r} is not a repository this stage deploys from"
                problems.append((where, f"{reason} ({listed})"))
    return problems


# ---- ECS Service Connect ------------------------------------------------------------------------
# ECS API reference: ServiceConnectConfiguration (namespace: "The namespace name or full Amazon
# Resource Name (ARN) of the Cloud Map namespace"), ServiceConnectService (portName "must match the
# name of one of the portMappings"; discoveryName "must be unique within the Cloud Map namespace";
# clientAliases: "Each name and port mapping must be unique within the namespace"),
# PortMapping.name.


def _offer_problems(name: str, svc: Service, seen: dict[str, str], namespace: str) -> Problems:
    """One service's offers; `seen` maps each discovery name and alias offered so far to its
    service, so a name offered twice is reported where it is offered again."""
    at: Path = ("services", name, "serviceConnect")
    offers = svc.service_connect.offers if svc.service_connect else []
    problems: Problems = []
    ports = svc.effective_ports
    mine: set[str] = set()
    for i, offer in enumerate(offers):
        here: Path = (*at, "offers", i)
        if offer.port not in ports:
            listed = ", ".join(map(str, ports)) or "none"
            reason = f"{offer.port} is not one of the service's ports ({listed}); a client alias "
            problems.append(((*here, "port"), reason + "must reach a port the container exposes"))
        elif [o.port for o in offers[:i]].count(offer.port):
            problems.append(((*here, "port"), f"port {offer.port} is offered more than once"))
        names = [("name", f"discovery name {offer.name!r}")]
        if offer.dns_name is not None:
            names.append(("dnsName", f"client alias {offer.alias!r}"))
        for field, what in names:
            owner = seen.setdefault(what, name)
            if owner != name or what in mine:
                reason = f"{what} is already offered by {owner} in namespace {namespace}; "
                problems.append(((*here, field), reason + "names are unique in a namespace"))
            mine.add(what)
    return problems


def service_connect_problems(spec: Spec) -> Problems:
    """Service Connect as ECS takes it: a namespace when any service uses it, offered ports the
    container exposes, names unique in the namespace, used names that some service offers."""
    problems: Problems = []
    using = [n for n, s in spec.services.items() if s.service_connect is not None]
    if spec.service_connect is None:
        for name in using:
            reason = "needs the environment's Service Connect namespace: add serviceConnect: "
            reason += "{namespace: NAME} at the top level (a Cloud Map namespace)"
            problems.append((("services", name, "serviceConnect"), reason))
        return problems
    seen: dict[str, str] = {}
    namespace = spec.service_connect.namespace
    for name in using:
        problems += _offer_problems(name, spec.services[name], seen, namespace)
    aliases = {
        offer.alias
        for svc in spec.services.values() if svc.service_connect
        for offer in svc.service_connect.offers
    }  # fmt: skip
    for name in using:
        svc_connect = spec.services[name].service_connect
        assert svc_connect is not None
        for i, used in enumerate(svc_connect.uses):
            if used not in aliases:
                hint = did_you_mean(used, aliases)
                reason = f"{used!r} is offered by no service in the namespace{hint}; "
                reason += "list a name some service offers (serviceConnect.offers)"
                problems.append((("services", name, "serviceConnect", "uses", i), reason))
    return problems
