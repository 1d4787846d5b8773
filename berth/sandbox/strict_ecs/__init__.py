"""The sandbox's ECS refuses what AWS refuses and answers with AWS's full shapes.

moto's ECS accepts task definitions and services AWS rejects, and returns only part of what AWS
returns (see /tests/fixtures/aws/README.md). A test that passes only because moto is lenient is
a false test, so this package wraps moto's ECS backend in the sandbox:

- RegisterTaskDefinition refuses Fargate sizes outside AWS's table, Fargate definitions without
  task-level cpu, awslogs or ECR images on Fargate without an execution role, and secrets without
  an execution role, each with AWS's ClientException text; and for tasks of several containers:
  more than ten, duplicate names, no essential container, a dependsOn on a container that does
  not exist or (with COMPLETE/SUCCESS) on an essential one, a dependsOn cycle, container cpu or
  memory beyond the task's;
- what DescribeTaskDefinition returns gains the fields AWS adds (enableFaultInjection,
  requiresAttributes, registeredAt/By, hostPort/protocol defaults, systemControls);
- CreateService refuses an awsvpc task definition without networkConfiguration, a launch type
  the task definition does not support, and EFS volumes on a Fargate platform version before
  1.4.0; UpdateService refuses the launch type too, and a service that is not ACTIVE (deleted);
  both refuse load balancers naming a container or port the task definition lacks, or more than
  five target groups.
- both refuse deployment configurations ECS refuses for blue/green, canary and linear deployments
  (strategy_problem: bake times, percentages, the configuration of another strategy, load
  balancers without advancedConfiguration, Lambda hooks without target or role).

Each rule names its source. Error texts were collected from AWS's answers quoted in public issue
reports (listed in tests/fixtures/aws/README.md and beside each rule).

`task_definitions` holds the RegisterTaskDefinition rules and DescribeTaskDefinition's shape,
`services` the CreateService/UpdateService rules, `strategies` the deployment configuration
rules, and `backend` wraps a moto backend with all of them (`make_strict`, the entry).
"""

from berth.sandbox.strict_ecs.backend import make_strict

__all__ = ["make_strict"]
