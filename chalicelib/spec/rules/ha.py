"""Rules of `ha: true` (chalicelib.spec.ha): what WSO2's two-node pattern needs before Berth can
render it as two ECS services."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.ha import HA_VARIABLES, NODES, node_names
from chalicelib.spec.located import Path

if TYPE_CHECKING:
    from chalicelib.spec.model import Service, Spec

Problems = list[tuple[Path, str]]

# Service names in a spec (chalicelib.spec.base NAME): a node's name must be one too.
MAX_NAME = 31


def _set_by_hand(name: str, svc: Service) -> Problems:
    return [
        (("services", name, field, variable), (
            f"{variable} is set by Berth on each node of an ha: true service (the nodes' Service "
            f"Connect names); remove it from {field}"
        ))
        for field, values in (("environment", svc.environment), ("secrets", svc.secrets))
        for variable in HA_VARIABLES if variable in values
    ]  # fmt: skip


def _pair_problems(spec: Spec, name: str, svc: Service) -> Problems:
    at: Path = ("services", name)
    nodes = node_names(name)
    if svc.product != "wso2am":
        return [((*at, "ha"), (
            f"ha: true renders WSO2 API Manager's two-node pattern; {name} is {svc.product}. "
            "Remove ha (for Micro Integrator, raise desiredCount with the coordination database)"
        ))]  # fmt: skip
    problems: Problems = []
    if svc.desired_count > 1:
        problems.append(((*at, "desiredCount"), (
            f"with ha: true each node runs one task ({nodes[0]} and {nodes[1]}, as helm-apim's "
            "instance-1 and instance-2); remove desiredCount or set it to 1"
        )))  # fmt: skip
    if len(nodes[1]) > MAX_NAME:
        problems.append(((*at, "ha"), (
            f"ha: true renders services {nodes[0]} and {nodes[1]}, longer than {MAX_NAME} "
            "characters; shorten the service's name"
        )))  # fmt: skip
    for node in nodes:
        taken = "a service" if node in spec.services else "retired" if node in spec.retire else ""
        if taken:
            problems.append(((*at, "ha"), (
                f"ha: true renders services {nodes[0]} and {nodes[1]}, but {node} is {taken} in "
                f"this spec; rename one of them"
            )))  # fmt: skip
    if svc.deployment.strategy != "rolling":
        problems.append(((*at, "deployment", "strategy"), (
            f"ha: true takes the rolling strategy only: both nodes register in the same target "
            f"groups and are deployed one after the other, while {svc.deployment.strategy} moves "
            "one service's listener rule between its own target groups; remove strategy"
        )))  # fmt: skip
    # Without the environment's Service Connect namespace the nodes cannot reach each other by
    # name: the nodes' offers are refused by service_connect_problems, located here.
    network = spec.network_of(name)
    if network is not None and len(network.subnets) < NODES:
        where: Path = (*at, "network", "subnets") if svc.network else ("network", "subnets")
        problems.append((where, (
            f"ha: true needs at least two subnets in different Availability Zones: {nodes[0]} "
            f"runs in the first, third... and {nodes[1]} in the second, fourth..., so one zone's "
            "loss leaves a node serving; list a subnet of another zone"
        )))  # fmt: skip
    return problems


def ha_problems(spec: Spec) -> Problems:
    """Every `ha: true` service's pair, and the variables only Berth sets."""
    problems: Problems = []
    for name, svc in spec.services.items():
        problems += _set_by_hand(name, svc)
        if svc.ha:
            problems += _pair_problems(spec, name, svc)
    return problems
