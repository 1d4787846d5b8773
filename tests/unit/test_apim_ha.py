"""APIM high availability (issue 31): `ha: true` renders WSO2's two-node all-in-one pattern as two
ECS services whose configurations name each other as helm-apim's instance-1 and instance-2 do
(wso2/helm-apim all-in-one-4.7.0-1, all-in-one/confs/instance-{1,2}/deployment.toml), and is
refused, located, where that pattern cannot be rendered."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import pytest

from chalicelib.errors import SpecError
from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.service_request import create_service_request
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.model import Spec
from chalicelib.spec.parse import load_spec_file, parse_spec
from tests.conftest import EXAMPLES, ROOT

HA = EXAMPLES / "wso2-prod-ha.yaml"
DIGEST = "sha256:" + "ab" * 32
PLACEHOLDER = re.compile(r"\$env\{([A-Z][A-Z0-9_]*)\}")


def _container(spec: Spec, name: str) -> dict[str, Any]:
    task = render_task_definition(spec, name, ImageRef("wso2am", DIGEST), "123456789012",
                                  "us-east-1")  # fmt: skip
    container: dict[str, Any] = task["containerDefinitions"][0]
    return container


def _environment(spec: Spec, name: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in _container(spec, name)["environment"]}


def _throttling(environment: dict[str, str]) -> dict[str, Any]:
    """The [apim.throttling] the node's image writes from its task definition's environment
    (docker/apim/ha.toml, which berth-entrypoint.sh appends when APIM_HA_PEER_HOST is set)."""
    text = (ROOT / "docker" / "apim" / "ha.toml").read_text()
    data = tomllib.loads(PLACEHOLDER.sub(lambda m: environment[m.group(1)], text))
    throttling: dict[str, Any] = data["apim"]["throttling"]
    return throttling


def test_ha_renders_two_services_in_order():
    spec = load_spec_file(str(HA))
    assert spec.deployment_order() == ["apim-1", "apim-2", "mi"]
    assert spec.services["apim-1"].depends_on == []
    assert spec.services["apim-2"].depends_on == ["apim-1"]
    assert spec.services["mi"].depends_on == ["apim-1", "apim-2"]
    assert [spec.services[n].desired_count for n in ("apim-1", "apim-2")] == [1, 1]


def test_each_node_names_its_peer_as_helms_instance_files_do():
    """instance-1: event_duplicate_url at am-service-2:5672; instance-2 at am-service-1:5672;
    both: url_groups tcp://am-service-1:9611 / ssl://am-service-1:9711, then am-service-2."""
    spec = load_spec_file(str(HA))
    groups = [
        {"traffic_manager_urls": [f"tcp://apim-{n}:9611"],
         "traffic_manager_auth_urls": [f"ssl://apim-{n}:9711"], "type": "loadbalance"}
        for n in (1, 2)
    ]  # fmt: skip
    for node, peer in (("apim-1", "apim-2"), ("apim-2", "apim-1")):
        assert _throttling(_environment(spec, node)) == {
            "event_duplicate_url": [f"tcp://{peer}:5672"],
            "throttle_decision_endpoints": ["tcp://localhost:5672"],
            "url_group": groups,
        }


def test_nodes_expose_the_peer_ports_and_offer_them_under_their_own_names():
    """helm-apim instance-1 wso2am-deployment.yaml: containerPorts 5672, 9611, 9711 besides the
    servlet and gateway ports; wso2am-service.yaml names them jms-tcp, binary, binary-secure."""
    spec = load_spec_file(str(HA))
    for n in (1, 2):
        node = f"apim-{n}"
        ports = {p["containerPort"]: p["name"] for p in _container(spec, node)["portMappings"]}
        assert ports == {9443: "servlet-https", 8243: "gateway-https", 8280: "gateway-http",
                         9763: "servlet-http", 5672: "jms-tcp", 9611: "binary",
                         9711: "binary-secure"}  # fmt: skip
        request = create_service_request(spec, node, "arn:td", "token")
        assert request["serviceName"] == node
        assert request["serviceConnectConfiguration"]["services"] == [
            {"portName": "servlet-https", "discoveryName": f"apim-{n}",
             "clientAliases": [{"port": 9443, "dnsName": f"apim-{n}"}]},
            {"portName": "gateway-https", "discoveryName": f"apim-gateway-{n}",
             "clientAliases": [{"port": 8243, "dnsName": f"apim-gateway-{n}"}]},
            {"portName": "jms-tcp", "discoveryName": f"{node}-jms",
             "clientAliases": [{"port": 5672, "dnsName": node}]},
            {"portName": "binary", "discoveryName": f"{node}-binary",
             "clientAliases": [{"port": 9611, "dnsName": node}]},
            {"portName": "binary-secure", "discoveryName": f"{node}-binary-ssl",
             "clientAliases": [{"port": 9711, "dnsName": node}]},
        ]  # fmt: skip


def test_nodes_share_the_target_groups_and_split_the_zones():
    spec = load_spec_file(str(HA))
    one, two = (create_service_request(spec, f"apim-{n}", "arn:td", "t") for n in (1, 2))
    for request, node in ((one, "apim-1"), (two, "apim-2")):
        assert [(lb["targetGroupArn"].split("/")[1], lb["containerName"], lb["containerPort"])
                for lb in request["loadBalancers"]] == [
            ("apim-prod", node, 8243), ("apim-prod-portals", node, 9443)]  # fmt: skip
    subnets = [r["networkConfiguration"]["awsvpcConfiguration"]["subnets"] for r in (one, two)]
    assert subnets == [["subnet-0f1e2d3c4b5a60001"], ["subnet-0f1e2d3c4b5a60002"]]


def test_the_accepted_document_reads_back_as_the_two_nodes():
    """The Lambdas that read an accepted spec (a push's, an ECS event's) see what was rendered."""
    spec = load_spec_file(str(HA))
    document = spec.model_dump(by_alias=True, exclude_defaults=True)
    assert "ha" not in document["services"]["apim-1"]
    assert Spec.model_validate(document) == spec


# ---- refusals, located in the file ----------------------------------------------------------


def _problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text.encode(), "ha.yaml")
    return [str(p) for p in caught.value.problems]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def _example(old: str, new: str) -> str:
    text = HA.read_text()
    assert old in text
    return text.replace(old, new, 1)


def test_ha_on_another_product_is_refused():
    text = _example("    product: wso2mi\n", "    product: wso2mi\n    ha: true\n")
    line = _line(text, "product: wso2mi") + 1
    assert (
        f"ha.yaml:{line}:5: services.mi.ha: ha: true renders WSO2 API Manager's two-node "
        "pattern; mi is wso2mi. Remove ha (for Micro Integrator, raise desiredCount with the "
        "coordination database)" in _problems(text)
    )


def test_ha_with_replicas_is_refused():
    text = _example("    ha: true\n", "    ha: true\n    desiredCount: 2\n")
    line = _line(text, "desiredCount: 2")
    assert (
        f"ha.yaml:{line}:5: services.apim.desiredCount: with ha: true each node runs one "
        "task (apim-1 and apim-2, as helm-apim's instance-1 and instance-2); remove "
        "desiredCount or set it to 1" in _problems(text)
    )


def test_ha_needs_two_subnets():
    text = _example("  subnets: [subnet-0f1e2d3c4b5a60001, subnet-0f1e2d3c4b5a60002]",
                    "  subnets: [subnet-0f1e2d3c4b5a60001]")  # fmt: skip
    line = _line(text, "subnets: [subnet-0f1e2d3c4b5a60001]")
    assert (
        f"ha.yaml:{line}:3: network.subnets: ha: true needs at least two subnets in "
        "different Availability Zones: apim-1 runs in the first, third... and apim-2 in the "
        "second, fourth..., so one zone's loss leaves a node serving; list a subnet of another "
        "zone" in _problems(text)
    )


def test_ha_needs_the_namespace():
    """The nodes reach each other by their Service Connect names: without the namespace their
    offers are refused, located at the HA service."""
    text = _example("serviceConnect:\n  namespace: wso2-prod.local\n", "")
    text = text.replace(
        "    serviceConnect:\n      offers:\n        - {port: 9443, name: apim}\n"
        "        - {port: 8243, name: apim-gateway}\n",
        "",
    )
    text = text.replace(
        "    serviceConnect:\n      offers: [{port: 8253, name: mi}]\n      uses: [apim-1]\n", ""
    )
    line = _line(text, "  apim:")
    assert _problems(text) == [
        f"ha.yaml:{line}:3: services.apim.serviceConnect: needs the environment's Service "
        "Connect namespace: add serviceConnect: {namespace: NAME} at the top level (a Cloud Map "
        "namespace)"
    ]


def test_ha_takes_the_rolling_strategy_only():
    text = _example("    ha: true\n", "    ha: true\n    deployment: {strategy: canary}\n")
    line = _line(text, "strategy: canary")
    found = _problems(text)
    assert any(p.startswith(f"ha.yaml:{line}:") and "services.apim.deployment.strategy: ha: "
               "true takes the rolling strategy only" in p for p in found), found  # fmt: skip


def test_the_peer_variables_are_berths_to_set():
    text = _example("      APIM_DB_USER: wso2am\n",
                    "      APIM_DB_USER: wso2am\n      APIM_HA_PEER_HOST: elsewhere\n")  # fmt: skip
    line = _line(text, "APIM_HA_PEER_HOST")
    assert (
        f"ha.yaml:{line}:7: services.apim.environment.APIM_HA_PEER_HOST: APIM_HA_PEER_HOST "
        "is set by Berth on each node of an ha: true service (the nodes' Service Connect "
        "names); remove it from environment" in _problems(text)
    )


def test_a_node_name_taken_by_another_service_is_refused():
    text = _example("  mi:\n", "  apim-2:\n")
    text = text.replace("uses: [apim-1]", "uses: []")
    line = _line(text, "    ha: true")
    assert (
        f"ha.yaml:{line}:5: services.apim.ha: ha: true renders services apim-1 and apim-2, "
        "but apim-2 is a service in this spec; rename one of them" in _problems(text)
    )


def test_a_node_problem_is_located_at_the_ha_service():
    """The rules check what ECS receives (each node), located where the service is written."""
    text = _example("      APIM_DB_USER: wso2am\n", "")
    line = _line(text, "    environment:")
    found = _problems(text)
    assert any(p.startswith(f"ha.yaml:{line}:5: services.apim.environment: APIM_DB_USER is "
                            "missing") for p in found), found  # fmt: skip
    assert not any("apim-1" in p.split(":")[3] for p in found), found


def test_more_than_one_apim_task_points_at_ha():
    text = _example("    ha: true\n", "    desiredCount: 2\n")
    found = _problems(text)
    assert any("Use desiredCount: 1, or ha: true for that two-node pair" in p for p in found)


def test_the_preflight_asks_for_the_portals_stickiness_once():
    """Both nodes serve the portals (9443), whose sessions live on one node: the pre-flight
    checks that target group's stickiness, told once at the service as written."""
    from chalicelib.decisions.preflight import Reference, references

    spec = load_spec_file(str(HA))
    sticky = [r for r in references(spec, ["apim-1", "apim-2", "mi"])
              if r.kind == "sticky target group"]  # fmt: skip
    assert sticky == [
        Reference(
            "sticky target group",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/apim-prod-portals/"
            "0fedcba987654321",
            "services.apim.loadBalancers[1].targetGroupArn",
        )
    ]
    single = load_spec_file(str(EXAMPLES / "wso2-prod.json"))
    assert not [r for r in references(single, ["apim"]) if r.kind == "sticky target group"]


def test_one_client_alias_may_serve_several_ports_but_not_one_port_twice():
    """ECS ServiceConnectService.clientAliases: "Each name and port mapping must be unique within
    the namespace": an HA node's name serves 9443, 5672, 9611 and 9711 (chalicelib.spec.ha)."""
    base = """berth: 1
environment: dev
cluster: c
executionRoleArn: arn:aws:iam::123456789012:role/exec
network: {subnets: [subnet-1], securityGroups: [sg-1]}
serviceConnect: {namespace: ns}
services:
  web:
    image: web
    ports: [8080, 8443]
    serviceConnect:
      offers:
        - {port: 8080, name: web-http, dnsName: web}
"""
    parse_spec(
        (base + "        - {port: 8443, name: web-https, dnsName: web}\n").encode(), "s.yaml"
    )
    text = base + "        - {port: 8080, name: web-again, dnsName: web}\n"
    assert _problems(text) == [
        "ha.yaml:14:12: services.web.serviceConnect.offers[1].port: port 8080 is offered more "
        "than once",
        "ha.yaml:14:41: services.web.serviceConnect.offers[1].dnsName: client alias 'web' on "
        "port 8080 is already offered by web in namespace ns; names are unique in a namespace",
    ]


def test_the_pairs_tables_are_created_once_before_node_1():
    """Both nodes share the databases, and WSO2's dbscripts create tables without IF NOT EXISTS:
    schemaInit runs before node 1 only (node 2 follows node 1 anyway)."""
    client = "sql-client:16@sha256:" + "c" * 64
    text = _example("    ha: true\n", f"    ha: true\n    schemaInit: {{image: '{client}'}}\n")
    spec = parse_spec(text.encode(), "ha.yaml")
    assert spec.services["apim-1"].schema_init is not None
    assert spec.services["apim-2"].schema_init is None


def test_render_names_the_nodes_of_an_ha_service():
    from click.testing import CliRunner

    from berth.cli import main

    result = CliRunner().invoke(main, ["render", str(HA), "--service", "apim"])
    assert result.exit_code == 2
    assert (
        f"Invalid value for --service: 'apim' is not a service of {HA} (its services: apim-1, "
        "apim-2, mi)"
    ) in result.output
