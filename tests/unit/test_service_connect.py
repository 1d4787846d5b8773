"""ECS Service Connect: the spec's namespace and offers, validated with locations, rendered into
CreateService/UpdateService as the ECS model takes them, and compared with what DescribeServices
returns (on the PRIMARY deployment) so that an unchanged spec deploys nothing."""

from __future__ import annotations

import copy
import json
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from chalicelib.decisions.changes import classify_change, live_settings, service_update
from chalicelib.errors import SpecError
from chalicelib.rendering.comparison import same_task_definition
from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.service_request import create_service_request, render_service_settings
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.parse import load_spec_file, parse_spec
from chalicelib.values.live import LiveService
from tests.conftest import EXAMPLE_SPECS, EXAMPLES

DEV = str(EXAMPLES / "wso2-dev.yaml")
DIGEST = "sha256:" + "ab" * 32
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"


def spec_text(namespace: str | None, apim_connect: str, other_connect: str = "") -> str:
    top = f"serviceConnect: {{namespace: {namespace}}}\n" if namespace else ""
    return f"""berth: 1
environment: dev
cluster: c
executionRoleArn: arn:aws:iam::123456789012:role/exec
network: {{subnets: [subnet-1], securityGroups: [sg-1]}}
{top}services:
  web:
    image: web
    ports: [8080, 8443]
{apim_connect}  other:
    image: other
    ports: [9000]
{other_connect}"""


def problems(text: str) -> list[str]:
    try:
        parse_spec(text.encode(), "s.yaml")
    except SpecError as exc:
        return [f"{p.line}:{p.column}: {p.path}: {p.reason}" for p in exc.problems]
    return []


# ---- validation ---------------------------------------------------------------------------------


def test_a_service_using_service_connect_needs_the_environments_namespace():
    found = problems(spec_text(None, "    serviceConnect: {offers: [{port: 8080, name: web}]}\n"))
    assert found == [
        "10:5: services.web.serviceConnect: needs the environment's Service Connect namespace: add "
        "serviceConnect: {namespace: NAME} at the top level (a Cloud Map namespace)"
    ]


def test_an_offered_port_must_be_one_the_container_exposes():
    [found] = problems(spec_text("dev.local", "    serviceConnect:\n      offers:\n"
                                 "        - {port: 9999, name: web}\n"))  # fmt: skip
    assert found == (
        "13:12: services.web.serviceConnect.offers[0].port: 9999 is not one of the service's "
        "ports (8080, 8443); a client alias must reach a port the container exposes"
    )


def test_discovery_names_are_unique_in_the_namespace():
    found = problems(spec_text(
        "dev.local",
        "    serviceConnect: {offers: [{port: 8080, name: web}, {port: 8443, name: web}]}\n",
        "    serviceConnect: {offers: [{port: 9000, name: web}]}\n",
    ))  # fmt: skip
    assert [f.split(": ", 2)[1] for f in found] == [
        "services.web.serviceConnect.offers[1].name",
        "services.other.serviceConnect.offers[0].name",
    ]
    assert found[1].endswith(
        "discovery name 'web' is already offered by web in namespace dev.local; names are unique "
        "in a namespace"
    )


def test_a_used_name_must_be_offered_and_a_port_offered_once():
    found = problems(spec_text(
        "dev.local",
        "    serviceConnect: {offers: [{port: 8080, name: web}, {port: 8080, name: web2}]}\n",
        "    serviceConnect: {uses: [wbe]}\n",
    ))  # fmt: skip
    assert [f.split(": ", 2)[1:] for f in found] == [
        ["services.web.serviceConnect.offers[1].port", "port 8080 is offered more than once"],
        ["services.other.serviceConnect.uses[0]",
         "'wbe' is offered by no service in the namespace (did you mean 'web'?); list a name "
         "some service offers (serviceConnect.offers)"],
    ]  # fmt: skip


def test_names_follow_ecs_rules():
    [found] = problems(spec_text("dev.local", "    serviceConnect: {offers: [{port: 8080, name: -web}]}\n"))
    assert "services.web.serviceConnect.offers[0].name" in found


# ---- rendering ----------------------------------------------------------------------------------


def test_the_example_renders_service_connect_with_named_ports():
    spec = load_spec_file(DEV)
    apim = render_service_settings(spec, "apim")["serviceConnectConfiguration"]
    assert apim["namespace"] == "wso2-dev.local"
    assert [(s["portName"], s["clientAliases"]) for s in apim["services"]] == [
        ("servlet-https", [{"port": 9443, "dnsName": "apim"}]),
        ("gateway-https", [{"port": 8243, "dnsName": "apim-gateway"}]),
    ]
    task = render_task_definition(spec, "apim", ImageRef("wso2am", DIGEST), "1" * 12, "us-east-1")
    names = {m["name"] for m in task["containerDefinitions"][0]["portMappings"]}
    assert {s["portName"] for s in apim["services"]} <= names
    # MI reaches APIM by the name APIM offers, on the port it offers it (service catalog, 9443)
    assert spec.services["mi"].environment["APIM_HOST"] == "apim"


def test_without_a_namespace_service_connect_is_off_and_ports_stay_unnamed():
    document = json.loads((EXAMPLES / "wso2-prod.json").read_text())
    del document["serviceConnect"]
    for service in document["services"].values():
        service.pop("serviceConnect")
    spec = parse_spec(json.dumps(document).encode(), "wso2-prod.json")
    for name in spec.services:
        assert render_service_settings(spec, name)["serviceConnectConfiguration"] == {
            "enabled": False
        }
        task = render_task_definition(spec, name, ImageRef("x", DIGEST), "1" * 12, "us-east-1")
        assert all("name" not in m for m in task["containerDefinitions"][0]["portMappings"])


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda p: p.name)
def test_rendered_requests_pass_botocores_input_validation(path):
    model = botocore.session.get_session().get_service_model("ecs")
    validator = ParamValidator()
    spec = load_spec_file(str(path))
    for name in spec.services:
        arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/x:1"
        request = create_service_request(spec, name, arn, "token")
        report = validator.validate(request, model.operation_model("CreateService").input_shape)
        assert not report.has_errors(), report.generate_report()
        update = {"cluster": spec.cluster, "service": name, **render_service_settings(spec, name)}
        report = validator.validate(update, model.operation_model("UpdateService").input_shape)
        assert not report.has_errors(), report.generate_report()
        task = render_task_definition(spec, name, ImageRef("x", DIGEST), "1" * 12, "us-east-1")
        shape = model.operation_model("RegisterTaskDefinition").input_shape
        report = validator.validate(task, shape)
        assert not report.has_errors(), report.generate_report()


# ---- the live comparison ------------------------------------------------------------------------


def live(connect: dict[str, Any] | None, **service: Any) -> LiveService:
    deployment: dict[str, Any] = {"status": "PRIMARY", "id": "ecs-svc/1"}
    if connect is not None:
        deployment["serviceConnectConfiguration"] = connect
    described = {"deployments": [{"status": "ACTIVE"}, deployment], **service}
    return LiveService("arn:aws:ecs:us-east-1:1:service/wso2-dev/apim", "arn:td:1", "ecs-svc/1",
                       "COMPLETED", "FARGATE", described, {"berth:environment": "dev"})  # fmt: skip


def _classify(settings: dict[str, Any], service: LiveService) -> str:
    spec = load_spec_file(DEV)
    rendered = render_task_definition(spec, "apim", ImageRef("wso2am", DIGEST), "1" * 12, "r")
    assert same_task_definition(rendered, rendered)
    return classify_change(
        environment="dev", rendered=rendered, settings=settings, launch_type="FARGATE",
        live=service, live_task_definition=rendered,
    ).kind  # fmt: skip


def test_the_configuration_is_read_from_the_primary_deployment():
    settings = {"serviceConnectConfiguration": render_service_settings(load_spec_file(DEV), "apim")[
        "serviceConnectConfiguration"]}  # fmt: skip
    wanted = settings["serviceConnectConfiguration"]
    # At the top level it would be ignored: DescribeServices never puts it there.
    assert _classify(settings, live(None, serviceConnectConfiguration=wanted)) == "settings"
    assert _classify(settings, live(copy.deepcopy(wanted))) == "none"
    assert service_update(settings, live(copy.deepcopy(wanted))) == {}


def test_ecs_defaults_and_a_namespace_arn_compare_equal():
    settings = {"serviceConnectConfiguration": render_service_settings(load_spec_file(DEV), "apim")[
        "serviceConnectConfiguration"]}  # fmt: skip
    as_described = copy.deepcopy(settings["serviceConnectConfiguration"])
    as_described["namespace"] = "arn:aws:servicediscovery:us-east-1:123456789012:namespace/ns-abc"
    as_described["services"][0]["clientAliases"][0]["dnsName"] = "apim"
    as_described["services"][1].pop("discoveryName")  # ECS's default would be the port name
    assert _classify(settings, live(as_described)) == "settings"
    as_described["services"][1]["discoveryName"] = "apim-gateway"
    as_described["logConfiguration"] = {"logDriver": "awslogs"}  # ECS's own additions are kept
    assert _classify(settings, live(as_described)) == "none"


def test_no_configuration_live_means_off_and_an_offer_removed_is_a_change():
    off = {"serviceConnectConfiguration": {"enabled": False}}
    assert _classify(off, live(None)) == "none"
    assert live_settings(live(None), off)["serviceConnectConfiguration"] == {"enabled": False}
    client_only = {"serviceConnectConfiguration": {"enabled": True, "namespace": "n", "services": []}}
    offering = {"enabled": True, "namespace": "n", "services": [
        {"portName": "p", "discoveryName": "p", "clientAliases": [{"port": 1, "dnsName": "p"}]}]}
    assert _classify(client_only, live(offering)) == "settings"
    assert service_update(client_only, live(offering)) == client_only
