"""Every ECS request Berth renders, checked against a botocore service model: the one the zip
ships (`make package` refuses a botocore that would refuse one), or any other given.

botocore validates a request against its model before sending it (`botocore.validate.
ParamValidator`, run by every client call with the default `parameter_validation = True`); a
member the model does not know is "Unknown parameter in deploymentConfiguration: ...". The
model's data, not botocore's code, is what changes from one botocore to the next: so the requests
are validated here with this environment's ParamValidator against the model files of the SDK
being checked (botocore/data/ecs/<version>/service-2.json[.gz]).

The requests are those of the shipped examples and of each deployment strategy (rolling,
blue/green, canary and linear, with verification, approval and alarms): every member Berth
renders appears in at least one of them (tests/integration/test_package.py checks the union).
"""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.schema_task import render_schema_task_definition, schema_run_task_request
from chalicelib.rendering.service_request import create_service_request, render_service_settings
from chalicelib.rendering.strategies import RolloutRoles
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.model import Spec
from chalicelib.spec.parse import parse_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ACCOUNT, REGION = "123456789012", "us-east-1"
DIGEST = "sha256:" + "a" * 64
ROLES = RolloutRoles(
    load_balancer_role_arn=f"arn:aws:iam::{ACCOUNT}:role/berth-ecs-lb",
    hook_role_arn=f"arn:aws:iam::{ACCOUNT}:role/berth-ecs-hook",
    hook_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:berth-verify_rollout",
)
Request = tuple[str, str, dict[str, Any]]  # (what it is, ECS operation, parameters)


def ecs_model(data: Path) -> ServiceModel:
    """The newest ECS model under a botocore data directory, as botocore's loader picks it."""
    newest = sorted(p for p in (data / "ecs").iterdir() if p.is_dir())[-1]
    compressed = newest / "service-2.json.gz"
    raw = gzip.decompress(compressed.read_bytes()) if compressed.exists() else (
        (newest / "service-2.json").read_bytes()
    )
    return ServiceModel(json.loads(raw), service_name="ecs")


def _strategy_variants(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The blue/green example as canary and as linear (with approval), so that every strategy's
    members are rendered."""
    for strategy, extra in (
        ("canary", {"canary": {"percent": 10.0, "bake": 5}}),
        ("linear", {"linear": {"stepPercent": 25.0, "bake": 3}, "approval": {"timeout": 30}}),
    ):
        variant = copy.deepcopy(document)
        for service in variant["services"].values():
            deployment = service.get("deployment", {})
            if deployment.get("strategy") == "blue-green":
                deployment.pop("bakeTime", None)
                deployment.update({"strategy": strategy, **extra})
        yield strategy, variant


# A SQL client image for the schema task (schemaInit), pinned as a sidecar's is.
SCHEMA_CLIENT = f"berth-sql-client:1@{DIGEST}"


def _with_schema_init(document: dict[str, Any]) -> dict[str, Any]:
    """The example with schema initialisation for its WSO2 services (MySQL URLs already)."""
    variant = copy.deepcopy(document)
    for service in variant["services"].values():
        if service.get("product") in ("wso2am", "wso2mi") and "schemaInit" not in service:
            service["schemaInit"] = {"image": SCHEMA_CLIENT}
    return variant


def example_specs() -> Iterator[tuple[str, Spec]]:
    """Each shipped example, the dev one with schema initialisation, and the blue/green one as
    canary and linear."""
    for path in sorted(EXAMPLES.glob("*.y*ml")) + sorted(EXAMPLES.glob("*.json")):
        raw = path.read_bytes()
        yield path.name, parse_spec(raw, path.name)
        if path.name == "wso2-dev.yaml":
            text = yaml.safe_dump(_with_schema_init(yaml.safe_load(raw))).encode()
            yield f"{path.name} with schemaInit", parse_spec(text, path.name)
        if b"blue-green" in raw:
            for strategy, variant in _strategy_variants(yaml.safe_load(raw)):
                text = yaml.safe_dump(variant).encode()
                yield f"{path.name} as {strategy}", parse_spec(text, path.name)


def rendered_requests() -> Iterator[Request]:
    """RegisterTaskDefinition, CreateService, UpdateService and, for schema initialisation,
    RegisterTaskDefinition and RunTask, for every service of every example spec."""
    for label, spec in example_specs():
        for name, svc in spec.services.items():
            image = ImageRef(svc.image.repository, DIGEST, "4.7.0-1")
            sidecars = {c: ImageRef("sidecar", DIGEST, "1") for c in svc.containers}
            roles = None if svc.deployment.strategy == "rolling" else ROLES
            where = f"{label}: {name}"
            task = render_task_definition(spec, name, image, ACCOUNT, REGION, sidecars=sidecars)
            yield where, "RegisterTaskDefinition", task
            arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{task['family']}:1"
            yield where, "CreateService", create_service_request(spec, name, arn, "token", roles)
            settings = render_service_settings(spec, name, roles)
            update = {"cluster": spec.cluster, "service": name, "taskDefinition": arn, **settings}
            yield where, "UpdateService", update
            if svc.schema_init is not None:
                schema = render_schema_task_definition(spec, name, image, ACCOUNT, REGION)
                yield f"{where} (schema)", "RegisterTaskDefinition", schema
                run = schema_run_task_request(spec, name, arn, "berth-schema:dev:apim")
                yield f"{where} (schema)", "RunTask", run


def refused_requests(data: Path) -> list[str]:
    """Each rendered request the model at `data` refuses, with botocore's own words."""
    model = ecs_model(data)
    validator = ParamValidator()
    refused: list[str] = []
    for where, operation, params in rendered_requests():
        shape = model.operation_model(operation).input_shape
        if shape is None:  # every ECS operation Berth calls takes input
            refused.append(f"{operation}: the model has no input for it")
            continue
        report = validator.validate(params, shape)
        if report.has_errors():
            refused.append(f"{operation} for {where}: {report.generate_report()}")
    return refused
