"""Schema initialisation of a WSO2 service's databases: which of WSO2's `dbscripts` run against
which JDBC URL of the service, and what a spec may ask for (issue 16).

A service with `schemaInit` gets its databases' tables from a one-off ECS task (RunTask) before
its first deployment in an environment: a container of the product image copies
`<HOME>/dbscripts` into a task volume and exits, then the operator's SQL client image runs the
planned scripts (`render.render_schema_task_definition`). Pure: values in, values out.

The scripts are WSO2's own, shipped in the product under `<HOME>/dbscripts`:
- APIM 4.7 (wso2/product-apim, `all-in-one-apim/modules/distribution/product/src/main/assembly/
  bin.xml`): `apimgt/<type>.sql` for the API Manager database, `<type>.sql` for the shared
  (registry and user store) database; the database sections of WSO2's `deployment.toml` name
  the two (`[database.apim_db]`, `[database.shared_db]`).
- MI 4.4 (wso2/product-micro-integrator, `distribution/src/dbscripts`): the coordination
  database's `mysql/mysql_cluster.sql` and `postgres/postgresql_cluster.sql`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .located import Path

if TYPE_CHECKING:
    from .fence import StageFence
    from .spec import Service, Spec

DatabaseType = Literal["mysql", "postgresql"]
SCRIPTS_MOUNT = "/berth/dbscripts"
# The variable the client container reads its plan from (see `SchemaPlan.text`).
PLAN_VARIABLE = "BERTH_SCHEMA_PLAN"

# product -> database type -> (the service's URL variable, the script under <HOME>/dbscripts)
SCRIPTS: dict[str, dict[DatabaseType, tuple[tuple[str, str], ...]]] = {
    "wso2am": {
        "mysql": (("APIM_DB_URL", "apimgt/mysql.sql"), ("SHARED_DB_URL", "mysql.sql")),
        "postgresql": (
            ("APIM_DB_URL", "apimgt/postgresql.sql"),
            ("SHARED_DB_URL", "postgresql.sql"),
        ),
    },
    "wso2mi": {
        "mysql": (("MI_COORDINATION_DB_URL", "mysql/mysql_cluster.sql"),),
        "postgresql": (("MI_COORDINATION_DB_URL", "postgres/postgresql_cluster.sql"),),
    },
}
# product -> (the user variable, the password secret) the scripts run as: the ones the product
# itself connects with (docker/*/config-contract.yaml).
CREDENTIALS: dict[str, tuple[str, str]] = {
    "wso2am": ("APIM_DB_USER", "DB_PASSWORD"),
    "wso2mi": ("MI_COORDINATION_DB_USER", "MI_COORDINATION_DB_PASSWORD"),
}


def database_type(url: str) -> DatabaseType | None:
    """The database type of a JDBC URL, as WSO2 ships scripts for it; None for others."""
    if url.startswith("jdbc:mysql:"):
        return "mysql"
    if url.startswith("jdbc:postgresql:"):
        return "postgresql"
    return None


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


def schema_init_problems(spec: Spec) -> list[tuple[Path, str]]:
    """What `schemaInit` needs: a WSO2 product that ships dbscripts, its database URLs set, of
    one type WSO2 has scripts for, and the user and password the scripts run as."""
    problems: list[tuple[Path, str]] = []
    for name, svc in spec.services.items():
        if svc.schema_init is None:
            continue
        at: Path = ("services", name, "schemaInit")
        if svc.product not in SCRIPTS:
            problems.append(
                (at, f"runs WSO2's dbscripts, which {svc.product} does not ship: only "
                     "wso2am and wso2mi services can have it")
            )  # fmt: skip
            continue
        types: set[DatabaseType] = set()
        for variable, _ in SCRIPTS[svc.product]["mysql"]:
            url = svc.environment.get(variable)
            if url is None:
                problems.append(
                    (at, f"needs {variable} in environment: its tables are what it creates")
                )
                continue
            found = database_type(url)
            if found is None:
                problems.append(
                    ((*at[:2], "environment", variable),
                     "schemaInit runs WSO2's scripts for MySQL or PostgreSQL only: give a "
                     "jdbc:mysql: or jdbc:postgresql: URL, or create the tables yourself")
                )  # fmt: skip
            else:
                types.add(found)
        if len(types) > 1:
            problems.append((at, "the databases are of different types; one client runs both"))
        user, password = CREDENTIALS[svc.product]
        if user not in svc.environment:
            problems.append((at, f"needs {user} in environment: the scripts run as that user"))
        if password not in svc.secrets:
            problems.append((at, f"needs {password} in secrets: the password of {user}"))
    return problems


def schema_init_fence_problems(spec: Spec, fence: StageFence) -> list[tuple[Path, str]]:
    """The client image comes from a repository the stage deploys from, as a sidecar's does."""
    listed = ", ".join(sorted(fence.repositories))
    problems: list[tuple[Path, str]] = []
    for name, svc in spec.services.items():
        if svc.schema_init is None:
            continue
        repository = svc.schema_init.image.repository
        if repository not in fence.repositories:
            where: Path = ("services", name, "schemaInit", "image", "repository")
            reason = f"{repository!r} is not a repository this stage deploys from ({listed})"
            problems.append((where, reason))
    return problems


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
