"""Several target groups per service against the strict sandbox: what reaches ECS, what ECS
refuses (berth/sandbox/strict_ecs/ names the sources), and what a change sends."""

from __future__ import annotations

from typing import Any

import yaml

from berth.sandbox.sandbox import example_spec
from tests.integration.helpers import refused_untouched
from tests.integration.test_strict_sandbox import container, refusal, register

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/apim-dev/"
GATEWAY, PORTALS = TG + "0000000000008243", TG + "0000000000009443"
TWO = [
    {"targetGroupArn": GATEWAY, "containerPort": 8243},
    {"targetGroupArn": PORTALS, "containerPort": 9443},
]


def two_target_groups(sandbox, entries: list[dict[str, Any]] | None = None) -> str:
    """The dev example with APIM behind the gateway and the portals target groups (created, as
    the operator creates them)."""
    sandbox.create_target_group(GATEWAY)
    sandbox.create_target_group(PORTALS)
    document = yaml.safe_load(sandbox.adapt_spec(example_spec()))
    apim = document["services"]["apim"]
    apim.pop("loadBalancer", None)
    apim["loadBalancers"] = entries if entries is not None else TWO
    return yaml.safe_dump(document, sort_keys=False)


def live_balancers(sandbox, name: str = "apim") -> list[dict[str, Any]]:
    ecs = sandbox.client("ecs")
    return ecs.describe_services(cluster="wso2-dev", services=[name])["services"][0][
        "loadBalancers"
    ]


def test_a_service_joins_every_target_group_of_its_spec(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(two_target_groups(sandbox))
    sandbox.run_until_idle()
    [create] = [
        c.params for c in sandbox.recorder.ecs_mutations(mark)
        if c.operation == "CreateService" and c.params["serviceName"] == "apim"
    ]  # fmt: skip
    wanted = [{**entry, "containerName": "apim"} for entry in TWO]
    assert create["loadBalancers"] == wanted
    assert [{k: b[k] for k in ("targetGroupArn", "containerName", "containerPort")}
            for b in live_balancers(sandbox)] == wanted  # fmt: skip


def test_reordering_the_target_groups_sends_nothing_and_a_changed_set_redeploys(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(two_target_groups(sandbox))
    sandbox.run_until_idle()

    mark = sandbox.recorder.mark()
    sandbox.upload_spec(two_target_groups(sandbox, list(reversed(TWO))))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []

    mark = sandbox.recorder.mark()
    sandbox.upload_spec(two_target_groups(sandbox, TWO[:1]))
    sandbox.run_until_idle()
    [update] = [c.params for c in sandbox.recorder.ecs_mutations(mark)]
    assert update["loadBalancers"] == [{**TWO[0], "containerName": "apim"}]
    assert [b["targetGroupArn"] for b in live_balancers(sandbox)] == [GATEWAY]


def test_a_renamed_service_may_not_take_any_of_its_old_target_groups(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(two_target_groups(sandbox))
    sandbox.run_until_idle()
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)
    document = yaml.safe_load(two_target_groups(sandbox))
    gateway = document["services"].pop("apim")
    gateway["loadBalancers"] = [TWO[1]]  # keeps the portals only
    document["services"]["gateway"] = gateway
    document["services"]["mi"]["dependsOn"] = ["gateway"]
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = sandbox.notifications[seen:]
    assert note.document["errors"] == [
        "services.gateway.loadBalancers[0].targetGroupArn: apim, which left the spec, still "
        "serves this target group on wso2-dev; retire it in the same spec (retire: {apim: "
        "delete}), or keep its name"
    ]


def test_a_missing_target_group_deploys_nothing(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    never = TG + "00000000000never"
    text = two_target_groups(sandbox, [TWO[0], {"targetGroupArn": never, "containerPort": 9443}])
    assert refused_untouched(sandbox, text) == [
        f"services.apim.loadBalancers[1].targetGroupArn: target group {never} does not exist; "
        "create the target group first (docs/wso2.md: one per port, with its health check), or "
        "name an existing one. Nothing was deployed: every service of a change is checked "
        "before the first one starts"
    ]


# ---- what ECS refuses ---------------------------------------------------------------------------


def _create(sandbox, ecs, arn: str, balancers: list[dict[str, Any]]) -> Any:
    network = {"awsvpcConfiguration": {"subnets": sandbox.subnets,
                                       "securityGroups": [sandbox.security_group]}}  # fmt: skip
    return lambda: ecs.create_service(
        cluster="wso2-dev", serviceName="apim", taskDefinition=arn, desiredCount=1,
        launchType="FARGATE", networkConfiguration=network, loadBalancers=balancers,
    )  # fmt: skip


def test_create_service_refuses_a_container_or_port_the_task_definition_lacks(sandbox):
    ecs = sandbox.client("ecs")
    arn = register(ecs)["taskDefinition"]["taskDefinitionArn"]  # apim, port 8243 only
    other = [{"targetGroupArn": GATEWAY, "containerName": "gateway", "containerPort": 8243}]
    assert refusal(_create(sandbox, ecs, arn, other)) == (
        "InvalidParameterException", "The container gateway does not exist in the task definition."
    )  # fmt: skip
    portals = [{"targetGroupArn": PORTALS, "containerName": "apim", "containerPort": 9443}]
    assert refusal(_create(sandbox, ecs, arn, portals)) == (
        "InvalidParameterException", "The container apim did not have a container port 9443 defined."
    )  # fmt: skip
    six = [{"targetGroupArn": f"{TG}{i:016d}", "containerName": "apim", "containerPort": 8243}
           for i in range(6)]  # fmt: skip
    assert refusal(_create(sandbox, ecs, arn, six)) == (
        "InvalidParameterException", "A service can have at most 5 target groups."
    )  # fmt: skip


def test_update_service_checks_the_kept_target_groups_against_a_new_task_definition(sandbox):
    ecs = sandbox.client("ecs")
    both = container(portMappings=[{"containerPort": 8243}, {"containerPort": 9443}])
    arn = register(ecs, containerDefinitions=[both])["taskDefinition"]["taskDefinitionArn"]
    balancers = [{**entry, "containerName": "apim"} for entry in TWO]
    _create(sandbox, ecs, arn, balancers)()
    gateway_only = register(ecs)["taskDefinition"]["taskDefinitionArn"]
    assert refusal(
        lambda: ecs.update_service(cluster="wso2-dev", service="apim", taskDefinition=gateway_only)
    ) == ("InvalidParameterException", "The container apim did not have a container port 9443 defined.")  # fmt: skip
