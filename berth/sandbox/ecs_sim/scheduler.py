"""The simulated ECS scheduler: deployments and one-off tasks played to their end, on a clock.

Each new deployment is announced with SERVICE_DEPLOYMENT_IN_PROGRESS, then after
`rollout_seconds` it either COMPLETES (running count = desired, older deployments drained) or
fails as its tasks do (`task_play`). With the circuit breaker on, the deployment FAILS and a
rollback deployment to the previous task definition runs and completes, with the events ECS
sends. Blue/green, canary and linear deployments move through their stages (`strategies`);
a failed hook or an alarm fails them the same way. RunTask starts a one-off task (e.g. Berth's
schema task): after `rollout_seconds` every container has run to completion and the task STOPS
with an "ECS Task State Change" event.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.ecs.exceptions import InvalidParameterException

from berth.sandbox.ecs_sim import service_deployments
from berth.sandbox.ecs_sim.deployments import new_deployment, start_deployments_on_update
from berth.sandbox.ecs_sim.events import (
    EmittedEvent,
    deployment_event,
    service_event,
    task_stopped_event,
)
from berth.sandbox.ecs_sim.progress import OneOff, Rollout
from berth.sandbox.ecs_sim.strategies import (
    Failure,
    HookInvoker,
    advance_stages,
    alarm_failure,
    alarm_in_alarm,
    reported_stage,
    strategy_of,
)
from berth.sandbox.ecs_sim.task_play import TaskPlay, TaskPlayer
from berth.sandbox.ecs_sim.tasks import new_tasks, run_service_tasks, service_tasks, stop
from berth.sandbox.strict_ecs import make_strict
from berth.sandbox.strict_ecs.strategies import NON_ROLLING

FAILED_TASKS = 2


@dataclass


class SimulatedEcs:
    """ECS's scheduler for one region of the sandbox, played against moto's backend."""

    account: str
    region: str
    rollout_seconds: float = 0.5
    emitted: list[EmittedEvent] = field(default_factory=list)
    started: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Task ARN -> its containers in the order they started."""
    _rollouts: dict[str, Rollout] = field(default_factory=dict)
    _one_offs: list[OneOff] = field(default_factory=list)
    _user_stops: list[EmittedEvent] = field(default_factory=list)
    """Task State Change events of StopTask calls, sent at the next tick."""
    invoke_hook: HookInvoker | None = None
    """How ECS reaches a lifecycle hook's Lambda function (the sandbox runs app.py's)."""
    time_scale: float = 0.001
    """Real seconds per simulated second, for callBackDelay and bake times (30 s -> 0.03 s)."""
    shortest_wait: float = 0.0
    """Real seconds a wait for callBackDelay or a bake time lasts at least. `berth sandbox up`
    sets one: a hook waiting on a person's approval (asked again every 60 simulated seconds)
    would otherwise be invoked every 60 ms, turning the sleeping loop 16 times a second."""
    lifecycle: dict[str, list[str]] = field(default_factory=dict)
    """Deployment id -> the lifecycle stages it went through."""
    hook_invocations: list[dict[str, Any]] = field(default_factory=list)
    """Each lifecycle hook invocation: the function, its payload and its answer."""
    traffic: dict[str, list[float]] = field(default_factory=dict)
    """Deployment id -> the production traffic percentages green received, in order."""

    def __post_init__(self) -> None:
        from moto.ecr.models import ecr_backends
        from moto.ecs.models import ecs_backends
        from moto.logs.models import logs_backends

        # moto's backends are typed for moto's own use; here they are driven from outside.
        self.ecs: Any = ecs_backends[self.account][self.region]
        self.ecr: Any = ecr_backends[self.account][self.region]
        self.logs: Any = logs_backends[self.account][self.region]
        from moto.moto_api import state_manager

        # Task states are this scheduler's to set; by default moto moves a task one step
        # towards STOPPED each time it is described.
        state_manager.set_transition(
            model_name="ecs::task", transition={"progression": "manual", "times": 10**9}
        )
        make_strict(self.ecs, self.account)
        self.player = TaskPlayer(self.ecs, self.ecr, self.logs)
        start_deployments_on_update(self.ecs)
        signature = inspect.signature(self.ecs.run_task)

        def run_task(*args: Any, **kwargs: Any) -> list[Any]:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return self._run_task(bound.arguments)

        self.ecs.run_task = run_task  # type: ignore[method-assign]
        moto_stop_task = self.ecs.stop_task

        def stop_task(cluster_str: str, task_str: str, reason: str) -> Any:
            task = moto_stop_task(cluster_str, task_str, reason)
            self._stopped_by_user(task, reason)
            return task

        self.ecs.stop_task = stop_task  # type: ignore[method-assign]

    def _run_task(self, a: dict[str, Any]) -> list[Any]:
        """RunTask as the sandbox plays it (moto's own fails on awsvpc ENIs): the tasks start
        PROVISIONING and `tick` plays them to their end."""
        definition = self.ecs.describe_task_definition(a["task_definition_str"])
        if definition.network_mode == "awsvpc" and a.get("networking_configuration") is None:
            # networkConfiguration "is required for task definitions that use the awsvpc network
            # mode" (ECS API reference, RunTask as CreateService); the text is CreateService's
            # (see strict_ecs): RunTask's own was not found quoted in a public report.
            raise InvalidParameterException(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
            )
        cluster = str(a["cluster_str"]).rsplit("/", maxsplit=1)[-1]
        tasks = new_tasks(
            self.ecs, cluster, definition.arn, int(a["count"] or 1),
            group=a.get("group") or f"family:{definition.family}",
            started_by=a.get("started_by") or "", launch_type=a.get("launch_type") or "EC2",
        )  # fmt: skip
        for task in tasks:
            task.last_status = "PROVISIONING"
            self._one_offs.append(OneOff(cluster, task.task_arn, definition.arn, time.monotonic()))
        return tasks

    def _stopped_by_user(self, task: Any, reason: str) -> None:
        """StopTask as ECS answers it: the task goes STOPPED with stopCode UserInitiated and
        the caller's reason as its stoppedReason (ECS API reference, StopTask: reason; Task:
        stopCode), and a Task State Change event tells it (ECS developer guide, "Amazon ECS
        task state change events"). A one-off stopped so is not played to its end any more."""
        task.stop_code = "UserInitiated"
        for container in task.containers:
            container.last_status = "STOPPED"
        for one_off in self._one_offs:
            if one_off.task_arn == task.task_arn and not one_off.done:
                one_off.done = True
                play = TaskPlay(reason, {}, self.started.get(task.task_arn, ()))
                self._user_stops.append(
                    task_stopped_event(task, one_off.task_definition, play, "UserInitiated")
                )

    def play(self, task_definition_arn: str, one_off: bool = False) -> TaskPlay:
        """How tasks of this task definition run in the sandbox, or why they stop; `one_off`:
        a RunTask task, whose containers run to completion."""
        return self.player.play(task_definition_arn, one_off)

    # ---- the scheduler's clock ------------------------------------------------------------------

    def busy(self) -> bool:
        """Is any rollout still to be announced or decided?"""
        return (
            any(not r.done for r in self._rollouts.values())
            or bool(self._unannounced())
            or any(not o.done for o in self._one_offs)
        )

    def _unannounced(self) -> list[tuple[str, Any, dict[str, Any]]]:
        found = []
        for key, service in self.ecs.services.items():
            for deployment in service.deployments:
                if (
                    deployment.get("rolloutState") == "IN_PROGRESS"
                    and deployment["id"] not in self._rollouts
                ):
                    found.append((key, service, deployment))
        return found

    def tick(self, now: float | None = None) -> list[EmittedEvent]:
        """Advance every rollout that is due; return the events ECS would have sent."""
        now = time.monotonic() if now is None else now
        events: list[EmittedEvent] = []
        for key, service, deployment in self._unannounced():
            self._rollouts[deployment["id"]] = Rollout(
                key, deployment["id"], deployment["taskDefinition"], now
            )
            service_deployments.start(
                service, deployment, staged=strategy_of(service) in NON_ROLLING
            )
            events.append(
                deployment_event(
                    service,
                    deployment["id"],
                    "SERVICE_DEPLOYMENT_IN_PROGRESS",
                    f"ECS deployment {deployment['id']} in progress.",
                )
            )
        for rollout in list(self._rollouts.values()):
            if rollout.done or now < self._due(rollout):
                continue
            if rollout.deployment_id in {e.detail["deploymentId"] for e in events}:
                continue
            events += self._decide(rollout, now)
        events += self._user_stops
        self._user_stops.clear()
        for one_off in self._one_offs:
            if not one_off.done and now >= one_off.started_at + self.rollout_seconds:
                events.append(self._finish_one_off(one_off))
        self.emitted += events
        return events

    def next_due(self, now: float | None = None) -> float | None:
        """When `tick` next has something to do (`now` if it has already), or None when only a
        new call (CreateService, UpdateService, RunTask, StopTask) can give it any: the moment
        a sandbox waiting on events sleeps until."""
        now = time.monotonic() if now is None else now
        if self._user_stops or self._unannounced():
            return now
        dues = [self._due(r) for r in self._rollouts.values() if not r.done]
        dues += [o.started_at + self.rollout_seconds for o in self._one_offs if not o.done]
        return min(dues, default=None)

    def _due(self, rollout: Rollout) -> float:
        """A rollout is decided `rollout_seconds` after its announcement, and not before the
        moment it waits for (a hook's callBackDelay, a bake time)."""
        due = rollout.announced_at + self.rollout_seconds
        return due if rollout.due_at is None else max(due, rollout.due_at)

    def _finish_one_off(self, one_off: OneOff) -> EmittedEvent:
        """Play a RunTask task to its end and tell it as ECS does."""
        one_off.done = True
        task = self.ecs.tasks[one_off.cluster][one_off.task_arn]
        play = self.play(one_off.task_definition, one_off=True)
        stop(task, play, self.started)
        return task_stopped_event(task, one_off.task_definition, play)

    def _decide(self, rollout: Rollout, now: float) -> list[EmittedEvent]:
        rollout.done = True
        service = self.ecs.services.get(rollout.service_key)
        if service is None:
            return []
        deployment = next(
            (d for d in service.deployments if d["id"] == rollout.deployment_id), None
        )
        if deployment is None or deployment["status"] != "PRIMARY":
            return []  # replaced by a newer deployment before it finished: ECS sends nothing more
        play = self.play(rollout.task_definition)
        if not rollout.rollback_of and play.stopped_reason is None:
            if strategy_of(service) in NON_ROLLING:
                return self._advance_stages(service, deployment, rollout, now)
            alarm = alarm_in_alarm(self, service)
            if alarm is not None:
                failure = alarm_failure(service, alarm, stage="")
                return self._failure(service, deployment, rollout, now, failure)
        if rollout.rollback_of or play.stopped_reason is None:
            return self._complete(service, deployment, rollout)
        return self._fail(service, deployment, rollout, play, now)

    def _complete(
        self, service: Any, deployment: dict[str, Any], rollout: Rollout
    ) -> list[EmittedEvent]:
        deployment.update(
            rolloutState="COMPLETED",
            runningCount=service.desired_count,
            pendingCount=0,
            rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
            updatedAt=datetime.now(UTC),
        )
        service.deployments[:] = [deployment]
        if rollout.rollback_of:
            # The rollback is a state of the failed deployment's service deployment.
            service_deployments.rolled_back(service, rollout.rollback_of)
        else:
            service_deployments.succeeded(service, deployment["id"])
        play = self.play(deployment["taskDefinition"])
        run_service_tasks(self.ecs, service, deployment, play, self.started)
        service.running_count = service.desired_count
        service.pending_count = 0
        service_event(service, f"(service {service.name}) has reached a steady state.")
        return [
            deployment_event(
                service,
                deployment["id"],
                "SERVICE_DEPLOYMENT_COMPLETED",
                f"ECS deployment {deployment['id']} completed.",
            )
        ]

    def _fail(
        self,
        service: Any,
        deployment: dict[str, Any],
        rollout: Rollout,
        play: TaskPlay,
        now: float,
    ) -> list[EmittedEvent]:
        for task in service_tasks(self.ecs, service, deployment, FAILED_TASKS):
            stop(task, play, self.started)
        deployment.update(failedTasks=FAILED_TASKS, updatedAt=datetime.now(UTC))
        service_event(
            service,
            f"(service {service.name}) deployment {deployment['id']} "
            f"deployment failed: tasks failed to start.",
        )
        breaker = (getattr(service, "deployment_configuration", None) or {}).get(
            "deploymentCircuitBreaker", {}
        )
        if not breaker.get("enable"):
            return []  # without the circuit breaker ECS keeps retrying and says nothing more
        deployment.update(
            rolloutState="FAILED",
            rolloutStateReason="ECS deployment circuit breaker: tasks failed to start.",
        )
        events = [
            deployment_event(
                service,
                deployment["id"],
                "SERVICE_DEPLOYMENT_FAILED",
                "ECS deployment circuit breaker: task failed to start.",
                "ERROR",
            )
        ]
        if not breaker.get("rollback"):
            return events
        return events + self._start_rollback(
            service, deployment, rollout, now, "ECS deployment circuit breaker",
            reason="ECS deployment circuit breaker: tasks failed to start.",
            failed_tasks=FAILED_TASKS,
        )  # fmt: skip

    def _start_rollback(
        self, service: Any, deployment: dict[str, Any], rollout: Rollout, now: float, by: str,
        *, reason: str, alarm: str | None = None, failed_tasks: int = 0,
    ) -> list[EmittedEvent]:  # fmt: skip
        """Roll back to the previous deployment, announced as ECS announces it."""
        previous = next((d for d in service.deployments if d["status"] == "ACTIVE"), None)
        if previous is None:
            return []
        service_deployments.rolling_back(
            service, deployment["id"], previous["id"], reason, alarm=alarm,
            failed_tasks=failed_tasks,
        )  # fmt: skip
        rollback = new_deployment(service, previous["taskDefinition"], rollback=True)
        service.deployments[:] = [rollback, previous]
        self._rollouts[rollback["id"]] = Rollout(
            rollout.service_key,
            rollback["id"],
            previous["taskDefinition"],
            now,
            rollback_of=deployment["id"],
            rollback_to=previous["id"],
        )
        return [
            deployment_event(
                service,
                deployment["id"],
                "SERVICE_DEPLOYMENT_IN_PROGRESS",
                f"{by}: rolling back to deploymentId {previous['id']}.",
            )
        ]

    # ---- blue/green, canary and linear deployments; failures ------------------------------------

    def _advance_stages(
        self, service: Any, deployment: dict[str, Any], rollout: Rollout, now: float
    ) -> list[EmittedEvent]:
        """Move a blue/green, canary or linear deployment on (`strategies`), and act on where
        it stops: still waiting, completed, or failed."""
        outcome = advance_stages(self, service, deployment, rollout, now)
        reported = reported_stage(self.lifecycle.get(deployment["id"]) or [])
        if reported is not None:
            service_deployments.at_stage(service, deployment["id"], reported)
        if isinstance(outcome, Failure):
            return self._failure(service, deployment, rollout, now, outcome)
        if outcome == "complete":
            return self._complete(service, deployment, rollout)
        return []

    def _failure(
        self, service: Any, deployment: dict[str, Any], rollout: Rollout, now: float,
        failure: Failure,
    ) -> list[EmittedEvent]:  # fmt: skip
        """The deployment failed (a hook, an alarm): FAILED, then the rollback if asked for."""
        reason = failure.reason
        deployment.update(rolloutState="FAILED", rolloutStateReason=reason,
                          updatedAt=datetime.now(UTC))  # fmt: skip
        rollout.done = True
        events = [
            deployment_event(
                service, deployment["id"], "SERVICE_DEPLOYMENT_FAILED", reason, "ERROR"
            )
        ]
        if not failure.roll_back:
            return events
        return events + self._start_rollback(
            service, deployment, rollout, now, failure.by, reason=reason, alarm=failure.alarm
        )
