"""examples/wso2-prod.json deploys as WSO2 ships APIM and MI (issue 16): APIM first, behind its
gateway and portals target groups; MI after APIM is healthy, reaching it by its Service Connect
name; each with its database settings and keystores. APIM, behind load balancers, deploys safely
by default (issue 30, as ECS Express Mode does): a canary verified by Berth before production
traffic, with deployment alarms on its target groups' 5xx that roll it back."""

from __future__ import annotations

import json
import re

from berth.sandbox.listener import Route, TestListener
from tests.conftest import EXAMPLES
from tests.integration.helpers import history, statuses

HEALTH = "/api/am/gateway/v2/server-startup-healthcheck"
EXAMPLE_TEST_URL = "https://apim-dev-test.internal.example.com:8443"


def prod_example_in_dev(sandbox, listener: TestListener) -> str:
    """examples/wso2-prod.json as the sandbox's dev environment runs it (the sandbox's stage
    fences prod's roles out): dev's names, with its SSM parameters and target groups created
    as the operator creates them, the sandbox's network, and the sandbox's test listener."""
    text = re.sub(r"\bprod\b", "dev", (EXAMPLES / "wso2-prod.json").read_text())
    assert EXAMPLE_TEST_URL in text
    text = text.replace(EXAMPLE_TEST_URL, listener.url)
    for arn in set(re.findall(r"arn:aws:ssm:[^\"]+", text)):
        sandbox.create_secret(arn)
    for arn in re.findall(r"arn:aws:elasticloadbalancing:[^\"]+:targetgroup/[^\"]+", text):
        sandbox.create_target_group(arn)
    return sandbox.adapt_spec(text)


def test_the_prod_example_deploys_apim_then_mi_through_service_connect(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    mark = sandbox.recorder.mark()
    with TestListener({HEALTH: Route(200, "{}")}) as listener:
        sandbox.upload_spec(prod_example_in_dev(sandbox, listener))
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
    assert [(b["targetGroupArn"], b["containerName"], b["containerPort"])
            for b in creates["apim"]["loadBalancers"]] == [
        (f"{tg}apim-dev/0123456789abcdef", "apim", 8243),
        (f"{tg}apim-dev-portals/0fedcba987654321", "apim", 9443),
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


def test_the_prod_example_deploys_apim_as_a_verified_canary_with_alarms_that_roll_back(sandbox):
    # Given the prod example's first deployment, then a new APIM image
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    with TestListener({HEALTH: Route(200, "{}")}) as listener:
        sandbox.upload_spec(prod_example_in_dev(sandbox, listener))
        sandbox.run_until_idle()
        first = history("apim")[0]
        checked_first = len(listener.received)
        mark = sandbox.recorder.mark()
        sandbox.push("wso2am", "4.7.0-2")
        sandbox.run_until_idle()
        checked = listener.received[checked_first:]

    # Then what reached ECS is a canary with the alarms and Berth's hook before production traffic
    [update] = [c.params for c in sandbox.recorder.ecs_mutations(mark)
                if c.operation == "UpdateService"]  # fmt: skip
    ecs = sandbox.client("ecs")
    live = ecs.describe_services(cluster="wso2-dev", services=["apim"])["services"][0]
    config = live["deploymentConfiguration"]
    assert config["strategy"] == "CANARY"
    assert config["canaryConfiguration"] == {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 3}
    assert config["bakeTimeInMinutes"] == 3
    assert config["alarms"] == {"alarmNames": ["apim-dev-gateway-5xx", "apim-dev-gateway-green-5xx"],
                                "enable": True, "rollback": True}  # fmt: skip
    [hook] = config["lifecycleHooks"]
    assert hook["lifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
    # no circuit breaker: AWS documents it for rolling and blue/green deployments only
    assert "deploymentCircuitBreaker" not in update.get("deploymentConfiguration", {})
    assert all(b["advancedConfiguration"]["testListenerRule"] for b in live["loadBalancers"])
    # and the image was checked through the test listener before it completed, as a canary
    assert first.status == "COMPLETED"
    assert [path for _, path, _ in checked] == [HEALTH]
    record = history("apim")[0]
    assert record.status == "COMPLETED"
    assert sandbox.ecs_sim.traffic[record.ecs_deployment_id] == [5.0, 100.0]

    # When a newer image's canary raises the gateway's 5xx alarm
    sandbox.fire_alarm("apim-dev-gateway-green-5xx")
    with TestListener({HEALTH: Route(200, "{}")}) as listener:
        sandbox.push("wso2am", "4.7.0-3")
        sandbox.run_until_idle()

    # Then ECS rolls it back, and Berth says which alarm
    record = history("apim")[0]
    assert record.status == "ROLLED_BACK"
    assert "apim-dev-gateway-green-5xx" in record.reason
