"""ECS deployment strategies in the spec: blue/green, canary, linear, alarms and Berth's
verification hook, validated with locations (what AWS refuses, refused up front) and rendered into
CreateService/UpdateService as botocore's ECS model takes them."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from chalicelib.decisions.changes import covers, live_settings, service_update
from chalicelib.errors import SpecError
from chalicelib.rendering.service_request import create_service_request, render_service_settings
from chalicelib.rendering.strategies import RolloutRoles, rollout_roles
from chalicelib.settings import Settings
from chalicelib.spec.fence import FenceVariables
from chalicelib.spec.parse import load_spec_file, parse_spec
from chalicelib.values.live import LiveService
from tests.conftest import EXAMPLES

BLUE_GREEN = str(EXAMPLES / "wso2-dev-bluegreen.yaml")
TG = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup"
RULE = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/lb/0123456789abcdef/0123456789abcdef"
NLB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/lb/0123456789abcdef/0123456789abcdef"
ROLES = RolloutRoles(
    "arn:aws:iam::123456789012:role/berth-ecs-lb-dev-dev",
    "arn:aws:iam::123456789012:role/berth-ecs-hook-dev-dev",
    "arn:aws:lambda:us-east-1:123456789012:function:berth-dev-verify_rollout",
)


def spec_text(deployment: str, balancer: str = "", product: str = "generic") -> str:
    lb = f"    loadBalancer:\n      targetGroupArn: {TG}/blue/1\n{balancer}" if balancer != "-" else ""
    return f"""berth: 1
environment: dev
cluster: c
executionRoleArn: arn:aws:iam::123456789012:role/exec
network: {{subnets: [subnet-1], securityGroups: [sg-1]}}
services:
  web:
    product: {product}
    image: web
    ports: [8243, 9443]
{lb}    deployment:
{deployment}"""


FULL_LB = f"""      containerPort: 8243
      alternateTargetGroupArn: {TG}/green/2
      productionListenerRule: {RULE}/01
      testListenerRule: {RULE}/02
"""


def problems(text: str, fence: FenceVariables | None = None) -> list[str]:
    try:
        parse_spec(text.encode(), "s.yaml", fence.fence() if fence else None)
    except SpecError as exc:
        return [f"{p.line}:{p.column}: {p.path}: {p.reason}" for p in exc.problems]
    return []


# ---- validation ---------------------------------------------------------------------------------


def test_blue_green_needs_a_load_balancer():
    assert problems(spec_text("      strategy: blue-green\n      bakeTime: 5\n", "-")) == [
        "12:7: services.web.deployment.strategy: blue-green deployments shift traffic between "
        "two target groups of a load balancer (ECS developer guide, blue/green deployments): add "
        "loadBalancer with targetGroupArn, alternateTargetGroupArn and productionListenerRule"
    ]


def test_blue_green_needs_the_alternate_target_group_listener_rule_and_bake_time():
    assert problems(spec_text("      strategy: blue-green\n", "      containerPort: 8243\n")) == [
        "11:5: services.web.loadBalancer.alternateTargetGroupArn: required for blue-green "
        "deployments: the target group ECS registers the new (green) revision's tasks with, on "
        "the same load balancer",
        "11:5: services.web.loadBalancer.productionListenerRule: required for blue-green "
        "deployments: the listener rule (ALB) or listener (NLB) ECS moves production traffic with",
        "14:5: services.web.deployment.bakeTime: required for blue-green: the minutes ECS keeps "
        "the old (blue) revision running after production traffic moved, to roll back to "
        "(0-1440)",
    ]


def test_verification_needs_the_test_listener():
    balancer = (
        f"      containerPort: 8243\n      alternateTargetGroupArn: {TG}/green/2\n"
        f"      productionListenerRule: {RULE}/01\n"
    )
    deployment = "      strategy: canary\n      verify: {testUrl: 'http://127.0.0.1:8080', health: /h}\n"
    assert problems(spec_text(deployment, balancer)) == [
        "11:5: services.web.loadBalancer.testListenerRule: required with deployment.verify: "
        "Berth verifies the new revision through the test listener before production traffic "
        "moves"
    ]


def test_percentages_and_bake_times_follow_ecs_limits():
    deployment = "      strategy: canary\n      canary: {percent: 0.05, bake: 1441}\n"
    found = problems(spec_text(deployment, FULL_LB))
    assert found[0].startswith("19:16: services.web.deployment.canary.percent: ")
    assert "greater than or equal to 0.1" in found[0]
    assert found[1].startswith("19:31: services.web.deployment.canary.bake: ")
    assert "less than or equal to 1440" in found[1]
    deployment = "      strategy: linear\n      linear: {stepPercent: 2.5}\n"
    [found_linear] = problems(spec_text(deployment, FULL_LB))
    assert "linear.stepPercent" in found_linear and "greater than or equal to 3" in found_linear
    deployment = "      strategy: canary\n      canary: {percent: 12.34}\n"
    [tenths] = problems(spec_text(deployment, FULL_LB))
    assert tenths.endswith("12.34 is not a multiple of 0.1 (ECS takes percentages in tenths)")


def test_a_configuration_of_another_strategy_is_refused():
    deployment = "      strategy: linear\n      canary: {percent: 10}\n"
    assert problems(spec_text(deployment, FULL_LB)) == [
        "19:7: services.web.deployment.canary: only valid with strategy: canary (ECS takes "
        "canaryConfiguration only for CANARY)"
    ]


def test_rolling_deployments_refuse_what_only_other_strategies_use():
    deployment = "      bakeTime: 5\n      verify: {testUrl: 'http://127.0.0.1:8080', health: /h}\n"
    found = problems(spec_text(deployment, FULL_LB))
    assert [f.split(": ")[1] for f in found] == [
        "services.web.loadBalancer.alternateTargetGroupArn",
        "services.web.loadBalancer.productionListenerRule",
        "services.web.loadBalancer.testListenerRule",
        "services.web.deployment.bakeTime",
        "services.web.deployment.verify",
    ]
    assert found[0].endswith(
        "only blue-green, canary and linear deployments use it; set deployment.strategy"
    )


def test_listener_rules_of_two_kinds_or_the_same_rule_are_refused():
    balancer = FULL_LB.replace(f"{RULE}/02", NLB)
    [found] = problems(spec_text("      strategy: blue-green\n      bakeTime: 0\n", balancer))
    assert found.endswith(
        "services.web.loadBalancer.testListenerRule: is a Network Load Balancer listener but "
        "productionListenerRule is an Application Load Balancer listener rule; both belong to the "
        "same load balancer"
    )
    balancer = FULL_LB.replace(f"{RULE}/02", f"{RULE}/01")
    [same] = problems(spec_text("      strategy: blue-green\n      bakeTime: 0\n", balancer))
    assert same.endswith("is the production listener rule; test traffic needs a rule of its own")


def test_a_generic_service_must_say_what_to_verify():
    deployment = "      strategy: blue-green\n      bakeTime: 0\n      verify: {testUrl: 'http://x'}\n"
    [found] = problems(spec_text(deployment, FULL_LB, product="generic"))
    assert found.endswith(
        "services.web.deployment.verify: nothing to check for a generic service: give health (a "
        "path) or smoke (a request)"
    )


def test_alarms_are_named_once():
    [found] = problems(spec_text("      alarms: [a, b, a]\n", "-"))
    assert found == "12:22: services.web.deployment.alarms[2]: 'a' is listed twice"


def test_the_stage_must_declare_the_environments_rollout_roles_and_hook():
    # The test listener is declared: only the roles and the hook are missing.
    fence = FenceVariables(clusters="dev=c", roles="dev=exec", image_repositories="web",
                           test_listeners="dev=http://x")  # fmt: skip
    deployment = "      strategy: blue-green\n      bakeTime: 0\n      verify: {testUrl: 'http://x', health: /h}\n"
    assert [p.split(": ", 2)[1:] for p in problems(spec_text(deployment, FULL_LB), fence)] == [
        ["services.web.deployment.strategy",
         "environment dev has no roles for blue-green deployments: the operator declares ECS's "
         "load balancer and hook roles (rolloutRoles: {loadBalancer: <load balancer role>, hook: "
         "<hook role>} under environments.dev in chalicelib/environments/<stage>.yaml; "
         "infra/resources.yaml creates them)"],
        ["services.web.deployment.verify",
         "this stage has no verification hook (BERTH_VERIFY_HOOK_FUNCTION)"],
    ]  # fmt: skip
    fence = FenceVariables(clusters="dev=c", roles="dev=exec", image_repositories="web", rollout_roles="dev=lb,hook", verify_hook="h",
                           test_listeners="dev=http://x", target_groups=f"dev={TG}/blue/*", subnets="dev=subnet-1",
                           security_groups="dev=sg-1")  # fmt: skip
    [outside] = problems(spec_text(deployment, FULL_LB), fence)
    assert "alternateTargetGroupArn: not a target group of environment dev" in outside


def test_the_example_validates_against_the_dev_stage():
    settings = Settings.from_environment(
        {"AWS_REGION": "us-east-1", "BERTH_SPEC_BUCKET": "b", "BERTH_TOPIC_ARN": "t",
         **_dev_stage_variables()}
    )  # fmt: skip
    assert load_spec_file(BLUE_GREEN, settings.fence).services["apim"].deployment.strategy == (
        "blue-green"
    )
    roles = rollout_roles(settings.fence, "dev", "123456789012", "us-east-1")
    assert roles == ROLES


def _dev_stage_variables() -> dict[str, str]:
    import json

    config = json.loads((EXAMPLES.parent / ".chalice" / "config.json").read_text())
    return dict(config["stages"]["dev"]["environment_variables"])


# ---- rendering ----------------------------------------------------------------------------------


def test_blue_green_renders_ecs_native_configuration():
    settings = render_service_settings(load_spec_file(BLUE_GREEN), "apim", ROLES)
    config = settings["deploymentConfiguration"]
    assert config["strategy"] == "BLUE_GREEN"
    assert config["bakeTimeInMinutes"] == 10
    assert config["alarms"] == {"alarmNames": ["apim-dev-gateway-5xx"], "enable": True,
                                "rollback": True}  # fmt: skip
    [hook] = config["lifecycleHooks"]
    assert hook["hookTargetArn"] == ROLES.hook_function_arn
    assert hook["roleArn"] == ROLES.hook_role_arn
    assert hook["lifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
    assert hook["hookDetails"] == {"berth": {
        "environment": "dev", "service": "apim", "product": "wso2am",
        "testUrl": "https://apim-dev-test.internal.example.com:8443",
        "health": "/api/am/gateway/v2/server-startup-healthcheck",
        "smoke": {"method": "GET", "path": "/pizzashack/1.0.0/menu", "status": 200,
                  "header": {"name": "Authorization", "secret":
                             "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/smoke-token"}},
        "timeout": 5, "startup": 10,
    }}  # fmt: skip
    [balancer] = settings["loadBalancers"]
    assert balancer["advancedConfiguration"] == {
        "alternateTargetGroupArn": f"{TG}/apim-dev-green/0123456789abcdf0",
        "productionListenerRule": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
        "listener-rule/app/apim-dev/0123456789abcdef/0123456789abcdef/0123456789abcd01",
        "testListenerRule": "arn:aws:elasticloadbalancing:us-east-1:123456789012:"
        "listener-rule/app/apim-dev/0123456789abcdef/0123456789abcdef/0123456789abcd02",
        "roleArn": ROLES.load_balancer_role_arn,
    }


def test_canary_and_linear_render_their_configuration_with_ecs_defaults():
    canary = parse_spec(spec_text("      strategy: canary\n", FULL_LB).encode(), "s.yaml")
    config = render_service_settings(canary, "web", ROLES)["deploymentConfiguration"]
    assert (config["strategy"], config["canaryConfiguration"]) == (
        "CANARY", {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 10}
    )
    linear = parse_spec(
        spec_text("      strategy: linear\n      linear: {stepPercent: 25, bake: 2}\n", FULL_LB)
        .encode(), "s.yaml",
    )  # fmt: skip
    config = render_service_settings(linear, "web", ROLES)["deploymentConfiguration"]
    assert (config["strategy"], config["linearConfiguration"]) == (
        "LINEAR", {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2}
    )
    assert "lifecycleHooks" not in config and "bakeTimeInMinutes" not in config


def test_a_rolling_service_renders_exactly_as_before():
    spec = load_spec_file(str(EXAMPLES / "wso2-dev.yaml"))
    settings = render_service_settings(spec, "apim", ROLES)
    assert settings["deploymentConfiguration"] == {
        "minimumHealthyPercent": 100, "maximumPercent": 200,
        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    }  # fmt: skip
    assert "advancedConfiguration" not in settings["loadBalancers"][0]


@pytest.mark.parametrize("strategy", ["blue-green", "canary", "linear"])
def test_rendered_requests_pass_botocores_input_validation(strategy):
    model = botocore.session.get_session().get_service_model("ecs")
    validator = ParamValidator()
    deployment = (
        f"      strategy: {strategy}\n      bakeTime: 3\n      alarms: [x]\n"
        "      verify: {testUrl: 'http://127.0.0.1:8080', smoke: {path: /x, status: 204}}\n"
    )
    spec = parse_spec(spec_text(deployment, FULL_LB).encode(), "s.yaml")
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/x:1"
    request = create_service_request(spec, "web", arn, "token", ROLES)
    report = validator.validate(request, model.operation_model("CreateService").input_shape)
    assert not report.has_errors(), report.generate_report()
    update = {"cluster": "c", "service": "web", **render_service_settings(spec, "web", ROLES)}
    report = validator.validate(update, model.operation_model("UpdateService").input_shape)
    assert not report.has_errors(), report.generate_report()
    assert request["deploymentConfiguration"]["lifecycleHooks"][0]["hookDetails"]["berth"][
        "smoke"] == {"method": "GET", "path": "/x", "status": 204}  # fmt: skip


def test_the_smoke_headers_secret_is_fenced_like_the_tasks_secrets():
    fence = FenceVariables(clusters="dev=c", roles="dev=exec", image_repositories="web",
                           rollout_roles="dev=lb,hook", verify_hook="h", account="123456789012",
                           secrets="dev=wso2/dev/", test_listeners="dev=http://x")  # fmt: skip
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/prod/token"
    deployment = (
        "      strategy: blue-green\n      bakeTime: 0\n      verify:\n"
        "        testUrl: 'http://x'\n        health: /h\n"
        f"        smoke: {{path: /api, header: {{name: Authorization, secret: '{secret}'}}}}\n"
    )
    [found] = problems(spec_text(deployment, FULL_LB), fence)
    assert found.endswith(
        "services.web.deployment.verify.smoke.header.secret: secret wso2/prod/token is outside "
        "environment dev's secrets: name one under wso2/dev/ (environments.dev.secretsPrefix in chalicelib/environments/<stage>.yaml)"
    )


# ---- leaving a strategy -------------------------------------------------------------------------


def _live(configuration: dict, balancers: list) -> LiveService:
    described = {"deploymentConfiguration": configuration, "loadBalancers": balancers,
                 "deployments": [{"status": "PRIMARY", "id": "ecs-svc/1"}]}  # fmt: skip
    return LiveService("arn:aws:ecs:us-east-1:1:service/c/web", "arn:td:1", "ecs-svc/1",
                       "COMPLETED", "FARGATE", described, {"berth:environment": "dev"})  # fmt: skip


def test_a_spec_back_on_rolling_resets_what_ecs_still_runs():
    blue_green = parse_spec(spec_text("      strategy: blue-green\n      bakeTime: 1\n"
                                      "      alarms: [a]\n", FULL_LB).encode(), "s.yaml")  # fmt: skip
    live = render_service_settings(blue_green, "web", ROLES)
    rolling = parse_spec(spec_text("      {}\n", "      containerPort: 8243\n").encode(), "s.yaml")
    wanted = render_service_settings(rolling, "web", ROLES)
    service = _live(live["deploymentConfiguration"], live["loadBalancers"])
    # Given what runs is blue/green with alarms, the rolling spec is a change
    assert not covers(live_settings(service, wanted), wanted)
    update = service_update(wanted, service)
    # and the update turns the strategy and alarms off, and sends the load balancer without
    # its advanced configuration
    assert update["deploymentConfiguration"] == {
        **wanted["deploymentConfiguration"], "strategy": "ROLLING",
        "alarms": {"alarmNames": [], "enable": False, "rollback": False},
    }  # fmt: skip
    assert update["loadBalancers"] == wanted["loadBalancers"]
    assert "advancedConfiguration" not in update["loadBalancers"][0]
    # while the same blue/green spec again is no change at all
    again = {k: live[k] for k in ("deploymentConfiguration", "loadBalancers")}
    assert covers(live_settings(service, again), again)
    assert service_update(again, service) == {
        "deploymentConfiguration": live["deploymentConfiguration"]
    }


# ---- the circuit breaker where AWS documents it (issue 30) --------------------------------------


@pytest.mark.parametrize(
    ("deployment", "breaker"),
    [
        ("      {}\n", {"enable": True, "rollback": True}),
        ("      strategy: blue-green\n      bakeTime: 5\n", {"enable": True, "rollback": True}),
        ("      strategy: canary\n      alarms: [web-5xx]\n", None),
        ("      strategy: linear\n      alarms: [web-5xx]\n", None),
    ],
)
def test_the_circuit_breaker_is_rendered_only_for_rolling_and_blue_green(deployment, breaker):
    """ECS API reference, DeploymentCircuitBreaker: "can only be used for services using the
    rolling update (ECS) deployment type"; ECS developer guide, deployment failure detection:
    "Both methods only support rolling update deployment and blue/green deployment types"."""
    balancer = FULL_LB if "strategy" in deployment else "      containerPort: 8243\n"
    spec = parse_spec(spec_text(deployment, balancer).encode(), "s.yaml")
    request = create_service_request(spec, "web", "arn:td:1", "token", ROLES)
    config = request["deploymentConfiguration"]
    assert config.get("deploymentCircuitBreaker") == breaker
    if breaker is None:
        # what fails a canary or linear deployment instead: its alarms, with rollback
        assert config["alarms"] == {"alarmNames": ["web-5xx"], "enable": True, "rollback": True}


def test_a_circuit_breaker_given_to_a_canary_or_linear_deployment_is_refused_where_it_is():
    for strategy in ("canary", "linear"):
        deployment = (
            f"      strategy: {strategy}\n      circuitBreaker: {{enable: true, rollback: true}}\n"
        )
        [found] = problems(spec_text(deployment, FULL_LB))
        assert found.startswith("19:7: services.web.deployment.circuitBreaker: not with "
                                f"{strategy}: ECS documents the deployment circuit breaker for "
                                "rolling and blue/green deployments only")  # fmt: skip


def test_leaving_rolling_for_canary_turns_the_live_circuit_breaker_off():
    rolling = parse_spec(spec_text("      {}\n", "      containerPort: 8243\n").encode(), "s.yaml")
    live = render_service_settings(rolling, "web", ROLES)
    canary = parse_spec(spec_text("      strategy: canary\n", FULL_LB).encode(), "s.yaml")
    wanted = render_service_settings(canary, "web", ROLES)
    service = _live(live["deploymentConfiguration"], live["loadBalancers"])
    update = service_update(wanted, service)
    assert update["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": False, "rollback": False,
    }  # fmt: skip
    # and once it is off, the same canary spec is no change
    again = _live(update["deploymentConfiguration"], update["loadBalancers"])
    owned = {k: wanted[k] for k in ("deploymentConfiguration", "loadBalancers")}
    assert covers(live_settings(again, owned), owned)
