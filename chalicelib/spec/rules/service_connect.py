"""Rules of ECS Service Connect: offers, discovery names and aliases unique in the namespace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.spec.located import Path

from .names import did_you_mean

if TYPE_CHECKING:
    from chalicelib.spec.model import Service, Spec

Problems = list[tuple[Path, str]]


# ---- ECS Service Connect ------------------------------------------------------------------------
# ECS API reference: ServiceConnectConfiguration (namespace: "The namespace name or full Amazon
# Resource Name (ARN) of the Cloud Map namespace"), ServiceConnectService (portName "must match the
# name of one of the portMappings"; discoveryName "must be unique within the Cloud Map namespace";
# clientAliases: "Each name and port mapping must be unique within the namespace"),
# PortMapping.name.


def _offer_problems(name: str, svc: Service, seen: dict[str, str], namespace: str) -> Problems:
    """One service's offers; `seen` maps each discovery name and alias offered so far to its
    service, so a name offered twice is reported where it is offered again."""
    at: Path = ("services", name, "serviceConnect")
    offers = svc.service_connect.offers if svc.service_connect else []
    problems: Problems = []
    ports = svc.effective_ports
    mine: set[str] = set()
    for i, offer in enumerate(offers):
        here: Path = (*at, "offers", i)
        if offer.port not in ports:
            listed = ", ".join(map(str, ports)) or "none"
            reason = f"{offer.port} is not one of the service's ports ({listed}); a client alias "
            problems.append(((*here, "port"), reason + "must reach a port the container exposes"))
        elif [o.port for o in offers[:i]].count(offer.port):
            problems.append(((*here, "port"), f"port {offer.port} is offered more than once"))
        names = [("name", f"discovery name {offer.name!r}")]
        if offer.dns_name is not None:
            # "Each name and port mapping must be unique": one alias may serve several ports, as
            # an HA APIM node's name does its broker's and traffic managers' (chalicelib.spec.ha).
            names.append(("dnsName", f"client alias {offer.alias!r} on port {offer.port}"))
        for field, what in names:
            owner = seen.setdefault(what, name)
            if owner != name or what in mine:
                reason = f"{what} is already offered by {owner} in namespace {namespace}; "
                problems.append(((*here, field), reason + "names are unique in a namespace"))
            mine.add(what)
    return problems


def service_connect_problems(spec: Spec) -> Problems:
    """Service Connect as ECS takes it: a namespace when any service uses it, offered ports the
    container exposes, names unique in the namespace, used names that some service offers."""
    problems: Problems = []
    using = [n for n, s in spec.services.items() if s.service_connect is not None]
    if spec.service_connect is None:
        for name in using:
            reason = "needs the environment's Service Connect namespace: add serviceConnect: "
            reason += "{namespace: NAME} at the top level (a Cloud Map namespace)"
            problems.append((("services", name, "serviceConnect"), reason))
        return problems
    seen: dict[str, str] = {}
    namespace = spec.service_connect.namespace
    for name in using:
        problems += _offer_problems(name, spec.services[name], seen, namespace)
    aliases = {
        offer.alias
        for svc in spec.services.values() if svc.service_connect
        for offer in svc.service_connect.offers
    }  # fmt: skip
    for name in using:
        svc_connect = spec.services[name].service_connect
        assert svc_connect is not None
        for i, used in enumerate(svc_connect.uses):
            if used not in aliases:
                hint = did_you_mean(used, aliases)
                reason = f"{used!r} is offered by no service in the namespace{hint}; "
                reason += "list a name some service offers (serviceConnect.offers)"
                problems.append((("services", name, "serviceConnect", "uses", i), reason))
    return problems
