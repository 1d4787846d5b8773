"""Where a service's tasks attach and how they are reached: subnets and security groups, load
balancers, ECS Service Connect."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    Field,
)

from .base import Port, SpecModel


class Network(SpecModel):
    subnets: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-z]+$")]] = Field(min_length=1)
    security_groups: list[Annotated[str, Field(pattern=r"^sg-[0-9a-z]+$")]] = Field(
        min_length=1, max_length=5
    )
    assign_public_ip: bool = False


# ELB listener rule (ALB) or listener (NLB) ARNs, as LoadBalancer.advancedConfiguration takes them
# ("the production listener rule (in the case of an Application Load Balancer) or listener (in the
# case for an Network Load Balancer)", ECS API reference, AdvancedConfiguration).
LISTENER_RULE = (
    r"^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:"
    r"(listener-rule/app/[^/]+/[0-9a-f]+/[0-9a-f]+/[0-9a-f]+|listener/net/[^/]+/[0-9a-f]+/[0-9a-f]+)$"
)


TARGET_GROUP = r"^arn:aws[a-z-]*:elasticloadbalancing:.+:targetgroup/.+"


class LoadBalancer(SpecModel):
    """One target group the service's product container registers in (ECS LoadBalancer): one
    entry of CreateService `loadBalancers`. Fields are added here, rendered by
    `render.render_load_balancer`."""

    target_group_arn: str = Field(pattern=TARGET_GROUP)
    container_port: int | None = Field(default=None, ge=1, le=65535)
    # Blue/green, canary and linear deployments (rendered as this load balancer's
    # advancedConfiguration; chalicelib/rendering/strategies.py).
    alternate_target_group_arn: str | None = Field(default=None, pattern=TARGET_GROUP)
    production_listener_rule: str | None = Field(default=None, pattern=LISTENER_RULE)
    test_listener_rule: str | None = Field(default=None, pattern=LISTENER_RULE)


# ECS Service Connect (ECS API reference, ServiceConnectService): discoveryName "up to 64
# characters ... lowercase letters, numbers, underscores (_), and hyphens (-). The name can't start
# with a hyphen"; ServiceConnectClientAlias.dnsName "up to 127 characters ... lowercase letters,
# numbers, underscores (_), hyphens (-), and periods (.). The name can't start with a hyphen".
DISCOVERY_NAME = r"^[a-z0-9_][a-z0-9_-]{0,63}$"


DNS_NAME = r"^[a-z0-9_][a-z0-9_.-]{0,126}$"


class ServiceConnectOffer(SpecModel):
    """One port this service offers in the environment's Service Connect namespace: ECS creates
    the Cloud Map service `name` and clients reach it as `dnsName:port` (one ServiceConnectService
    with one client alias on the same port)."""

    port: Port
    name: str = Field(pattern=DISCOVERY_NAME)
    dns_name: str | None = Field(default=None, pattern=DNS_NAME)

    @property
    def alias(self) -> str:
        """The name clients use: dnsName, else the discovery name (ECS's own default is
        discoveryName.namespace; Berth renders the short name so clients need no namespace)."""
        return self.dns_name or self.name


class ServiceConnect(SpecModel):
    """What a service offers in the namespace (none: a client only) and which names it uses."""

    offers: list[ServiceConnectOffer] = []
    uses: list[str] = []


class ServiceConnectNamespace(SpecModel):
    """The environment's Service Connect namespace: a Cloud Map namespace name or ARN
    (ServiceConnectConfiguration.namespace), created before the first deployment."""

    namespace: str = Field(
        pattern=r"^(arn:aws[a-z-]*:servicediscovery:[a-z0-9-]+:\d{12}:namespace/ns-[a-z0-9]+"
        r"|[A-Za-z0-9][A-Za-z0-9._-]{0,1023})$"
    )
