"""APIM high availability as WSO2 documents it, translated to ECS: a `wso2am` service with
`ha: true` becomes WSO2's two-node all-in-one pattern, two ECS services of one task each.

WSO2's sources (wso2/helm-apim all-in-one-4.7.0-1):
- `all-in-one/confs/instance-1/deployment.toml` and `instance-2/deployment.toml`: two nodes, each
  with its own configuration; each node's `[apim.throttling] event_duplicate_url` names its peer's
  broker (`tcp://<peer>:5672`), and both list the two nodes' traffic managers as two
  `[[apim.throttling.url_group]]` (`tcp://<node>:9611`, `ssl://<node>:9711`). Berth's image
  appends those sections from its environment (docker/apim/ha.toml, `APIM_HA_*`).
- `all-in-one/templates/am/instance-1/wso2am-deployment.yaml`: one replica per node, container
  ports 5672, 9611 and 9711 besides the servlet and gateway ports; a pod anti-affinity on
  `topology.kubernetes.io/zone` spreads the nodes over zones.
- `all-in-one/templates/am/instance-{1,2}/wso2am-service.yaml`: one Kubernetes service per node
  (`am-service-1`, `am-service-2`), the names the peer URLs use. Here: each node's own ECS
  Service Connect name, on the same three ports.

ECS translation (Berth's): node `n` is the ECS service `<name>-<n>`; its Service Connect offers are
the spec's with `-<n>` appended, plus 5672/9611/9711 under the node's name; node 1 gets the odd
subnets of the service's network and node 2 the even ones (first, third... and second,
fourth...), so each runs in its own zone when the subnets alternate zones (ECS spreads a service's
tasks over its subnets' zones, but two one-task services may land in one zone); node 2 depends on
node 1, so a change reaches node 2 only once node 1 is steady and one node always serves; a
service that depends on the HA service depends on both nodes.

Pure: the spec in, the spec ECS receives out. The stored document is the expanded spec (no
`ha` left in it), so the Lambdas that read it back see the two nodes.
"""

from __future__ import annotations

from chalicelib.spec.model import Service, Spec
from chalicelib.spec.networking import ServiceConnect, ServiceConnectOffer

NODES = 2

# The ports helm-apim's nodes reach each other on, with the discovery-name suffix Berth gives
# each (the portMappings names are the preset's: jms-tcp, binary, binary-secure).
PEER_PORTS: tuple[tuple[int, str], ...] = ((5672, "jms"), (9611, "binary"), (9711, "binary-ssl"))

# The portals' port (Publisher, Developer Portal, Admin: the wso2am preset): its target group
# must keep a browser on one node (helm-apim all-in-one/default_values.yaml, management ingress
# `nginx.ingress.kubernetes.io/affinity: "cookie"`; wso2/aws-apim product/pattern-1.yaml, the
# 9443 target group's stickiness). Berth checks it in the pre-flight; the operator sets it.
PORTALS_PORT = 9443

# The variables docker/apim/berth-entrypoint.sh turns into ha.toml; Berth's to set, never a spec's.
PEER_HOST = "APIM_HA_PEER_HOST"
NODE_HOSTS = ("APIM_HA_NODE_1_HOST", "APIM_HA_NODE_2_HOST")
HA_VARIABLES = (PEER_HOST, *NODE_HOSTS)


def node_names(name: str) -> tuple[str, str]:
    """The two ECS services of an HA service, as helm-apim's instance-1 and instance-2."""
    return f"{name}-1", f"{name}-2"


def is_node(svc: Service) -> bool:
    """Whether an (expanded) service is a node of an HA pair."""
    return svc.product == "wso2am" and PEER_HOST in svc.environment


def nodes_of(spec: Spec) -> dict[str, str]:
    """Each node's ECS service name -> the `ha: true` service of the spec file it renders."""
    return {node: name for name, s in spec.services.items() if s.ha for node in node_names(name)}


def expand_ha(spec: Spec) -> Spec:
    """The spec with every `ha: true` service replaced by its two nodes (see the module)."""
    pairs = {name: node_names(name) for name, svc in spec.services.items() if svc.ha}
    if not pairs:
        return spec
    services: dict[str, Service] = {}
    for name, svc in spec.services.items():
        depends_on = [node for dep in svc.depends_on for node in pairs.get(dep, (dep,))]
        if name not in pairs:
            services[name] = svc.model_copy(update={"depends_on": depends_on})
            continue
        for index, node in enumerate(pairs[name]):
            services[node] = _node(spec, name, svc, index, depends_on)
    return spec.model_copy(update={"services": services})


def _node(spec: Spec, name: str, svc: Service, index: int, depends_on: list[str]) -> Service:
    nodes = node_names(name)
    node, peer = nodes[index], nodes[1 - index]
    environment = {
        **svc.environment,
        PEER_HOST: peer,
        **dict(zip(NODE_HOSTS, nodes, strict=True)),
    }
    ports = svc.effective_ports
    ports += [port for port, _ in PEER_PORTS if port not in ports]
    update: dict[str, object] = {
        "ha": False,
        "desired_count": min(svc.desired_count, 1),  # one task per node; 0 stops both
        "environment": environment,
        "ports": ports,
        "service_connect": _offers(svc, node, index),
        # Node 2 after node 1: "one node always serves" (helm runs the two as separate
        # deployments; ECS's order is Berth's dependsOn).
        "depends_on": depends_on + ([nodes[0]] if index else []),
        # The databases are the pair's: their tables are created once, before node 1 (WSO2's
        # dbscripts have no IF NOT EXISTS, chalicelib.rendering.schema_init).
        "schema_init": None if index else svc.schema_init,
    }
    network = spec.network_of(name)
    if network is not None and len(network.subnets) >= NODES:
        update["network"] = network.model_copy(update={"subnets": network.subnets[index::NODES]})
    return svc.model_copy(update=update)


def _offers(svc: Service, node: str, index: int) -> ServiceConnect:
    own = svc.service_connect or ServiceConnect()
    suffix = f"-{index + 1}"
    offers = [
        offer.model_copy(update={
            "name": offer.name + suffix,
            "dns_name": offer.dns_name + suffix if offer.dns_name else None,
        })
        for offer in own.offers
    ]  # fmt: skip
    offers += [
        ServiceConnectOffer.model_validate({"port": port, "name": f"{node}-{label}",
                                            "dnsName": node})
        for port, label in PEER_PORTS
    ]  # fmt: skip
    return own.model_copy(update={"offers": offers})
