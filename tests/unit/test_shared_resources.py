"""Issue 28: what several services share stays inside its environment (listener rules, the
Service Connect namespace), the keystore volume holding APIM's private key is mounted only
where Berth mounts it, and a sidecar mounts only the volumes its preset brings or that the spec
shares with it."""

from __future__ import annotations

from typing import Any

from chalicelib.errors import SpecError
from chalicelib.spec.fence import FenceVariables
from tests.unit.test_containers import example, parse, with_apim, with_sidecar
from tests.unit.test_containers import problems as container_problems
from tests.unit.test_strategies import FULL_LB, RULE, TG, problems, spec_text

DEV_RULES = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/lb/*"
PROD_RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/apim-prod/1/2/3"


def fence(**more: str) -> FenceVariables:
    given = {
        "clusters": "dev=c", "roles": "dev=exec", "image_repositories": "web",
        "verify_hook": "h", "rollout_roles": "dev=lb,hook",
        "target_groups": f"dev={TG}/blue/*,{TG}/green/*", "subnets": "dev=subnet-1",
        "security_groups": "dev=sg-1", **more,
    }  # fmt: skip
    return FenceVariables(**given)


BLUE_GREEN = "      strategy: blue-green\n      bakeTime: 0\n"


def test_the_environments_own_listener_rules_are_accepted():
    rules = fence(listener_rules=f"dev={DEV_RULES};prod={PROD_RULE}")
    assert problems(spec_text(BLUE_GREEN, FULL_LB), rules) == []


def test_another_environments_listener_rule_is_refused():
    balancer = FULL_LB.replace(f"productionListenerRule: {RULE}/01", f"productionListenerRule: {PROD_RULE}")
    found = problems(spec_text(BLUE_GREEN, balancer), fence(listener_rules=f"dev={DEV_RULES}"))
    assert [p.split(": ", 1)[1] for p in found] == [
        f"services.web.loadBalancer.productionListenerRule: {PROD_RULE} is not a listener rule of "
        f"environment dev ({DEV_RULES}; environments.dev.listenerRules in chalicelib/environments/<stage>.yaml): a deployment switches "
        "only its own environment's traffic"
    ]


def test_another_environments_namespace_is_refused():
    text = spec_text(BLUE_GREEN, FULL_LB).replace(
        "network: {", "serviceConnect: {namespace: wso2-prod.local}\nnetwork: {"
    )
    declared = fence(namespaces="dev=wso2-dev.local;prod=wso2-prod.local")
    assert [p.split(": ", 1)[1] for p in problems(text, declared)] == [
        "serviceConnect.namespace: wso2-prod.local is not a Service Connect namespace of "
        "environment dev (wso2-dev.local; environments.dev.namespaces in chalicelib/environments/<stage>.yaml): services join only "
        "their own environment's namespace"
    ]
    assert problems(text.replace("wso2-prod.local", "wso2-dev.local"), declared) == []


def test_no_sidecar_may_mount_the_keystore_volume():
    tail = {
        "image": "busybox:1.36@sha256:" + "a" * 64,
        "essential": False,
        "mountPoints": [{"volume": "berth-keystores", "path": "/steal"}],
    }
    assert container_problems(with_sidecar("tail", tail)) == [
        "services.apim.containers.tail.mountPoints[0].volume: berth-keystores holds the "
        "product's private key: only the keystore-init preset writes it and only the product "
        "reads it, and Berth mounts it for both"
    ]


SCRATCH_SIDECAR = {"image": "busybox:1.36@sha256:" + "a" * 64, "essential": False}


def test_a_sidecar_cannot_mount_the_products_volume_unless_the_volume_says_so():
    # The example's log router is a FireLens preset: it brings no volume of its own.
    document = with_sidecar("log-router", None)
    document["services"]["apim"]["containers"]["tail"] = {
        **SCRATCH_SIDECAR, "mountPoints": [{"volume": "solr", "path": "/index"}],
    }  # fmt: skip
    assert container_problems(document) == [
        "services.apim.containers.tail.mountPoints[0].volume: solr is not shared with tail: a "
        "sidecar mounts only its preset's own volume and the volumes that list it "
        "(volumes.solr.sharedWith: [tail])"
    ]
    document["services"]["apim"]["volumes"]["solr"]["sharedWith"] = ["tail"]
    assert container_problems_or_none(document) == []


def test_shared_with_names_a_sidecar_of_the_task():
    document = with_apim()
    document["services"]["apim"]["volumes"]["solr"]["sharedWith"] = ["log-ruoter"]
    assert container_problems(document) == [
        "services.apim.volumes.solr.sharedWith[0]: unknown sidecar 'log-ruoter' (did you mean "
        "'log-router'?) (the task's sidecars: log-router, keystore-init)"
    ]


def test_no_sidecar_writes_what_the_entrypoint_copies_into_the_product():
    # A bind volume the sidecar writes, mounted in WSO2's config volume: its files (a
    # deployment.toml, a jar) would become the product's at start.
    config = "/home/wso2carbon/wso2-config-volume/repository/components/dropins"
    document = with_sidecar(
        "tail", {**SCRATCH_SIDECAR, "mountPoints": [{"volume": "drop", "path": "/drop"}]},
        volumes={"drop": {"sharedWith": ["tail"]},
                 **example_volumes()},
        mountPoints=[{"volume": "drop", "path": config}],
    )  # fmt: skip
    assert container_problems(document) == [
        f"services.apim.mountPoints[0].path: {config} is inside WSO2's config volume "
        "(/home/wso2carbon/wso2-config-volume), which the entrypoint copies over the product "
        "home at start, and tail writes drop: a sidecar would put files into the product; "
        "mount it readOnly in the sidecar, or elsewhere in the product"
    ]
    # Read-only in the sidecar, the product alone writes it.
    document["services"]["apim"]["containers"]["tail"]["mountPoints"][0]["readOnly"] = True
    assert container_problems_or_none(document) == []


def example_volumes() -> dict[str, Any]:
    return dict(example()["services"]["apim"]["volumes"])


def container_problems_or_none(document: dict[str, Any]) -> list[str]:
    """The problems of a document that may be valid: [] when it parses."""
    try:
        parse(document)
    except SpecError as error:
        return [f"{p.path}: {p.reason}" for p in error.problems]
    return []
