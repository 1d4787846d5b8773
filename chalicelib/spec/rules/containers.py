"""Rules of a task's containers: sidecars, init containers, start order, memory and cpu shares,
volumes and mounts, and what the stage lets a sidecar's image be."""

from __future__ import annotations

from graphlib import CycleError, TopologicalSorter
from typing import TYPE_CHECKING

from chalicelib.spec.located import Path
from chalicelib.wso2.presets import KEYSTORE_VOLUME

from .names import did_you_mean

if TYPE_CHECKING:
    from chalicelib.spec.containers import EfsVolume
    from chalicelib.spec.fence import StageFence
    from chalicelib.spec.model import Service, Spec

# ---- several containers in one task -------------------------------------------------------------
# ECS API reference: TaskDefinition (at most 10 container definitions: "Too many containers."),
# ContainerDefinition (essential, cpu, memory, memoryReservation, dependsOn, mountPoints),
# ContainerDependency, EFSVolumeConfiguration, EFSAuthorizationConfig, EphemeralStorage. AWS's
# refusal texts quoted here are the sandbox's too (berth/sandbox/strict_ecs/task_definitions.py).

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
        if given and mount.volume == KEYSTORE_VOLUME:
            reason = (
                f"{KEYSTORE_VOLUME} holds the product's private key: only the keystore-init "
                "preset writes it and only the product reads it, and Berth mounts it for both"
            )
            problems.append(((*where, "volume"), reason))
        elif mount.volume not in volumes:
            hint = did_you_mean(mount.volume, volumes)
            reason = f"unknown volume {mount.volume!r}{hint}; declare it under volumes"
            problems.append(((*where, "volume") if given else where, reason))
        elif given and container != name and container not in volumes[mount.volume].shared_with:
            reason = (
                f"{mount.volume} is not shared with {container}: a sidecar mounts only its "
                f"preset's own volume and the volumes that list it (volumes.{mount.volume}"
                f".sharedWith: [{container}])"
            )
            problems.append(((*where, "volume"), reason))
        if mount.path in paths:
            problems.append((where, f"{mount.path} is mounted twice in {container}"))
        paths.add(mount.path)
    return problems


def _sharing_problems(at: Path, svc: Service) -> Problems:
    """A volume's sharedWith names sidecars of its own task."""
    known = list(svc.containers)
    problems: Problems = []
    for volume, declared in svc.volumes.items():
        for i, container in enumerate(declared.shared_with):
            if container not in svc.containers:
                hint = did_you_mean(container, known)
                listed = ", ".join(known) or "none"
                reason = f"unknown sidecar {container!r}{hint} (the task's sidecars: {listed})"
                problems.append(((*at, "volumes", volume, "sharedWith", i), reason))
    return problems


def _writers(svc: Service, name: str, volume: str) -> list[str]:
    """The sidecars that mount `volume` writable (Berth's keystore-init excepted: its volume is
    reserved and only the product reads it)."""
    return [
        container
        for container in svc.containers
        if any(m.volume == volume and not m.read_only for m in svc.mounts_of(name, container))
        and volume != KEYSTORE_VOLUME
    ]


def _config_volume_problems(at: Path, name: str, svc: Service) -> Problems:
    """WSO2's entrypoint copies the config volume over the product home at start (presets,
    ProductPreset.config_volume): what a sidecar may write there becomes the product's own
    files, its deployment.toml and jars included, which is code in the image."""
    config = svc.preset.config_volume
    if config is None:
        return []
    problems: Problems = []
    for i, mount in enumerate(svc.mount_points):
        inside = mount.path == config or mount.path.startswith(config.rstrip("/") + "/")
        writers = _writers(svc, name, mount.volume) if inside else []
        if writers:
            reason = (
                f"{mount.path} is inside WSO2's config volume ({config}), which the entrypoint "
                f"copies over the product home at start, and {', '.join(writers)} writes "
                f"{mount.volume}: a sidecar would put files into the product; mount it readOnly "
                "in the sidecar, or elsewhere in the product"
            )
            problems.append(((*at, "mountPoints", i, "path"), reason))
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
    problems += _sharing_problems(at, svc)
    problems += _config_volume_problems(at, name, svc)
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
