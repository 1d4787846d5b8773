"""Resources several services share, fenced per environment like networks: the listener rules a
blue/green, canary or linear deployment switches, and the Service Connect namespace a service
joins. A dev spec naming prod's listener rule would have ECS move prod's production traffic to
the dev service's tasks; joining prod's namespace would make a dev service reachable as
`apim` by prod's clients, and prod's services reachable from dev."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.fence import declared_in
from chalicelib.spec.located import Path
from chalicelib.spec.rules.fence import declared

if TYPE_CHECKING:
    from chalicelib.spec.fence import StageFence
    from chalicelib.spec.model import Spec

Problems = list[tuple[Path, str]]


def _listener_rule_problems(spec: Spec, fence: StageFence) -> Problems:
    if not fence.listener_rules:
        return []
    env = spec.environment
    allowed = fence.listener_rules.get(env, frozenset())
    listed = ", ".join(sorted(allowed)) or "none"
    problems: Problems = []
    for name, svc in spec.services.items():
        for where, balancer in svc.target_groups():
            for field, rule in (
                ("productionListenerRule", balancer.production_listener_rule),
                ("testListenerRule", balancer.test_listener_rule),
            ):
                if rule is None or declared(rule, allowed):
                    continue
                problems.append((("services", name, *where, field), (
                    f"{rule} is not a listener rule of environment {env} ({listed}; "
                    f"{declared_in('listenerRules', env, fence.stage)}): a deployment switches "
                    "only its own environment's traffic"
                )))  # fmt: skip
    return problems


def _namespace_problems(spec: Spec, fence: StageFence) -> Problems:
    if not fence.namespaces or spec.service_connect is None:
        return []
    env = spec.environment
    allowed = fence.namespaces.get(env, frozenset())
    namespace = spec.service_connect.namespace
    if namespace in allowed:
        return []
    listed = ", ".join(sorted(allowed)) or "none"
    return [(("serviceConnect", "namespace"), (
        f"{namespace} is not a Service Connect namespace of environment {env} ({listed}; "
        f"{declared_in('namespaces', env, fence.stage)}): services join only their own "
        "environment's namespace"
    ))]  # fmt: skip


def shared_resource_problems(spec: Spec, fence: StageFence) -> Problems:
    """Listener rules and the Service Connect namespace against the environment's."""
    return _listener_rule_problems(spec, fence) + _namespace_problems(spec, fence)
