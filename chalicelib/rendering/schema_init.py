"""Schema initialisation of a WSO2 service's databases: which of WSO2's `dbscripts` run against
which JDBC URL of the service (the scripts: `chalicelib.wso2.dbscripts`; what a spec may ask for:
`chalicelib.spec.rules.schema_init`).

A service with `schemaInit` gets its databases' tables from a one-off ECS task (RunTask) before
its first deployment in an environment: a container of the product image copies
`<HOME>/dbscripts` into a task volume and exits, then the operator's SQL client image runs the
planned scripts (`chalicelib.rendering.schema_task.render_schema_task_definition`). Pure:
values in, values out. Which scripts WSO2 ships, with their sources: `chalicelib.wso2.dbscripts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.wso2.dbscripts import CREDENTIALS, SCRIPTS, DatabaseType, database_type

if TYPE_CHECKING:
    from chalicelib.spec.model import Service

SCRIPTS_MOUNT = "/berth/dbscripts"
# The variable the client container reads its plan from (see `SchemaPlan.text`).
PLAN_VARIABLE = "BERTH_SCHEMA_PLAN"

@dataclass(frozen=True)
class SchemaPlan:
    """What the client container runs: each script against the database one variable names."""

    database: DatabaseType
    steps: tuple[tuple[str, str], ...]
    user_variable: str
    password_secret: str

    @property
    def text(self) -> str:
        """`VARIABLE=PATH` pairs, space-separated, in order: the client image's instructions."""
        return " ".join(f"{var}={SCRIPTS_MOUNT}/{script}" for var, script in self.steps)


def schema_plan(svc: Service) -> SchemaPlan | None:
    """The plan of a service whose spec passed the rules; None without `schemaInit`."""
    if svc.schema_init is None or not svc.schema_init.initialize:
        return None
    scripts = SCRIPTS[svc.product]
    first_variable = next(iter(scripts["mysql"]))[0]
    database = database_type(svc.environment.get(first_variable, ""))
    if database is None:
        return None
    user, password = CREDENTIALS[svc.product]
    return SchemaPlan(database, scripts[database], user, password)


def needs_schema_init(svc: Service, live_service_exists: bool) -> bool:
    """Run the schema task before this deployment? Only before the service's first one in the
    environment: with a live service its databases already hold WSO2's tables, and WSO2's
    scripts create tables without `IF NOT EXISTS`, so a second run would fail."""
    return schema_plan(svc) is not None and not live_service_exists


def schema_task_outcome(task: dict[str, object], container: str) -> tuple[bool, str] | None:
    """What an ECS task (DescribeTasks or a Task State Change event's detail) says of the schema
    run: None while it has not STOPPED; else (succeeded, reason). It succeeded when the client
    container exited 0 (ECS Container.exitCode), as ECS's own SUCCESS condition means."""
    if task.get("lastStatus") != "STOPPED":
        return None
    containers = task.get("containers")
    found = next(
        (c for c in containers if isinstance(c, dict) and c.get("name") == container),
        None,
    ) if isinstance(containers, list) else None  # fmt: skip
    code = found.get("exitCode") if found else None
    if code == 0:
        return True, "the schema task's client exited 0"
    why = (found or {}).get("reason") or task.get("stoppedReason") or "no reason given"
    if code is None:
        return False, f"the schema task stopped before its client ran: {why}"
    return False, f"the schema task's client exited {code}: {why}"


# ---- the schema task as a record of the run ------------------------------------------------
# The schema task is deployed as a pseudo-service `<service>.schema` of the run (a dot cannot
# appear in a service name), which the service's own record waits for like a dependency.

SCHEMA_SUFFIX = ".schema"
GROUP_PREFIX = "berth-schema:"


def schema_service(service: str) -> str:
    """The pseudo-service whose records are `service`'s schema task runs."""
    return f"{service}{SCHEMA_SUFFIX}"


def schema_owner(service: str) -> str | None:
    """The service a pseudo-service initialises; None for a real service."""
    return service.removesuffix(SCHEMA_SUFFIX) if service.endswith(SCHEMA_SUFFIX) else None


def schema_group(environment: str, service: str) -> str:
    """The RunTask `group` of a schema task: its Task State Change events carry it back
    (ECS developer guide, "Amazon ECS task state change events": detail.group)."""
    return f"{GROUP_PREFIX}{environment}:{service}"


def parse_schema_group(group: str) -> tuple[str, str] | None:
    """(environment, service) of a schema task's group; None for any other task."""
    if not group.startswith(GROUP_PREFIX):
        return None
    environment, _, service = group.removeprefix(GROUP_PREFIX).partition(":")
    return (environment, service) if environment and service else None
