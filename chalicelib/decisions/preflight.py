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

from chalicelib.spec.ha import PORTALS_PORT, is_node
from chalicelib.spec.located import path_text
from chalicelib.spec.model import Spec

Kind = Literal[
    "cluster", "subnet", "security group", "secret", "parameter", "file system", "access point",
    "target group", "sticky target group",
]


@dataclass(frozen=True)
class Reference:
    """One resource a spec field names: what kind, its identifier for the lookup, the field;
    `within` is the resource it must belong to (an access point's file system)."""

    kind: Kind
    identifier: str
    field: str
    within: str | None = None


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
        found += _efs_references(spec, name)
        found += [
            Reference("target group", arn, path_text(("services", name, *where, field)))
            for where, lb in svc.target_groups()
            for field, arn in (("targetGroupArn", lb.target_group_arn),
                               ("alternateTargetGroupArn", lb.alternate_target_group_arn))
            if arn is not None
        ]  # fmt: skip
        found += _sticky_references(spec, name)
    return list(dict.fromkeys(found))


def _sticky_references(spec: Spec, name: str) -> list[Reference]:
    """An HA node's portals target group, which must keep each browser on one node: the portals
    hold a server session per node (chalicelib.spec.ha, PORTALS_PORT)."""
    svc = spec.services[name]
    if not is_node(svc):
        return []
    written = name.rsplit("-", 1)[0]  # the `ha: true` service both nodes come from: told once
    return [
        Reference("sticky target group", lb.target_group_arn,
                  path_text(("services", written, *where, "targetGroupArn")))
        for where, lb in svc.target_groups() if svc.target_port(lb) == PORTALS_PORT
    ]  # fmt: skip


def _efs_references(spec: Spec, name: str) -> list[Reference]:
    """Each EFS volume's file system, and its access point within that file system: ECS would
    otherwise start tasks that fail to mount (and a foreign access point would mount another
    file system's data)."""
    found: list[Reference] = []
    for volume, declared in sorted(spec.services[name].volumes.items()):
        efs = declared.efs
        if efs is None:
            continue
        at = f"services.{name}.volumes.{volume}.efs"
        found.append(Reference("file system", efs.file_system_id, f"{at}.fileSystemId"))
        if efs.access_point_id is not None:
            found.append(
                Reference(
                    "access point", efs.access_point_id, f"{at}.accessPointId",
                    within=efs.file_system_id,
                )
            )  # fmt: skip
    return found


_FIX: dict[Kind, str] = {
    "cluster": "create the cluster, or name an existing one",
    "subnet": "name a subnet of this account and region",
    "security group": "name a security group of this account and region",
    "secret": "create the secret first (docs/wso2.md lists what each product needs)",
    "parameter": "create the parameter first",
    "file system": "name an EFS file system of this account and region",
    "access point": "name an access point of that file system (EFS DescribeAccessPoints)",
    "target group": "create the target group first (docs/wso2.md: one per port, with its health "
    "check), or name an existing one",
    "sticky target group": "turn stickiness on (aws elbv2 modify-target-group-attributes "
    "--target-group-arn ARN --attributes Key=stickiness.enabled,Value=true "
    "Key=stickiness.type,Value=lb_cookie; docs/wso2.md, \"High availability\")",
}


def _absent(reference: Reference) -> str:
    if reference.within is not None:
        return f"is not an access point of file system {reference.within}"
    if reference.kind == "sticky target group":
        return (
            "has stickiness off (target group attribute stickiness.enabled): with ha: true two "
            "nodes serve the portals, whose sessions live on one node"
        )
    return "does not exist"


def missing_problems(found: list[Reference], missing: set[tuple[Kind, str]]) -> list[str]:
    """One problem per field whose resource does not exist, saying what to do."""
    return [
        f"{r.field}: {r.kind} {r.identifier} {_absent(r)}; {_FIX[r.kind]}. Nothing was "
        "deployed: every service of a change is checked before the first one starts"
        for r in found
        if (r.kind, r.identifier) in missing
    ]
