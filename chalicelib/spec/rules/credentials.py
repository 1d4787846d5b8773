"""WSO2's default credentials outside development: admin/admin and the super admin stay in dev.

Where the operator marks an environment as not development (`defaultKeystores` declared in the
stage's environments file, the environment's not `true`: the same mark keystores.py reads), a
Micro Integrator service must not run on WSO2's stock logins:
- its management API (HTTPS 9164, the dashboard's and apictl's door) keeps the file user store's
  admin/admin unless MI_MANAGEMENT_PASSWORD is given (docker/mi/config/conf/deployment.toml,
  [[internal_apis.users]]; "Using the Management API", apim.docs.wso2.com/en/4.2.0/observe/
  mi-observe/working-with-management-api/, logs in with "the default admin:admin credentials");
- its service catalog login falls back to APIM's super admin, `admin`, whose rights reach every
  API, user and key in APIM; a user with the Internal/creator role holds the two scopes the
  catalog needs (docs/wso2.md, "Micro Integrator's logins").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.fence import declared_in
from chalicelib.spec.located import Path
from chalicelib.spec.rules.contract import CONTRACTS

if TYPE_CHECKING:
    from chalicelib.spec.fence import StageFence
    from chalicelib.spec.model import Service, Spec

Problems = list[tuple[Path, str]]
SUPER_ADMIN = "admin"


def not_development(spec: Spec, fence: StageFence) -> bool:
    """Whether the stage marks the spec's environment as other than development (undeclared:
    nothing is known, nothing refused)."""
    return bool(fence.default_keystores) and not fence.default_keystores.get(spec.environment)


def _mi_problems(name: str, svc: Service, why: str) -> Problems:
    at: Path = ("services", name)
    manifest = CONTRACTS["wso2mi"].manifest
    problems: Problems = []
    if "MI_MANAGEMENT_PASSWORD" not in svc.secrets:
        problems.append(((*at, "secrets"), (
            f"{why}: wso2mi's management API (port 9164) would accept WSO2's default admin/admin, "
            f"which anyone knows. Fix: give MI_MANAGEMENT_PASSWORD under services.{name}.secrets "
            f"(and MI_MANAGEMENT_USER under environment for a user other than admin; see "
            f"{manifest})"
        )))  # fmt: skip
    user = svc.environment.get("APIM_SERVICE_CATALOG_USER", "")
    if user in ("", SUPER_ADMIN):
        where: Path = (*at, "environment", "APIM_SERVICE_CATALOG_USER") if user else (
            *at, "environment"
        )  # fmt: skip
        problems.append((where, (
            f"{why}: wso2mi would log in to APIM's service catalog as APIM's super admin "
            f"(admin), holding every right in APIM. Fix: create an APIM user with the "
            f"Internal/creator role, give its name as APIM_SERVICE_CATALOG_USER under "
            f"services.{name}.environment and its password as APIM_SERVICE_CATALOG_PASSWORD under "
            f"secrets (docs/wso2.md, \"Micro Integrator's logins\")"
        )))  # fmt: skip
    return problems


def credential_problems(spec: Spec, fence: StageFence) -> Problems:
    """Each Micro Integrator service that would keep WSO2's default logins where the environment
    is not a development one."""
    if not not_development(spec, fence):
        return []
    where = declared_in("defaultKeystores", spec.environment, fence.stage)
    why = f"environment {spec.environment} is not a development environment ({where})"
    problems: Problems = []
    for name, svc in spec.services.items():
        if svc.product == "wso2mi":
            problems += _mi_problems(name, svc, why)
    return problems
