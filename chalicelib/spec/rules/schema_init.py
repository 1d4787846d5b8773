"""What a spec's `schemaInit` may ask for: a WSO2 product that ships dbscripts, its database URLs
of one type WSO2 has scripts for, the user the scripts run as, and a client image the stage
deploys from."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.located import Path
from chalicelib.wso2.dbscripts import CREDENTIALS, SCRIPTS, DatabaseType, database_type

if TYPE_CHECKING:
    from chalicelib.spec.fence import StageFence
    from chalicelib.spec.model import Spec


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
