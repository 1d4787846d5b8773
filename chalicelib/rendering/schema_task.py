"""The schema task (schemaInit): its task definition, copying WSO2's dbscripts out of the product
image for the SQL client, and its RunTask input."""

from __future__ import annotations

from typing import Any

from chalicelib.spec.model import Spec

from .images import ImageRef
from .schema_init import PLAN_VARIABLE, SCRIPTS_MOUNT, schema_plan
from .service_request import render_service_settings

SCHEMA_COPIER = "dbscripts"


SCHEMA_CLIENT = "schema"


STARTED_BY_SCHEMA = "berth-schema"


def schema_family(spec: Spec, service: str) -> str:
    return f"{spec.environment}-{service}-schema"


def render_schema_task_definition(
    spec: Spec, name: str, product: ImageRef, account: str, region: str
) -> dict[str, Any]:
    """The RegisterTaskDefinition input of `name`'s schema task: the product image (the build
    being deployed) copies `<HOME>/dbscripts` into a task volume and exits; then the spec's SQL
    client runs the plan (`BERTH_SCHEMA_PLAN`: `VARIABLE=SCRIPT` pairs) against the service's own
    database URLs, as the service's own database user. Raises ValueError for a service without a
    schema plan (the spec rules refuse one that asks for it and cannot have it)."""
    svc = spec.services[name]
    plan = schema_plan(svc)
    if plan is None or svc.schema_init is None:
        raise ValueError(f"service {name} has no schema initialisation")
    client = svc.schema_init.image
    logs = {
        "logDriver": "awslogs",
        "options": {"awslogs-group": spec.log_group_of(name), "awslogs-region": region,
                    "awslogs-stream-prefix": schema_family(spec, name)},
    }  # fmt: skip
    mount = {"sourceVolume": SCHEMA_COPIER, "containerPath": SCRIPTS_MOUNT}
    variables = {var: svc.environment[var] for var, _ in plan.steps}
    variables[plan.user_variable] = svc.environment[plan.user_variable]
    variables[PLAN_VARIABLE] = plan.text
    copier = {
        "name": SCHEMA_COPIER,
        "image": product.uri(account, region),
        "essential": False,
        # Not the product's entrypoint (it would start WSO2): a copy, then exit 0. As root: the
        # volume's directory is made by ECS, not owned by the image's user.
        "entryPoint": ["sh", "-c"],
        "command": [f"cp -R {svc.preset.home}/dbscripts/. {SCRIPTS_MOUNT}/"],
        "user": "0",
        "mountPoints": [{**mount, "readOnly": False}],
        "logConfiguration": logs,
    }
    runner = {
        "name": SCHEMA_CLIENT,
        # SchemaInit refuses a tracked client image: it is always pinned by digest.
        "image": ImageRef(client.repository, client.digest or "", client.tag).uri(account, region),
        "essential": True,
        "dependsOn": [{"containerName": SCHEMA_COPIER, "condition": "SUCCESS"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(variables.items())],
        "secrets": [{"name": plan.password_secret, "valueFrom": svc.secrets[plan.password_secret]}],
        "mountPoints": [{**mount, "readOnly": True}],
        "logConfiguration": logs,
    }
    task: dict[str, Any] = {
        "family": schema_family(spec, name),
        "networkMode": "awsvpc",
        "requiresCompatibilities": [spec.launch_type_of(name)],
        "cpu": "512",
        "memory": "1024",
        "runtimePlatform": {"cpuArchitecture": svc.architecture, "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [copier, runner],
        "volumes": [{"name": SCHEMA_COPIER}],
    }
    if execution_role := spec.execution_role_of(name):
        task["executionRoleArn"] = execution_role
    tags = {**spec.tags, **svc.tags, "berth:environment": spec.environment, "berth:service": name,
            "berth:purpose": "schema"}  # fmt: skip
    task["tags"] = [{"key": k, "value": v} for k, v in sorted(tags.items())]
    return task


def schema_run_task_request(
    spec: Spec, name: str, task_definition_arn: str, client_token: str
) -> dict[str, Any]:
    """The RunTask input of `name`'s schema task: one task in the service's cluster and network,
    started by Berth (`startedBy`, at most 36 characters), its client token making a retry of
    the same record's run idempotent (RunTask clientToken)."""
    request: dict[str, Any] = {
        "cluster": spec.cluster,
        "taskDefinition": task_definition_arn,
        "count": 1,
        "launchType": spec.launch_type_of(name),
        "startedBy": STARTED_BY_SCHEMA,
        "propagateTags": "TASK_DEFINITION",
        "enableECSManagedTags": True,
        "clientToken": client_token,
    }
    network = render_service_settings(spec, name).get("networkConfiguration")
    if network is not None:
        request["networkConfiguration"] = network
    return request
