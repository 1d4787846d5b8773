"""What must exist in AWS before a change touches ECS, and how its absence is told.

Without a pre-flight, a spec whose second service names a subnet that does not exist deploys
its first service and then fails the second (issue 14, finding 8): half a spec goes live. So
every resource the changing services reference is looked up first, and one missing resource
refuses the whole change before anything is registered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ..spec import Spec, path_text

Kind = Literal["cluster", "subnet", "security group", "secret", "parameter", "target group"]


@dataclass(frozen=True)
class Reference:
    """One resource a spec field names: what kind, its identifier for the lookup, the field."""

    kind: Kind
    identifier: str
    field: str


def secret_reference(value_from: str, field: str) -> Reference:
    """The Secrets Manager secret or SSM parameter an ECS `valueFrom` ARN names.

    `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:version-stage:version-id]`
    names the secret by its first seven fields (ECS developer guide, "Pass Secrets Manager
    secrets through Amazon ECS environment variables"); `arn:aws:ssm:REGION:ACCOUNT:parameter/
    NAME` names the parameter `/NAME` when NAME is a path, else `NAME` (Systems Manager user
    guide, "Working with parameter hierarchies")."""
    parts = value_from.split(":")
    if len(parts) >= 7 and parts[2] == "secretsmanager":
        return Reference("secret", ":".join(parts[:7]), field)
    name = value_from.split(":parameter/", 1)[-1]
    return Reference("parameter", f"/{name}" if "/" in name else name, field)


def references(spec: Spec, services: Iterable[str]) -> list[Reference]:
    """Every resource the given services of `spec` reference, in spec order."""
    found = [Reference("cluster", spec.cluster, "cluster")]
    for name in services:
        svc = spec.services[name]
        at = f"services.{name}"
        network = spec.network_of(name)
        if network is not None:
            where = f"{at}.network" if svc.network is not None else "network"
            found += [
                Reference("subnet", s, f"{where}.subnets[{i}]")
                for i, s in enumerate(network.subnets)
            ]
            found += [
                Reference("security group", g, f"{where}.securityGroups[{i}]")
                for i, g in enumerate(network.security_groups)
            ]
        found += [
            secret_reference(arn, f"{at}.secrets.{key}") for key, arn in sorted(svc.secrets.items())
        ]
        for container, sidecar in sorted(svc.containers.items()):
            found += [
                secret_reference(arn, f"{at}.containers.{container}.secrets.{key}")
                for key, arn in sorted(sidecar.secrets.items())
            ]
        found += [
            Reference("target group", lb.target_group_arn,
                      path_text(("services", name, *where, "targetGroupArn")))
            for where, lb in svc.target_groups()
        ]  # fmt: skip
    return list(dict.fromkeys(found))


_FIX: dict[Kind, str] = {
    "cluster": "create the cluster, or name an existing one",
    "subnet": "name a subnet of this account and region",
    "security group": "name a security group of this account and region",
    "secret": "create the secret first (docs/wso2.md lists what each product needs)",
    "parameter": "create the parameter first",
    "target group": "create the target group first (docs/wso2.md: one per port, with its health "
    "check), or name an existing one",
}


def missing_problems(found: list[Reference], missing: set[tuple[Kind, str]]) -> list[str]:
    """One problem per field whose resource does not exist, saying what to do."""
    return [
        f"{r.field}: {r.kind} {r.identifier} does not exist; {_FIX[r.kind]}. Nothing was "
        "deployed: every service of a change is checked before the first one starts"
        for r in found
        if (r.kind, r.identifier) in missing
    ]
