"""SIMULATION of the ECS service scheduler, for the sandbox only.

moto records CreateService/UpdateService but never rolls a deployment out, and never emits the
EventBridge events ECS sends. This package plays ECS's part against moto's in-process backend:

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

`scheduler` holds SimulatedEcs, the clock that moves deployments and one-off tasks on;
`deployments` what CreateService/UpdateService keep and start; `strategies` the blue/green,
canary and linear lifecycle and alarms; `task_play` how a task's containers run or stop;
`tasks` the moto Task objects; `events` what ECS tells; `progress` what the clock remembers.
"""

from berth.sandbox.ecs_sim.scheduler import SimulatedEcs

__all__ = ["SimulatedEcs"]
