"""The simulated tasks, as moto Task objects the scheduler makes, stops and drains.

DescribeTasks and ListTasks answer from moto's backend: the scheduler files its tasks there as
the service's own (group `service:NAME`, startedBy the deployment id) or a RunTask's, with one
moto container per container definition, and sets their states as `task_play` decided them.
"""

from __future__ import annotations

import copy
from typing import Any

from berth.sandbox.ecs_sim.task_play import ContainerEnd, TaskPlay

NO_RESOURCES: dict[str, Any] = {"CPU": 0, "MEMORY": 0, "PORTS": [], "PORTS_UDP": []}


def service_tasks(ecs: Any, service: Any, deployment: dict[str, Any], count: int) -> list[Any]:
    """`count` tasks of a deployment, registered in moto as the service's own, one moto
    container per container definition (moto's own Task makes one, of the first)."""
    return new_tasks(
        ecs, service.cluster_name, deployment["taskDefinition"], count,
        group=f"service:{service.name}", started_by=deployment["id"], launch_type="FARGATE",
    )  # fmt: skip


def new_tasks(
    ecs: Any, cluster_name: str, task_definition: str, count: int, *, group: str,
    started_by: str, launch_type: str,
) -> list[Any]:  # fmt: skip
    from moto.ecs.models import Container as MotoContainer
    from moto.ecs.models import Task

    container_of: Any = MotoContainer  # typed abstract by moto; instantiable at run time

    cluster = ecs.clusters[cluster_name]
    # Built directly: moto's RunTask wants container-level memory (Fargate tasks have none)
    # and its awsvpc task set-up fails on ENIs; the copy skips the network attachment.
    definition = copy.copy(ecs.describe_task_definition(task_definition))
    definition.network_mode = "bridge"
    definition.arn = task_definition
    tasks = []
    for _ in range(count):
        task: Any = Task(
            cluster=cluster,
            task_definition=definition,
            container_instance_arn=None,
            resource_requirements=dict(NO_RESOURCES),
            backend=ecs,
            group=group,
            overrides={},
            started_by=started_by,
            tags=[],
            launch_type=launch_type,
        )
        task.containers = []
        for container_definition in definition.container_definitions:
            one = copy.copy(definition)
            one.container_definitions = [container_definition]
            task.containers.append(container_of(one))
        ecs.tasks.setdefault(cluster.name, {})[task.task_arn] = task
        tasks.append(task)
    return tasks


def stop(task: Any, play: TaskPlay, started: dict[str, tuple[str, ...]]) -> None:
    """Stop a task as `play` says, each container with its own reason and exit code."""
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = play.stopped_reason or ""
    started[task.task_arn] = play.started
    for container in task.containers:
        end = play.containers.get(container.name, ContainerEnd("STOPPED", "", None))
        if end.reason:
            container.reason = end.reason
        container.exitCode = end.exit_code
        container.last_status = "STOPPED"


def drain(task: Any, deployment: dict[str, Any], started: dict[str, tuple[str, ...]]) -> None:
    ends = {c.name: ContainerEnd("STOPPED", "", 0) for c in task.containers}
    reason = f"Scaling activity initiated by (deployment {deployment['id']})"
    stop(task, TaskPlay(reason, ends, started.get(task.task_arn, ())), started)


def run_service_tasks(
    ecs: Any, service: Any, deployment: dict[str, Any], play: TaskPlay,
    started: dict[str, tuple[str, ...]],
) -> None:  # fmt: skip
    """The completed deployment's tasks run as `play` says; the service's older tasks are
    drained."""
    for task in ecs.tasks.get(service.cluster_name, {}).values():
        if task.group == f"service:{service.name}" and task.last_status == "RUNNING":
            drain(task, deployment, started)
    for task in service_tasks(ecs, service, deployment, service.desired_count):
        task.last_status = "RUNNING"
        started[task.task_arn] = play.started
        for container in task.containers:
            end = play.containers.get(container.name, ContainerEnd("RUNNING"))
            if play.stopped_reason is not None:  # a rollback runs what ran before
                end = ContainerEnd("RUNNING")
            container.last_status = end.status
            if end.status == "STOPPED":
                container.exitCode = end.exit_code
