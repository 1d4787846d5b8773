"""Several target groups per service (issue 16): `loadBalancers`, beside the one-entry
`loadBalancer`; validated with located messages, rendered into CreateService, fenced per
environment, and compared as a set."""

from __future__ import annotations

import pytest

from berth.stages import stage_fence
from chalicelib.decisions.changes import covers
from chalicelib.errors import SpecError
from chalicelib.rendering.service_request import render_service_settings
from chalicelib.spec.parse import parse_spec
from tests.unit.test_spec import VALID

TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/apim-prod/"
GATEWAY, PORTALS = TG + "0000000000008243", TG + "0000000000009443"


def with_apim(lines: str) -> str:
    """VALID with `lines` (indented four spaces) added to the apim service."""
    marker = "    image: {repository: wso2am, track: \"4.7.*\"}\n"
    return VALID.replace(marker, marker + lines)


def errors_of(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text.encode(), "specs/prod.yaml")
    return [str(p) for p in caught.value.problems]


def at(text: str, needle: str, nth: int = 1) -> str:
    """`line:column` where the nth `needle` starts in `text`."""
    found = -1
    for _ in range(nth):
        found = text.index(needle, found + 1)
    before = text[:found]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


TWO = (
    "    loadBalancers:\n"
    f"      - {{targetGroupArn: {GATEWAY}, containerPort: 8243}}\n"
    f"      - {{targetGroupArn: {PORTALS}, containerPort: 9443}}\n"
)


def test_each_target_group_is_rendered_for_the_product_container():
    spec = parse_spec(with_apim(TWO).encode(), "specs/prod.yaml")
    settings = render_service_settings(spec, "apim")
    assert settings["loadBalancers"] == [
        {"targetGroupArn": GATEWAY, "containerName": "apim", "containerPort": 8243},
        {"targetGroupArn": PORTALS, "containerName": "apim", "containerPort": 9443},
    ]
    # Behind a load balancer WSO2 gets its start-up grace period, as with `loadBalancer`.
    assert settings["healthCheckGracePeriodSeconds"] == 300


def test_an_entry_without_a_port_takes_the_products_load_balancer_port():
    spec = parse_spec(with_apim(f"    loadBalancers:\n      - targetGroupArn: {GATEWAY}\n").encode(), "p")
    assert render_service_settings(spec, "apim")["loadBalancers"][0]["containerPort"] == 8243


def test_the_singular_form_still_renders_one_entry():
    text = with_apim(f"    loadBalancer: {{targetGroupArn: {GATEWAY}}}\n")
    spec = parse_spec(text.encode(), "p")
    assert render_service_settings(spec, "apim")["loadBalancers"] == [
        {"targetGroupArn": GATEWAY, "containerName": "apim", "containerPort": 8243}
    ]


def test_both_forms_at_once_are_refused_where_the_list_is():
    text = with_apim(f"    loadBalancer: {{targetGroupArn: {GATEWAY}}}\n" + TWO)
    assert errors_of(text) == [
        f"specs/prod.yaml:{at(text, 'loadBalancers:')}: services.apim.loadBalancers: set "
        "either loadBalancer or loadBalancers, not both: move the loadBalancer entry into the "
        "loadBalancers list"
    ]


def test_a_port_the_product_container_lacks_is_refused_at_its_entry():
    text = with_apim(TWO.replace("containerPort: 9443", "containerPort: 9999"))
    assert errors_of(text) == [
        f"specs/prod.yaml:{at(text, 'containerPort: 9999')}: services.apim.loadBalancers[1].containerPort: 9999 is not "
        "one of the service's ports (9443, 8243, 8280, 9763)"
    ]


def test_the_same_target_group_twice_is_refused():
    text = with_apim(TWO.replace(PORTALS, GATEWAY))
    assert errors_of(text) == [
        f"specs/prod.yaml:{at(text, 'targetGroupArn:', 2)}: services.apim.loadBalancers[1].targetGroupArn: the same "
        "target group as loadBalancers[0]; give each port its own target group (a target group "
        "has one health check)"
    ]


def test_more_than_five_target_groups_are_refused_with_ecs_limit():
    entries = "".join(
        f"      - {{targetGroupArn: {TG}{i:016d}, containerPort: 8243}}\n" for i in range(6)
    )
    text = with_apim("    loadBalancers:\n" + entries)
    assert errors_of(text) == [
        f"specs/prod.yaml:{at(text, 'loadBalancers:')}: services.apim.loadBalancers: 6 "
        "target groups; ECS attaches at most 5 to a service: send several ports through one load "
        "balancer's listeners instead"
    ]


def test_every_target_group_must_be_the_environments():
    fence = stage_fence("prod", "us-east-1", overrides={"BERTH_ACCOUNT": "123456789012"})
    # VALID's services name no roles or networks of the stage; only the target group part of
    # the fence's answer is looked at.
    text = with_apim(TWO.replace(PORTALS, PORTALS.replace("apim-prod", "apim-dev")))
    with pytest.raises(SpecError) as caught:
        parse_spec(text.encode(), "s.yaml", fence)
    found = [str(p) for p in caught.value.problems if "targetGroupArn" in str(p)]
    assert found == [
        f"s.yaml:{at(text, 'targetGroupArn:', 2)}: "
        "services.apim.loadBalancers[1].targetGroupArn: not a target group of environment prod "
        "(arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/apim-prod-green/*, "
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/apim-prod-portals-green/*, "
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/apim-prod-portals/*, "
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/apim-prod/*; "
        "environments.prod.network.targetGroups in chalicelib/environments/prod.yaml)"
    ]


def test_the_set_of_target_groups_is_compared_not_their_order():
    spec = parse_spec(with_apim(TWO).encode(), "p")
    wanted = render_service_settings(spec, "apim")["loadBalancers"]
    assert covers(list(reversed(wanted)), wanted)
    assert not covers(wanted[:1], wanted)  # one removed
    moved = [wanted[0], {**wanted[1], "containerPort": 9763}]
    assert not covers(moved, wanted)
