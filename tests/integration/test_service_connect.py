"""APIM and MI find each other through ECS Service Connect (issue 16, finding 6): the example
deploys with its namespace, DescribeServices reports the configuration where AWS does (on the
deployments), and a re-upload of the same spec changes nothing."""

from __future__ import annotations

from berth.sandbox.sandbox import example_spec
from tests.integration.helpers import deploy_example, outcomes

NAMESPACE = "wso2-dev.local"


def _describe(sandbox, name):
    ecs = sandbox.client("ecs")
    return ecs.describe_services(cluster="wso2-dev", services=[name])["services"][0]


def test_the_example_deploys_with_service_connect_and_a_reupload_changes_nothing(sandbox):
    # Given the dev example, whose APIM offers apim:9443 and apim-gateway:8243 and whose MI
    # offers mi:8253 and reaches APIM as APIM_HOST=apim
    mark = sandbox.recorder.mark()
    deploy_example(sandbox)

    # Then each CreateService carries the service's Service Connect configuration
    created = {
        c.params["serviceName"]: c.params["serviceConnectConfiguration"]
        for c in sandbox.recorder.ecs_mutations(mark)
        if c.operation == "CreateService"
    }
    assert created["apim"] == {
        "enabled": True,
        "namespace": NAMESPACE,
        "services": [
            {"portName": "servlet-https", "discoveryName": "apim",
             "clientAliases": [{"port": 9443, "dnsName": "apim"}]},
            {"portName": "gateway-https", "discoveryName": "apim-gateway",
             "clientAliases": [{"port": 8243, "dnsName": "apim-gateway"}]},
        ],
    }  # fmt: skip
    assert created["mi"]["services"] == [
        {"portName": "passthrough-https", "discoveryName": "mi",
         "clientAliases": [{"port": 8253, "dnsName": "mi"}]},
    ]  # fmt: skip
    # and DescribeServices reports it on the deployment, not on the service (ECS API reference:
    # Deployment.serviceConnectConfiguration; the Service shape has no such member)
    apim = _describe(sandbox, "apim")
    assert "serviceConnectConfiguration" not in apim
    [deployment] = [d for d in apim["deployments"] if d["status"] == "PRIMARY"]
    assert deployment["serviceConnectConfiguration"] == created["apim"]

    # When the same spec is uploaded again
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()

    # Then nothing is registered or deployed
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert outcomes(sandbox, "on_spec_uploaded")[-1]["reason"] == (
        "nothing changed: every service already runs what the spec renders"
    )


def test_a_changed_alias_updates_only_that_service_in_place_and_then_holds(sandbox):
    deploy_example(sandbox)
    changed = sandbox.adapt_spec(example_spec()).replace(
        "name: apim-gateway", "name: gateway"
    )
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(changed)
    sandbox.run_until_idle()
    # Service Connect is a service setting: no new task definition, one UpdateService
    [update] = sandbox.recorder.ecs_mutations(mark)
    assert (update.operation, update.params["service"]) == ("UpdateService", "apim")
    names = [s["discoveryName"] for s in update.params["serviceConnectConfiguration"]["services"]]
    assert names == ["apim", "gateway"]
    [deployment] = [d for d in _describe(sandbox, "apim")["deployments"] if d["status"] == "PRIMARY"]
    assert deployment["serviceConnectConfiguration"]["services"][1]["discoveryName"] == "gateway"

    mark = sandbox.recorder.mark()
    sandbox.upload_spec(changed)
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []


def test_the_sandbox_refuses_a_port_name_the_task_definition_does_not_have(sandbox):
    # ServiceConnectService.portName "must match the name of one of the portMappings" (ECS API
    # reference); moto accepts anything.
    import pytest
    from botocore.exceptions import ClientError

    from tests.integration.test_strict_sandbox import register

    deploy_example(sandbox)
    ecs = sandbox.client("ecs")
    arn = register(ecs)["taskDefinition"]["taskDefinitionArn"]  # ports without names
    connect = {"enabled": True, "namespace": NAMESPACE, "services": [
        {"portName": "servlet-https", "clientAliases": [{"port": 9443, "dnsName": "apim"}]}]}
    network = _describe(sandbox, "apim")["networkConfiguration"]
    for call in (
        lambda: ecs.create_service(cluster="wso2-dev", serviceName="other", taskDefinition=arn,
                                   desiredCount=1, launchType="FARGATE",
                                   networkConfiguration=network,
                                   serviceConnectConfiguration=connect),
        lambda: ecs.update_service(cluster="wso2-dev", service="apim", taskDefinition=arn,
                                   serviceConnectConfiguration=connect),
    ):  # fmt: skip
        with pytest.raises(ClientError) as raised:
            call()
        assert raised.value.response["Error"]["Code"] == "InvalidParameterException"
        assert "portName servlet-https" in raised.value.response["Error"]["Message"]
