"""examples/wso2-prod-ha.yaml through the real handlers in the sandbox (issue 31): `ha: true`
creates WSO2's two APIM nodes as two ECS services, node 2 only once node 1 is steady, then MI; a
push redeploys them one after the other, so one node always serves."""

from __future__ import annotations

import contextlib
import re

from botocore.exceptions import ClientError

from tests.conftest import EXAMPLES
from tests.integration.helpers import history, refused_untouched, statuses

PORTALS = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/apim-dev-portals/"


def ha_example_in_dev(sandbox, sticky: bool = True) -> str:
    """The HA example as the sandbox's dev environment runs it: dev's names, its SSM parameters
    and target groups created as the operator creates them (the portals' sticky), the sandbox's
    two subnets."""
    text = re.sub(r"\bprod\b", "dev", (EXAMPLES / "wso2-prod-ha.yaml").read_text())
    for arn in set(re.findall(r"arn:aws:ssm:[^\s\"]+", text)):
        with contextlib.suppress(ClientError):  # already created for another example
            sandbox.create_secret(arn)
    for arn in set(re.findall(r"arn:aws:elasticloadbalancing:[^\s\"]+", text)):
        sandbox.create_target_group(arn)
        if sticky and arn.startswith(PORTALS):
            sandbox.client("elbv2").modify_target_group_attributes(
                TargetGroupArn=arn,
                Attributes=[{"Key": "stickiness.enabled", "Value": "true"},
                            {"Key": "stickiness.type", "Value": "lb_cookie"}],
            )  # fmt: skip
    return sandbox.adapt_spec(text)


def _environment(sandbox, service: str) -> dict[str, str]:
    ecs = sandbox.client("ecs")
    live = ecs.describe_services(cluster="wso2-dev", services=[service])["services"][0]
    definition = ecs.describe_task_definition(taskDefinition=live["taskDefinition"])
    [product] = [c for c in definition["taskDefinition"]["containerDefinitions"]
                 if c["name"] == service]  # fmt: skip
    return {e["name"]: e["value"] for e in product["environment"]}


def test_the_ha_example_creates_two_apim_services_in_order(sandbox):
    # Given both products' images in ECR
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    mark = sandbox.recorder.mark()

    # When the HA example is uploaded
    sandbox.upload_spec(ha_example_in_dev(sandbox))
    sandbox.run_until_idle()

    # Then two APIM services are created, node 2 only after node 1's deployment completed
    assert statuses(sandbox) == [
        ("apim-1", "COMPLETED"), ("apim-2", "COMPLETED"), ("mi", "COMPLETED"),
    ]  # fmt: skip
    created = [
        c.params for c in sandbox.recorder.ecs_mutations(mark) if c.operation == "CreateService"
    ]
    assert [c["serviceName"] for c in created] == ["apim-1", "apim-2", "mi"]
    [one], [two], [mi] = history("apim-1"), history("apim-2"), history("mi")
    assert one.finished_at is not None and two.started_at is not None
    assert two.started_at >= one.finished_at
    assert mi.started_at is not None and two.finished_at is not None
    assert mi.started_at >= two.finished_at

    # each one task, in its own subnet, both in the gateway and portal target groups
    nodes = {c["serviceName"]: c for c in created[:2]}
    assert [nodes[n]["desiredCount"] for n in nodes] == [1, 1]
    subnets = [nodes[n]["networkConfiguration"]["awsvpcConfiguration"]["subnets"] for n in nodes]
    assert subnets == [[sandbox.subnets[0]], [sandbox.subnets[1]]]
    assert [lb["targetGroupArn"].split("/")[1] for lb in nodes["apim-1"]["loadBalancers"]] == [
        "apim-dev", "apim-dev-portals",
    ]  # fmt: skip
    assert [lb["targetGroupArn"] for lb in nodes["apim-2"]["loadBalancers"]] == [
        lb["targetGroupArn"] for lb in nodes["apim-1"]["loadBalancers"]
    ]

    # and each node's task definition names its peer, as helm-apim's instance-1/2 do
    for node, peer in (("apim-1", "apim-2"), ("apim-2", "apim-1")):
        environment = _environment(sandbox, node)
        assert environment["APIM_HA_PEER_HOST"] == peer
        assert (environment["APIM_HA_NODE_1_HOST"], environment["APIM_HA_NODE_2_HOST"]) == (
            "apim-1", "apim-2",
        )  # fmt: skip
        aliases = {
            (a["dnsName"], a["port"])
            for s in nodes[node]["serviceConnectConfiguration"]["services"]
            for a in s["clientAliases"]
        }  # fmt: skip
        assert {(node, 5672), (node, 9611), (node, 9711)} <= aliases


def test_a_push_redeploys_node_2_after_node_1(sandbox):
    # Given the HA example running
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(ha_example_in_dev(sandbox))
    sandbox.run_until_idle()
    mark = sandbox.recorder.mark()

    # When a new APIM build is pushed
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    # Then node 1 is updated first, node 2 only once node 1's deployment completed
    updated = [
        c.params["service"]
        for c in sandbox.recorder.ecs_mutations(mark) if c.operation == "UpdateService"
    ]  # fmt: skip
    assert updated == ["apim-1", "apim-2"]
    one, two = history("apim-1")[0], history("apim-2")[0]
    assert (one.status, two.status) == ("COMPLETED", "COMPLETED")
    assert one.finished_at is not None and two.started_at is not None
    assert two.started_at >= one.finished_at


def test_a_portals_target_group_without_stickiness_deploys_nothing(sandbox):
    # Given the HA example whose portals' target group was created without stickiness
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    text = ha_example_in_dev(sandbox, sticky=False)

    # Then the upload is refused before anything reaches ECS, naming the field and the fix
    arn = PORTALS + "0fedcba987654321"
    assert refused_untouched(sandbox, text) == [
        f"services.apim.loadBalancers[1].targetGroupArn: sticky target group {arn} has "
        "stickiness off (target group attribute stickiness.enabled): with ha: true two nodes "
        "serve the portals, whose sessions live on one node; turn stickiness on (aws elbv2 "
        "modify-target-group-attributes --target-group-arn ARN --attributes "
        "Key=stickiness.enabled,Value=true Key=stickiness.type,Value=lb_cookie; docs/wso2.md, "
        '"High availability"). Nothing was deployed: every service of a change is checked '
        "before the first one starts"
    ]


def test_a_running_apim_moves_to_the_pair_only_with_its_retirement(sandbox):
    # Given the single-node prod example running in dev (apim, mi)
    # (a verified canary since issue 30: its check goes through the sandbox's test listener)
    from berth.sandbox.listener import Route, TestListener
    from tests.integration.test_prod_example import HEALTH, prod_example_in_dev

    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    with TestListener({HEALTH: Route(200, "{}")}) as listener:
        sandbox.upload_spec(prod_example_in_dev(sandbox, listener))
        sandbox.run_until_idle()
    assert statuses(sandbox) == [("apim", "COMPLETED"), ("mi", "COMPLETED")]
    ha = ha_example_in_dev(sandbox)

    # When the HA example is uploaded without retiring apim, it is refused: the nodes would serve
    # apim's target groups beside it
    errors = refused_untouched(sandbox, ha)
    assert errors[0] == (
        "services.apim-1.loadBalancers[0].targetGroupArn: apim, which left the spec, still "
        "serves this target group on wso2-dev; retire it in the same spec (retire: {apim: "
        "delete}), or keep its name"
    )

    # When it retires apim in the same upload
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(ha + "retire:\n  apim: delete\n")
    sandbox.run_until_idle()

    # Then apim is deleted before the pair is created, node 1 then node 2
    mutations = [
        (c.operation, c.params.get("serviceName") or c.params.get("service"))
        for c in sandbox.recorder.ecs_mutations(mark)
        if c.operation in ("CreateService", "DeleteService")
    ]
    # (mi is the prod example's own service: it is updated, not created)
    assert mutations == [
        ("DeleteService", "apim"), ("CreateService", "apim-1"), ("CreateService", "apim-2"),
    ]  # fmt: skip
