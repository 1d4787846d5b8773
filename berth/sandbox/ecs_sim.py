"""SIMULATION of the ECS service scheduler, for the sandbox only.

moto records CreateService/UpdateService but never rolls a deployment out, and never emits the
EventBridge events ECS sends. This module plays ECS's part against moto's in-process backend:

- UpdateService with a new task definition starts a new PRIMARY deployment (the old one turns
  ACTIVE), as ECS does; the settings moto drops (deploymentConfiguration, grace period) are kept;
- each new deployment is announced with SERVICE_DEPLOYMENT_IN_PROGRESS, then after
  `rollout_seconds` it either COMPLETES (running count = desired, older deployments drained) or
  fails: an image digest missing from the sandbox ECR stops its tasks with
  CannotPullContainerError, a missing awslogs log group with ResourceInitializationError, an image
  pushed with the broken-health-check marker with a failed container health check. With the
  circuit breaker on, the deployment FAILS and a rollback deployment to the previous task
  definition runs and completes, with the events ECS sends;
- a task of several containers starts them as the ECS agent does: in `dependsOn` order, each
  once its dependencies reached their condition (START, COMPLETE, SUCCESS, HEALTHY); an image
  annotated with EXIT_CODE_MARKER exits with that code once started, and a container others
  wait for to COMPLETE or SUCCEED exits 0 unless its image says otherwise. A dependency that
  can never be met stops the waiting container, and an essential container that stops stops
  the task ("Essential container in task exited"), with the agent's words for each container;
- RunTask starts a one-off task (e.g. Berth's schema task): after `rollout_seconds` every
  container has run to completion in `dependsOn` order, exiting 0 unless its image carries
  EXIT_CODE_MARKER, and the task STOPS with an "ECS Task State Change" event (ECS developer
  guide, "Amazon ECS task state change events": lastStatus STOPPED, stopCode
  EssentialContainerExited, each container's exitCode).

- a deployment of a service whose deploymentConfiguration.strategy is BLUE_GREEN, CANARY or
  LINEAR goes through ECS's lifecycle stages (scale up green, test traffic, production traffic in
  one step, a canary step or linear steps, bake time, clean up), invokes the lifecycle hooks
  configured for each stage with ECS's payload and honours their answers (SUCCEEDED, FAILED,
  IN_PROGRESS with callBackDelay), and rolls back when a hook fails or a deployment alarm is in
  ALARM (alarms are CloudWatch alarms of the sandbox, fired on demand); rolling deployments roll
  back on alarms too.

Nothing here is Berth's logic: Berth sees only the API responses and the events, as on AWS.
"""

from __future__ import annotations

import copy
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from graphlib import TopologicalSorter
from typing import Any

from moto.ecs.exceptions import InvalidParameterException
from moto.moto_api._internal import mock_random

from berth.sandbox.strict_ecs import make_strict
from berth.sandbox.strict_ecs.services import service_connect_problem
from berth.sandbox.strict_ecs.strategies import NON_ROLLING, strategy_problem

BROKEN_HEALTH_MARKER = "berth.sandbox/health-check"
EXIT_CODE_MARKER = "berth.sandbox/exit-code"
"""Image annotation: a container of this image exits with this code (a decimal) once started."""
ESSENTIAL_EXITED = "Essential container in task exited"
# The stages of a blue/green, canary or linear deployment, in order (botocore's ecs model,
# ServiceDeploymentLifecycleStage; ECS developer guide, "Lifecycle hooks for Amazon ECS service
# deployments"). RECONCILE_SERVICE "only happens when you start a new service deployment with more
# than 1 service revision in an ACTIVE state": not played.
STAGES = (
    "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP",
)  # fmt: skip
# "IN_PROGRESS - Amazon ECS invokes the function again after a delay. By default, the delay is 30
# seconds" (ECS developer guide, "Lambda hooks for Amazon ECS service deployments").
HOOK_DEFAULT_DELAY = 30
HOOK_STATUSES = frozenset({"SUCCEEDED", "FAILED", "IN_PROGRESS"})
HookInvoker = Callable[[str, dict[str, Any]], Any]
"""Invoke a Lambda function by ARN with a payload; its answer (raises when the invocation fails)."""
FAILED_TASKS = 2
NO_RESOURCES: dict[str, Any] = {"CPU": 0, "MEMORY": 0, "PORTS": [], "PORTS_UDP": []}
_KEPT_CREATE_SETTINGS = {
    "deploymentConfiguration": "deployment_configuration",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
}


def _keep_create_settings() -> None:
    """moto's CreateService drops settings ECS keeps and DescribeServices returns: keep them."""
    from moto.ecs.responses import EC2ContainerServiceResponse

    original: Any = EC2ContainerServiceResponse.create_service
    if getattr(original, "berth_sandbox", False):
        return

    def create_service(self: Any) -> Any:
        connect = self._get_param("serviceConnectConfiguration")
        task_definition = self._get_param("taskDefinition")
        if connect is not None and task_definition:
            definition = self.ecs_backend.describe_task_definition(task_definition)
            problem = service_connect_problem(definition, connect)
            if problem:
                raise InvalidParameterException(problem)
        # moto's backend takes no deploymentConfiguration: the strategy rules run here.
        problem = strategy_problem(
            self._get_param("deploymentConfiguration"), self._get_param("loadBalancers")
        )
        if problem:
            raise InvalidParameterException(problem)
        result = original(self)
        service = result.result["service"]
        for param, attr in _KEPT_CREATE_SETTINGS.items():
            value = self._get_param(param)
            if value is not None:
                setattr(service, attr, value)
        if connect is not None:
            # moto drops it. AWS reports it on each deployment, never at the service's top level
            # (ECS API reference: Deployment.serviceConnectConfiguration, "used by this
            # deployment"; the Service shape has no such member).
            service.service_connect_configuration = connect
            for deployment in service.deployments:
                deployment["serviceConnectConfiguration"] = connect
        return result

    create_service.berth_sandbox = True  # type: ignore[attr-defined]
    EC2ContainerServiceResponse.create_service = create_service  # type: ignore[method-assign]


_keep_create_settings()


def _secret_exists(value_from: str) -> bool:
    """Does the Secrets Manager secret or SSM parameter an ECS `valueFrom` names exist?
    (`arn:...:secret:NAME[-suffix][:json-key:stage:version]`, `arn:...:parameter/NAME`)."""
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.ssm.models import ssm_backends

    parts = value_from.split(":")
    if len(parts) < 6:
        return False
    region, account = parts[3], parts[4]
    if parts[2] == "secretsmanager" and len(parts) >= 7:
        return parts[6] in secretsmanager_backends[account][region].secrets
    if parts[2] == "ssm" and parts[5].startswith("parameter/"):
        name = parts[5].removeprefix("parameter")
        return ssm_backends[account][region].get_parameter(name) is not None
    return False


def _redeploying_state(service: Any) -> str:
    return json.dumps(
        [service.task_definition, service.load_balancers, service.network_configuration,
         getattr(service, "service_connect_configuration", None)],
        sort_keys=True,
        default=str,
    )


def _satisfied(condition: str, end: ContainerEnd, healthy: bool) -> bool:
    """Is a ContainerDependency met (ECS API reference, ContainerDependency.condition)?"""
    if not end.started:
        return False
    if condition == "COMPLETE":
        return end.status == "STOPPED"
    if condition == "SUCCESS":
        return end.status == "STOPPED" and end.exit_code == 0
    if condition == "HEALTHY":
        return end.status == "RUNNING" and healthy
    return True  # START


@dataclass
class _Rollout:
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
class _OneOff:
    """A task RunTask started, to be played to its end."""

    cluster: str
    task_arn: str
    task_definition: str
    started_at: float
    done: bool = False


@dataclass(frozen=True)
class ContainerEnd:
    """Where one container of a simulated task ends up."""

    status: str  # RUNNING or STOPPED
    reason: str = ""
    exit_code: int | None = None
    started: bool = True


@dataclass(frozen=True)
class TaskPlay:
    """How a task of one task definition runs in the sandbox: `stopped_reason` is None when it
    keeps running; `started` is the order its containers started in."""

    stopped_reason: str | None
    containers: dict[str, ContainerEnd]
    started: tuple[str, ...] = ()


@dataclass
class EmittedEvent:
    detail_type: str
    detail: dict[str, Any]
    resources: list[str]


@dataclass
class SimulatedEcs:
    account: str
    region: str
    rollout_seconds: float = 0.5
    emitted: list[EmittedEvent] = field(default_factory=list)
    started: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Task ARN -> its containers in the order they started."""
    _rollouts: dict[str, _Rollout] = field(default_factory=dict)
    _one_offs: list[_OneOff] = field(default_factory=list)
    invoke_hook: HookInvoker | None = None
    """How ECS reaches a lifecycle hook's Lambda function (the sandbox runs app.py's)."""
    time_scale: float = 0.001
    """Real seconds per simulated second, for callBackDelay and bake times (30 s -> 0.03 s)."""
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
        original_update: Any = self.ecs.update_service

        def update_service(service_properties: dict[str, Any]) -> Any:
            cluster = str(service_properties.get("cluster", "default")).split("/")[-1]
            key = f"{cluster}:{str(service_properties.get('service', '')).split('/')[-1]}"
            existing = self.ecs.services.get(key)
            before = _redeploying_state(existing) if existing is not None else None
            service = original_update(service_properties)
            # A new task definition, load balancers, network or Service Connect configuration
            # each start a new deployment (ECS API reference, UpdateService: "This parameter
            # triggers a new service deployment"); desired count and deployment configuration
            # do not. (moto keeps serviceConnectConfiguration as an attribute of the service;
            # DescribeServices shows it only on deployments, as AWS does.)
            if _redeploying_state(service) != before:
                self._new_deployment(service, service.task_definition)
            return service

        self.ecs.update_service = update_service  # type: ignore[method-assign]
        signature = inspect.signature(self.ecs.run_task)

        def run_task(*args: Any, **kwargs: Any) -> list[Any]:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            return self._run_task(bound.arguments)

        self.ecs.run_task = run_task  # type: ignore[method-assign]

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
        tasks = self._new_tasks(
            cluster, definition.arn, int(a["count"] or 1),
            group=a.get("group") or f"family:{definition.family}",
            started_by=a.get("started_by") or "", launch_type=a.get("launch_type") or "EC2",
        )  # fmt: skip
        for task in tasks:
            task.last_status = "PROVISIONING"
            self._one_offs.append(_OneOff(cluster, task.task_arn, definition.arn, time.monotonic()))
        return tasks

    def _new_deployment(
        self, service: Any, task_definition: str, rollback: bool = False
    ) -> dict[str, Any]:
        now = datetime.now(UTC)
        for deployment in service.deployments:
            if deployment["status"] == "PRIMARY":
                deployment["status"] = "ACTIVE"
        deployment = {
            "id": f"ecs-svc/{mock_random.randint(10**18, 10**19 - 1)}",
            "status": "PRIMARY",
            "taskDefinition": task_definition,
            "desiredCount": service.desired_count,
            "pendingCount": service.desired_count,
            "runningCount": 0,
            "failedTasks": 0,
            "createdAt": now,
            "updatedAt": now,
            "launchType": service.launch_type,
            "rolloutState": "IN_PROGRESS",
            "rolloutStateReason": "ECS deployment in progress."
            if not rollback
            else "ECS deployment circuit breaker: rolling back.",
        }
        connect = getattr(service, "service_connect_configuration", None)
        if connect is not None:
            deployment["serviceConnectConfiguration"] = connect
        service.deployments.insert(0, deployment)
        service.task_definition = task_definition
        return deployment

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
            self._rollouts[deployment["id"]] = _Rollout(
                key, deployment["id"], deployment["taskDefinition"], now
            )
            events.append(
                self._deployment_event(
                    service,
                    deployment["id"],
                    "SERVICE_DEPLOYMENT_IN_PROGRESS",
                    f"ECS deployment {deployment['id']} in progress.",
                )
            )
        for rollout in list(self._rollouts.values()):
            if rollout.done or now - rollout.announced_at < self.rollout_seconds:
                continue
            if rollout.due_at is not None and now < rollout.due_at:
                continue
            if rollout.deployment_id in {e.detail["deploymentId"] for e in events}:
                continue
            events += self._decide(rollout, now)
        for one_off in self._one_offs:
            if not one_off.done and now - one_off.started_at >= self.rollout_seconds:
                events.append(self._finish_one_off(one_off))
        self.emitted += events
        return events

    def _finish_one_off(self, one_off: _OneOff) -> EmittedEvent:
        """Play a RunTask task to its end and tell it as ECS does."""
        one_off.done = True
        task = self.ecs.tasks[one_off.cluster][one_off.task_arn]
        play = self.play(one_off.task_definition, one_off=True)
        self._stop(task, play)
        stopped_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        detail = {
            "clusterArn": task.cluster_arn,
            "taskArn": task.task_arn,
            "taskDefinitionArn": one_off.task_definition,
            "group": task.group,
            "startedBy": task.started_by,
            "launchType": task.launch_type,
            "lastStatus": "STOPPED",
            "desiredStatus": "STOPPED",
            "stopCode": "EssentialContainerExited"
            if play.stopped_reason == ESSENTIAL_EXITED
            else "TaskFailedToStart",
            "stoppedReason": play.stopped_reason or "",
            "stoppedAt": stopped_at,
            "containers": [
                {"name": c.name, "lastStatus": "STOPPED", "taskArn": task.task_arn,
                 **({"exitCode": c.exitCode} if c.exitCode is not None else {}),
                 **({"reason": c.reason} if getattr(c, "reason", "") else {})}
                for c in task.containers
            ],
        }  # fmt: skip
        return EmittedEvent("ECS Task State Change", detail, [task.task_arn])

    def _decide(self, rollout: _Rollout, now: float) -> list[EmittedEvent]:
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
            if self._strategy(service) in NON_ROLLING:
                return self._advance_stages(service, deployment, rollout, now)
            alarm = self._alarm_in_alarm(service)
            if alarm is not None:
                return self._alarm_failure(service, deployment, rollout, now, alarm=alarm, stage="")
        if rollout.rollback_of or play.stopped_reason is None:
            return self._complete(service, deployment, rollout)
        return self._fail(service, deployment, rollout, play, now)

    def _complete(
        self, service: Any, deployment: dict[str, Any], rollout: _Rollout
    ) -> list[EmittedEvent]:
        deployment.update(
            rolloutState="COMPLETED",
            runningCount=service.desired_count,
            pendingCount=0,
            rolloutStateReason=f"ECS deployment {deployment['id']} completed.",
            updatedAt=datetime.now(UTC),
        )
        service.deployments[:] = [deployment]
        self._run_tasks(service, deployment)
        service.running_count = service.desired_count
        service.pending_count = 0
        service.events.insert(
            0,
            {
                "id": str(mock_random.uuid4()),
                "createdAt": datetime.now(UTC),
                "message": f"(service {service.name}) has reached a steady state.",
            },
        )
        return [
            self._deployment_event(
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
        rollout: _Rollout,
        play: TaskPlay,
        now: float,
    ) -> list[EmittedEvent]:
        for task in self._tasks(service, deployment, FAILED_TASKS):
            self._stop(task, play)
        deployment.update(failedTasks=FAILED_TASKS, updatedAt=datetime.now(UTC))
        service.events.insert(
            0,
            {
                "id": str(mock_random.uuid4()),
                "createdAt": datetime.now(UTC),
                "message": f"(service {service.name}) deployment {deployment['id']} "
                f"deployment failed: tasks failed to start.",
            },
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
            self._deployment_event(
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
            service, deployment, rollout, now, "ECS deployment circuit breaker"
        )

    def _start_rollback(
        self, service: Any, deployment: dict[str, Any], rollout: _Rollout, now: float, by: str
    ) -> list[EmittedEvent]:
        """Roll back to the previous deployment, announced as ECS announces it."""
        previous = next((d for d in service.deployments if d["status"] == "ACTIVE"), None)
        if previous is None:
            return []
        rollback = self._new_deployment(service, previous["taskDefinition"], rollback=True)
        service.deployments[:] = [rollback, previous]
        self._rollouts[rollback["id"]] = _Rollout(
            rollout.service_key,
            rollback["id"],
            previous["taskDefinition"],
            now,
            rollback_of=deployment["id"],
            rollback_to=previous["id"],
        )
        return [
            self._deployment_event(
                service,
                deployment["id"],
                "SERVICE_DEPLOYMENT_IN_PROGRESS",
                f"{by}: rolling back to deploymentId {previous['id']}.",
            )
        ]

    # ---- blue/green, canary and linear deployments; alarms ---------------------------------------

    @staticmethod
    def _configuration(service: Any) -> dict[str, Any]:
        return dict(getattr(service, "deployment_configuration", None) or {})

    def _strategy(self, service: Any) -> str:
        return str(self._configuration(service).get("strategy") or "ROLLING")

    def _alarm_in_alarm(self, service: Any) -> str | None:
        """The first deployment alarm of the service in ALARM state (DeploymentAlarms: "When
        the alarms are generated, Amazon ECS sets the service deployment to failed")."""
        from moto.cloudwatch.models import cloudwatch_backends

        alarms = self._configuration(service).get("alarms") or {}
        if not alarms.get("enable"):
            return None
        known = cloudwatch_backends[self.account][self.region].alarms
        for name in alarms.get("alarmNames") or []:
            alarm = known.get(name)
            if alarm is not None and alarm.state_value == "ALARM":
                return str(name)
        return None

    def _failure(
        self, service: Any, deployment: dict[str, Any], rollout: _Rollout, now: float, *,
        reason: str, by: str, roll_back: bool,
    ) -> list[EmittedEvent]:  # fmt: skip
        """The deployment failed (a hook, an alarm): FAILED, then the rollback if asked for."""
        deployment.update(rolloutState="FAILED", rolloutStateReason=reason,
                          updatedAt=datetime.now(UTC))  # fmt: skip
        rollout.done = True
        events = [
            self._deployment_event(
                service, deployment["id"], "SERVICE_DEPLOYMENT_FAILED", reason, "ERROR"
            )
        ]
        if not roll_back:
            return events
        return events + self._start_rollback(service, deployment, rollout, now, by)

    def _alarm_failure(
        self, service: Any, deployment: dict[str, Any], rollout: _Rollout, now: float, *,
        alarm: str, stage: str,
    ) -> list[EmittedEvent]:  # fmt: skip
        # AWS's wording for an alarm-failed deployment was not found in public reports: the
        # sandbox's own, naming the alarm as DescribeServiceDeployments' triggeredAlarmNames does.
        during = f" during {stage}" if stage else ""
        reason = f"ECS deployment alarm {alarm} is in ALARM state{during}."
        roll_back = bool((self._configuration(service).get("alarms") or {}).get("rollback"))
        return self._failure(service, deployment, rollout, now, reason=reason,
                             by="ECS deployment alarms", roll_back=roll_back)  # fmt: skip

    def _revision_arn(self, service: Any, deployment: dict[str, Any]) -> str:
        number = str(deployment["id"]).rsplit("/", 1)[-1]
        return (
            f"arn:aws:ecs:{self.region}:{self.account}:service-revision/"
            f"{service.cluster_name}/{service.name}/{number}"
        )

    def _hook_payload(
        self, service: Any, deployment: dict[str, Any], stage: str, rollout: _Rollout,
        hook: dict[str, Any],
    ) -> dict[str, Any]:  # fmt: skip
        """What ECS passes a lifecycle hook (ECS developer guide, "Lifecycle hooks for Amazon ECS
        service deployments", Lifecycle payloads: serviceArn, targetServiceRevisionArn,
        testTrafficWeights and productionTrafficWeights, maps of service revision ARN to
        percentage; under executionDetails, beside the stage, the service deployment and the
        hookDetails configured or returned with IN_PROGRESS, "Lambda hooks for Amazon ECS service
        deployments")."""
        green = self._revision_arn(service, deployment)
        previous = next((d for d in service.deployments if d["status"] == "ACTIVE"), None)
        blue = self._revision_arn(service, previous) if previous else None
        tested = STAGES.index(stage) >= STAGES.index("TEST_TRAFFIC_SHIFT")
        test = {green: 100} if tested else ({blue: 100} if blue else {})
        production = {green: rollout.production}
        if blue is not None:
            production[blue] = 100 - rollout.production
        number = str(deployment["id"]).rsplit("/", 1)[-1]
        return {
            "executionDetails": {
                "testTrafficWeights": test,
                "productionTrafficWeights": production,
                "serviceArn": service.arn,
                "targetServiceRevisionArn": green,
            },
            "executionId": str(mock_random.uuid4()),
            "lifecycleStage": stage,
            "resourceArn": (
                f"arn:aws:ecs:{self.region}:{self.account}:service-deployment/"
                f"{service.cluster_name}/{service.name}/{number}"
            ),
            "hookDetails": rollout.hook_details
            if rollout.hook_details is not None
            else hook.get("hookDetails"),
        }

    def _invoke(self, hook: dict[str, Any], payload: dict[str, Any]) -> Any:
        answer: Any = None
        if self.invoke_hook is not None:
            try:
                answer = self.invoke_hook(str(hook.get("hookTargetArn")), payload)
            except Exception as exc:  # the function failed: ECS rolls back
                answer = {"error": f"{type(exc).__name__}: {exc}"}
        self.hook_invocations.append(
            {"function": hook.get("hookTargetArn"), "payload": payload, "answer": answer}
        )
        return answer

    def _production_steps(self, service: Any) -> tuple[list[float], int]:
        """The production traffic percentages green gets, and the minutes between steps
        (CanaryConfiguration, LinearConfiguration: defaults 5.0/10 and 10.0/6)."""
        config = self._configuration(service)
        strategy = self._strategy(service)
        if strategy == "CANARY":
            canary = config.get("canaryConfiguration") or {}
            return [float(canary.get("canaryPercent", 5.0)), 100.0], int(
                canary.get("canaryBakeTimeInMinutes", 10)
            )
        if strategy == "LINEAR":
            linear = config.get("linearConfiguration") or {}
            step = float(linear.get("stepPercent", 10.0))
            steps = [min(100.0, round(step * i, 1)) for i in range(1, int(100 // step) + 2)]
            return sorted(set(steps)), int(linear.get("stepBakeTimeInMinutes", 6))
        return [100.0], 0

    def _wait(self, rollout: _Rollout, now: float, seconds: float) -> None:
        rollout.due_at = now + seconds * self.time_scale
        rollout.done = False

    def _advance_stages(
        self, service: Any, deployment: dict[str, Any], rollout: _Rollout, now: float
    ) -> list[EmittedEvent]:
        """Move a blue/green, canary or linear deployment on from where it waits."""
        hooks = list(self._configuration(service).get("lifecycleHooks") or [])
        visited = self.lifecycle.setdefault(deployment["id"], [])
        while rollout.stage < len(STAGES):
            stage = STAGES[rollout.stage]
            if not visited or visited[-1] != stage:
                visited.append(stage)
            alarm = self._alarm_in_alarm(service)
            if alarm is not None:
                return self._alarm_failure(service, deployment, rollout, now, alarm=alarm,
                                           stage=stage)  # fmt: skip
            for index, hook in enumerate(hooks):
                if stage not in (hook.get("lifecycleStages") or []):
                    continue
                if (stage, index) in rollout.hooks_passed:
                    continue
                answer = self._invoke(hook, self._hook_payload(service, deployment, stage,
                                                               rollout, hook))  # fmt: skip
                status = answer.get("hookStatus") if isinstance(answer, dict) else None
                if status == "IN_PROGRESS":
                    rollout.hook_details = answer.get("hookDetails", rollout.hook_details)
                    self._wait(rollout, now, float(answer.get("callBackDelay")
                                                   or HOOK_DEFAULT_DELAY))  # fmt: skip
                    return []
                if status != "SUCCEEDED":
                    return self._hook_failure(service, deployment, rollout, now, stage=stage,
                                              hook=hook, status=status)  # fmt: skip
                rollout.hooks_passed.add((stage, index))
                rollout.hook_details = None
            if stage == "PRODUCTION_TRAFFIC_SHIFT" and rollout.production < 100:
                steps, bake = self._production_steps(service)
                rollout.production = next(p for p in steps if p > rollout.production)
                self.traffic.setdefault(deployment["id"], []).append(rollout.production)
                if rollout.production < 100:
                    self._wait(rollout, now, bake * 60)
                    return []
                continue
            if stage == "BAKE_TIME" and not rollout.baked:
                rollout.baked = True
                minutes = int(self._configuration(service).get("bakeTimeInMinutes") or 0)
                self._wait(rollout, now, minutes * 60)
                return []
            rollout.stage += 1
        rollout.due_at = None
        return self._complete(service, deployment, rollout)

    def _hook_failure(
        self, service: Any, deployment: dict[str, Any], rollout: _Rollout, now: float, *,
        stage: str, hook: dict[str, Any], status: str | None,
    ) -> list[EmittedEvent]:  # fmt: skip
        # "FAILED - Amazon ECS rolls back the deployment to the last successful service
        # revision"; "If your function doesn't return a valid hookStatus, or if it fails, Amazon
        # ECS rolls back the deployment" (ECS developer guide, Lambda hooks). The event's wording
        # is the sandbox's own (AWS's was not found in public reports).
        answered = f"returned {status}" if status else "did not return a valid hookStatus"
        reason = (
            f"ECS deployment lifecycle hook {hook.get('hookTargetArn')} {answered} at {stage}."
        )
        return self._failure(service, deployment, rollout, now, reason=reason,
                             by="ECS deployment lifecycle hook", roll_back=True)  # fmt: skip

    def _tasks(self, service: Any, deployment: dict[str, Any], count: int) -> list[Any]:
        """`count` tasks of a deployment, registered in moto as the service's own, one moto
        container per container definition (moto's own Task makes one, of the first)."""
        return self._new_tasks(
            service.cluster_name, deployment["taskDefinition"], count,
            group=f"service:{service.name}", started_by=deployment["id"], launch_type="FARGATE",
        )  # fmt: skip

    def _new_tasks(
        self, cluster_name: str, task_definition: str, count: int, *, group: str,
        started_by: str, launch_type: str,
    ) -> list[Any]:  # fmt: skip
        from moto.ecs.models import Container as MotoContainer
        from moto.ecs.models import Task

        container_of: Any = MotoContainer  # typed abstract by moto; instantiable at run time

        cluster = self.ecs.clusters[cluster_name]
        # Built directly: moto's RunTask wants container-level memory (Fargate tasks have none)
        # and its awsvpc task set-up fails on ENIs; the copy skips the network attachment.
        definition = copy.copy(self.ecs.describe_task_definition(task_definition))
        definition.network_mode = "bridge"
        definition.arn = task_definition
        tasks = []
        for _ in range(count):
            task: Any = Task(
                cluster=cluster,
                task_definition=definition,
                container_instance_arn=None,
                resource_requirements=dict(NO_RESOURCES),
                backend=self.ecs,
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
            self.ecs.tasks.setdefault(cluster.name, {})[task.task_arn] = task
            tasks.append(task)
        return tasks

    def _stop(self, task: Any, play: TaskPlay) -> None:
        """Stop a task as `play` says, each container with its own reason and exit code."""
        task.last_status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stopped_reason = play.stopped_reason or ""
        self.started[task.task_arn] = play.started
        for container in task.containers:
            end = play.containers.get(container.name, ContainerEnd("STOPPED", "", None))
            if end.reason:
                container.reason = end.reason
            container.exitCode = end.exit_code
            container.last_status = "STOPPED"

    def _drain(self, task: Any, deployment: dict[str, Any]) -> None:
        ends = {c.name: ContainerEnd("STOPPED", "", 0) for c in task.containers}
        reason = f"Scaling activity initiated by (deployment {deployment['id']})"
        self._stop(task, TaskPlay(reason, ends, self.started.get(task.task_arn, ())))

    def _run_tasks(self, service: Any, deployment: dict[str, Any]) -> None:
        """The completed deployment's tasks run; the service's older tasks are drained."""
        for task in self.ecs.tasks.get(service.cluster_name, {}).values():
            if task.group == f"service:{service.name}" and task.last_status == "RUNNING":
                self._drain(task, deployment)
        play = self.play(deployment["taskDefinition"])
        for task in self._tasks(service, deployment, service.desired_count):
            task.last_status = "RUNNING"
            self.started[task.task_arn] = play.started
            for container in task.containers:
                end = play.containers.get(container.name, ContainerEnd("RUNNING"))
                if play.stopped_reason is not None:  # a rollback runs what ran before
                    end = ContainerEnd("RUNNING")
                container.last_status = end.status
                if end.status == "STOPPED":
                    container.exitCode = end.exit_code

    # ---- how a task of a definition runs ---------------------------------------------------------

    def _image(self, uri: str) -> Any:
        repository, _, digest = uri.split("/", 1)[-1].partition("@")
        repo = self.ecr.repositories.get(repository)
        return next((i for i in (repo.images if repo else []) if i.image_digest == digest), None)

    def _annotations(self, uri: str) -> dict[str, str]:
        image = self._image(uri)
        return dict(json.loads(image.image_manifest).get("annotations", {})) if image else {}

    def play(self, task_definition_arn: str, one_off: bool = False) -> TaskPlay:
        """How tasks of this task definition run in the sandbox, or why they stop; `one_off`:
        a RunTask task, whose containers run to completion."""
        definition = self.ecs.describe_task_definition(task_definition_arn)
        containers = definition.container_definitions
        every = {c["name"]: ContainerEnd("STOPPED", "", None, started=False) for c in containers}
        missing = next((c for c in containers if self._image(c["image"]) is None), None)
        if missing is not None:
            return TaskPlay(
                "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                f"failed to resolve ref {missing['image']}: not found",
                {**every, missing["name"]: ContainerEnd(
                    "STOPPED", "CannotPullContainerError: image not found", None, False)},
            )  # fmt: skip
        resources = self._resource_failure(definition)
        if resources is not None:
            return TaskPlay(resources, every)
        return self._start(containers, one_off)

    def _resource_failure(self, definition: Any) -> str | None:
        """Fargate's stopped reason when the task's log groups or secrets are missing."""
        groups = {
            (c.get("logConfiguration") or {}).get("options", {}).get("awslogs-group")
            for c in definition.container_definitions
            if (c.get("logConfiguration") or {}).get("logDriver") == "awslogs"
        }
        missing = sorted(g for g in groups if g not in self.logs.groups)
        if missing:
            # Fargate platform 1.4's stopped reason when the awslogs group does not exist
            # (quoted in tests/fixtures/aws/README.md); ECS does not create it.
            return (
                "ResourceInitializationError: failed to validate logger args: create stream has "
                "been retried 1 times: failed to create Cloudwatch log stream: "
                "ResourceNotFoundException: The specified log group does not exist. : exit "
                "status 1"
            )
        missing_secret = next(
            (
                secret["valueFrom"]
                for c in definition.container_definitions
                for secret in c.get("secrets") or []
                if not _secret_exists(secret["valueFrom"])
            ),
            None,
        )
        if missing_secret is not None:
            # Fargate's stopped reason when the execution role cannot fetch a secret that does
            # not exist (quoted in tests/fixtures/aws/README.md, case j).
            return (
                "ResourceInitializationError: unable to pull secrets or registry auth: execution "
                "resource retrieval failed: unable to retrieve secret from asm: service call has "
                f"been retried 1 time(s): failed to fetch secret {missing_secret} from secrets "
                "manager: ResourceNotFoundException: Secrets Manager can't find the specified "
                "secret."
            )
        return None

    def _start(self, containers: list[dict[str, Any]], one_off: bool = False) -> TaskPlay:
        """Start the containers as the ECS agent orders them (ContainerDependency), then stop
        the task if an essential container stopped."""
        by_name = {c["name"]: c for c in containers}
        waited = {
            d["containerName"]
            for c in containers
            for d in c.get("dependsOn") or []
            if d.get("condition") in ("COMPLETE", "SUCCESS")
        }
        sorter = TopologicalSorter(
            {c["name"]: {d["containerName"] for d in c.get("dependsOn") or []} for c in containers}
        )
        ends: dict[str, ContainerEnd] = {}
        started: list[str] = []
        for name in sorter.static_order():
            ends[name] = self._start_one(by_name, name, ends, name in waited or one_off)
            if ends[name].started:
                started.append(name)
        essential_stopped = any(
            by_name[n].get("essential", True) and e.status == "STOPPED" for n, e in ends.items()
        )
        health = self._health_failure(containers[0], ends)
        if health is not None:
            return TaskPlay("Task failed container health checks", health, tuple(started))
        if not essential_stopped:
            return TaskPlay(None, ends, tuple(started))
        # ECS stops the task's other containers once an essential one stopped.
        stopped = ContainerEnd("STOPPED", "", 0)
        ends = {n: e if e.status == "STOPPED" else stopped for n, e in ends.items()}
        return TaskPlay(ESSENTIAL_EXITED, ends, tuple(started))

    def _start_one(
        self, by_name: dict[str, dict[str, Any]], name: str, ends: dict[str, ContainerEnd],
        waited: bool,
    ) -> ContainerEnd:  # fmt: skip
        container = by_name[name]
        for dependency in container.get("dependsOn") or []:
            target = dependency["containerName"]
            end = ends[target]
            healthy = self._healthy(by_name[target])
            if not _satisfied(dependency.get("condition", "START"), end, healthy):
                # The ECS agent's words for a dependency that can never be met; the waiting
                # container is stopped with 143 (aws/amazon-ecs-agent#3218).
                return ContainerEnd(
                    "STOPPED",
                    "CannotStartContainerError: dependency graph: failed to resolve container "
                    f"ordering dependency [{target}({by_name[target]['image']}) "
                    f"({end.status}->RUNNING) - Exit: {end.exit_code}] for target "
                    f"[{name}({container['image']}) (NONE->RUNNING)]",
                    143,
                    started=False,
                )
        marked = self._annotations(container["image"]).get(EXIT_CODE_MARKER)
        if marked is not None:
            return ContainerEnd("STOPPED", "", int(marked))
        return ContainerEnd("STOPPED", "", 0) if waited else ContainerEnd("RUNNING")

    def _healthy(self, container: dict[str, Any]) -> bool:
        annotations = self._annotations(container["image"])
        return bool(container.get("healthCheck")) and (
            annotations.get(BROKEN_HEALTH_MARKER) != "failing"
        )

    def _health_failure(
        self, product: dict[str, Any], ends: dict[str, ContainerEnd]
    ) -> dict[str, ContainerEnd] | None:
        """The product container's health check fails with the broken-health-check marker."""
        if ends[product["name"]].status != "RUNNING":
            return None
        if self._annotations(product["image"]).get(BROKEN_HEALTH_MARKER) != "failing":
            return None
        reason = "Essential container in task exited: health check failed"
        failed = ContainerEnd("STOPPED", reason, 137)
        others = {n: ContainerEnd("STOPPED", "", e.exit_code if e.status == "STOPPED" else 0)
                  for n, e in ends.items()}  # fmt: skip
        return {**others, product["name"]: failed}

    def _deployment_event(
        self, service: Any, deployment_id: str, name: str, reason: str, event_type: str = "INFO"
    ) -> EmittedEvent:
        return EmittedEvent(
            detail_type="ECS Deployment State Change",
            detail={
                "eventType": event_type,
                "eventName": name,
                "deploymentId": deployment_id,
                "updatedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "reason": reason,
            },
            resources=[service.arn],
        )
