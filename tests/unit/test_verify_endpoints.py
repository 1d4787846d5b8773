"""Issue 28: a spec's verify.testUrl names only a test listener the operator declared for its
environment, and never an address inside the hook's own network, at validation with the stage's
fence (`berth validate --stage`, the upload)."""

from __future__ import annotations

import pytest

from chalicelib.spec.fence import FenceVariables, origin
from tests.unit.test_strategies import FULL_LB, TG, problems, spec_text

DEV_LISTENER = "https://apim-dev-test.internal.example.com:8443"
PROD_LISTENER = "https://apim-prod-test.internal.example.com:8443"


def fence(listeners: str = f"dev={DEV_LISTENER};prod={PROD_LISTENER}") -> FenceVariables:
    return FenceVariables(
        clusters="dev=c", roles="dev=exec", image_repositories="web", verify_hook="h",
        rollout_roles="dev=lb,hook", target_groups=f"dev={TG}/blue/*,{TG}/green/*",
        subnets="dev=subnet-1", security_groups="dev=sg-1", test_listeners=listeners,
    )  # fmt: skip


def refusals(test_url: str, declared: FenceVariables | None = None) -> list[str]:
    deployment = (
        "      strategy: blue-green\n      bakeTime: 0\n"
        f"      verify: {{testUrl: '{test_url}', health: /h}}\n"
    )
    found = problems(spec_text(deployment, FULL_LB), declared or fence())
    return [p.split(": ", 1)[1] for p in found if "testUrl" in p]


def test_the_environments_own_listener_is_accepted_however_it_is_spelled():
    assert refusals(DEV_LISTENER) == []
    assert refusals("https://APIM-DEV-TEST.internal.example.com:8443") == []
    assert origin("https://h.example.com:443/x") == "https://h.example.com"


def test_another_environments_listener_is_refused():
    assert refusals(PROD_LISTENER) == [
        f"services.web.deployment.verify.testUrl: {PROD_LISTENER} is not a test listener of "
        f"environment dev ({DEV_LISTENER}; environments.dev.testListeners in chalicelib/environments/<stage>.yaml): the hook sends the "
        "smoke header's secret only to a listener the operator declared"
    ]


def test_an_environment_without_declared_listeners_verifies_through_none():
    assert refusals("https://anywhere.example.com", fence(f"prod={PROD_LISTENER}")) == [
        "services.web.deployment.verify.testUrl: https://anywhere.example.com is not a test "
        "listener of environment dev (none; environments.dev.testListeners in chalicelib/environments/<stage>.yaml): the hook sends "
        "the smoke header's secret only to a listener the operator declared"
    ]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://169.254.169.254", "link-local"), ("http://169.254.170.2", "link-local"),
        ("http://127.0.0.1:9001", "loopback"), ("http://10.0.1.5:8443", "private"),
        ("http://100.64.0.1", "shared"), ("http://0.0.0.0", "unspecified"),
        ("http://2852039166", "link-local"), ("http://127.1:9001", "loopback"),
        ("http://0x7f.0.0.1", "loopback"),
    ],
)  # fmt: skip
def test_addresses_inside_the_hooks_network_are_refused_even_when_declared(url, kind):
    host = url.split("//", 1)[1].split(":", 1)[0]
    assert refusals(url, fence(f"dev={url}")) == [
        f"services.web.deployment.verify.testUrl: {host} is a {kind} address: the hook would "
        "call inside its own network (the Lambda runtime API, instance or task metadata); name "
        "the test listener by its load balancer's DNS name"
    ]


def test_ipv6_literals_are_not_a_test_url_at_all():
    assert refusals("http://[::1]:9001", fence("dev=http://[::1]:9001")) == [
        "services.web.deployment.verify.testUrl: 'http://[::1]:9001': String should match "
        "pattern '^https?://[A-Za-z0-9.-]+(:\\d{1,5})?$'"
    ]


def test_this_machine_by_name_is_refused():
    assert refusals("http://localhost:9001", fence("dev=http://localhost:9001")) == [
        "services.web.deployment.verify.testUrl: localhost is this machine: the hook would call "
        "its own runtime"
    ]
