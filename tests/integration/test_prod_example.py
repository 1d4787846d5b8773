"""examples/wso2-prod.json deploys as WSO2 ships APIM and MI (issue 16): APIM first, behind its
gateway and portals target groups; MI after APIM is healthy, reaching it by its Service Connect
name; each with its database settings and keystores."""

from __future__ import annotations

import json
import re

from tests.conftest import EXAMPLES
from tests.integration.helpers import history, statuses


def prod_example_in_dev(sandbox) -> str:
    """examples/wso2-prod.json as the sandbox's dev environment runs it (the sandbox's stage
    fences prod's roles out): dev's names, with its SSM parameters and target groups created
    as the operator creates them, and the sandbox's network."""
    text = re.sub(r"\bprod\b", "dev", (EXAMPLES / "wso2-prod.json").read_text())
    for arn in set(re.findall(r"arn:aws:ssm:[^\"]+", text)):
        sandbox.create_secret(arn)
    for arn in re.findall(r"arn:aws:elasticloadbalancing:[^\"]+", text):
        sandbox.create_target_group(arn)
    return sandbox.adapt_spec(text)


def test_the_prod_example_deploys_apim_then_mi_through_service_connect(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(prod_example_in_dev(sandbox))
    sandbox.run_until_idle()

    # MI only once APIM's deployment completed: MI registers with APIM's service catalog at start.
    assert statuses(sandbox) == [("apim", "COMPLETED"), ("mi", "COMPLETED")]
    [apim], [mi] = history("apim"), history("mi")
    assert mi.started_at is not None and apim.finished_at is not None
    assert mi.started_at >= apim.finished_at
    creates = {
        c.params["serviceName"]: c.params
        for c in sandbox.recorder.ecs_mutations(mark) if c.operation == "CreateService"
    }  # fmt: skip
    tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/"
    assert creates["apim"]["loadBalancers"] == [
        {"targetGroupArn": f"{tg}apim-dev/0123456789abcdef", "containerName": "apim",
         "containerPort": 8243},
        {"targetGroupArn": f"{tg}apim-dev-portals/0fedcba987654321", "containerName": "apim",
         "containerPort": 9443},
    ]  # fmt: skip
    ei_connect = creates["mi"]["serviceConnectConfiguration"]
    assert ei_connect["namespace"] == "wso2-dev.local"
    assert [s["discoveryName"] for s in ei_connect["services"]] == ["mi"]
    apim_aliases = [
        alias for s in creates["apim"]["serviceConnectConfiguration"]["services"]
        for alias in s["clientAliases"]
    ]  # fmt: skip
    assert {"port": 9443, "dnsName": "apim"} in apim_aliases

    # MI's APIM_HOST is the name APIM offers; its keystores and the database reach the task.
    ecs = sandbox.client("ecs")
    service = ecs.describe_services(cluster="wso2-dev", services=["mi"])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    [mi] = [c for c in definition["taskDefinition"]["containerDefinitions"] if c["name"] == "mi"]
    environment = {e["name"]: e["value"] for e in mi["environment"]}
    assert environment["APIM_HOST"] == "apim"
    assert environment["MI_COORDINATION_DB_URL"].startswith("jdbc:postgresql://")
    assert {"BERTH_KEYSTORE_B64", "KEYSTORE_PASSWORD", "BERTH_TRUSTSTORE_B64",
            "MI_COORDINATION_DB_PASSWORD"} <= {s["name"] for s in mi["secrets"]}  # fmt: skip
    assert json.loads((EXAMPLES / "wso2-prod.json").read_text())["services"]["mi"]["dependsOn"] == [
        "apim"
    ]
