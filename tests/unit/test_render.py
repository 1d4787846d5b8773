"""Rendering: pure, deterministic, pinned by digest, WSO2-aware."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.rendering.comparison import normalise, same_task_definition, to_json
from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.parse import load_spec_file
from chalicelib.wso2.presets import PRESETS, heap_mib
from tests.conftest import EXAMPLE_SPECS, EXAMPLES

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
DIGEST = "sha256:" + "ab" * 32


def rendered_examples() -> dict[str, str]:
    out = {}
    for path in EXAMPLE_SPECS:
        spec = load_spec_file(str(path))
        for name in spec.deployment_order():
            repository = spec.services[name].image.repository
            task = render_task_definition(
                spec, name, ImageRef(repository, DIGEST, "4.7.0-1"), "123456789012", "us-east-1"
            )
            out[f"{path.stem}.{name}.json"] = to_json(task) + "\n"
    return out


@pytest.mark.parametrize("name", sorted(rendered_examples()))
def test_examples_render_to_their_golden_files(name):
    # Regenerate after a deliberate change: BERTH_UPDATE_GOLDEN=1 pytest tests/unit/test_render.py
    rendered = rendered_examples()[name]
    golden = GOLDEN / name
    if os.environ.get("BERTH_UPDATE_GOLDEN"):
        golden.write_text(rendered)
    assert golden.read_text() == rendered


def spec():
    return load_spec_file(str(EXAMPLES / "wso2-dev.yaml"))


def test_image_is_pinned_by_digest_with_the_tag_as_a_label():
    task = render_task_definition(
        spec(), "apim", ImageRef("wso2am", DIGEST, "4.7.0-3"), "111122223333", "eu-west-1"
    )
    container = task["containerDefinitions"][0]
    assert container["image"] == f"111122223333.dkr.ecr.eu-west-1.amazonaws.com/wso2am@{DIGEST}"
    assert container["dockerLabels"]["berth.image.tag"] == "4.7.0-3"
    assert ":4.7.0-3" not in container["image"]


def test_apim_preset_ports_health_check_heap_and_start_period():
    task = render_task_definition(spec(), "apim", ImageRef("wso2am", DIGEST), "1" * 12, "us-east-1")
    container = task["containerDefinitions"][0]
    assert [p["containerPort"] for p in container["portMappings"]] == [9443, 8243, 8280, 9763]
    assert container["healthCheck"]["startPeriod"] == 300
    # Issue 31: liveness is helm-apim's /services/Version on 9763; the gateway's startup check
    # answers 500 while no API is deployed (wso2/api-manager#3359), so it is readiness only.
    assert "http://localhost:9763/services/Version" in container["healthCheck"]["command"][1]
    assert "server-startup-healthcheck" not in container["healthCheck"]["command"][1]
    env = {e["name"]: e["value"] for e in container["environment"]}
    assert env["JVM_MEM_OPTS"] == "-Xms2048m -Xmx2048m"
    assert container["ulimits"] == [{"name": "nofile", "softLimit": 65535, "hardLimit": 65535}]
    assert container["logConfiguration"]["options"]["awslogs-group"] == "/berth/dev"
    assert {s["name"] for s in container["secrets"]} == {
        "APIM_ADMIN_PASSWORD", "BERTH_KEYSTORE_B64", "BERTH_TRUSTSTORE_B64", "DB_PASSWORD",
        "KEYSTORE_PASSWORD", "TRUSTSTORE_PASSWORD", "WSO2_ENCRYPTION_KEY",
    }  # fmt: skip
    assert task["cpu"] == "2048" and task["memory"] == "4096" and task["networkMode"] == "awsvpc"


def test_mi_container_checks_liveness_and_sets_no_force_config_update():
    # wso2/helm-mi mi/templates/mi-deployment.yaml: livenessProbe /liveness, readinessProbe
    # /healthz. /healthz as ECS's container check stops the task whenever one CApp is faulty, and
    # ECS replaces it endlessly; the load balancer probes /healthz (PRESETS health_path) instead.
    task = render_task_definition(spec(), "mi", ImageRef("wso2mi", DIGEST), "1" * 12, "us-east-1")
    container = task["containerDefinitions"][0]
    assert "http://localhost:9201/liveness" in container["healthCheck"]["command"][1]
    assert "healthz" not in container["healthCheck"]["command"][1]
    assert PRESETS["wso2mi"].health_path == "/healthz"
    # -DforceConfigUpdate appears in no WSO2 source; the config mapper applies deployment.toml on
    # every fresh container anyway (wso2/config-mapper ConfigParser.java).
    assert "JAVA_OPTS" not in {e["name"] for e in container["environment"]}
    assert "forceConfigUpdate" not in json.dumps(task)


def test_heap_leaves_headroom_and_rounds_to_64_mib():
    assert heap_mib(2048, PRESETS["wso2mi"].heap_ratio) == 1216
    assert heap_mib(4096, PRESETS["wso2am"].heap_ratio) == 2048
    assert heap_mib(512, 0.6) == 256  # never below a usable minimum


def test_user_environment_wins_over_preset_values():
    s = spec().model_copy(deep=True)
    apim = s.services["apim"].model_copy(update={"environment": {"JVM_MEM_OPTS": "-Xmx3g"}})
    s = s.model_copy(update={"services": {**s.services, "apim": apim}})
    container = render_task_definition(
        s, "apim", ImageRef("wso2am", DIGEST), "1" * 12, "us-east-1"
    )["containerDefinitions"][0]
    assert {"name": "JVM_MEM_OPTS", "value": "-Xmx3g"} in container["environment"]


def test_live_task_definition_with_ecs_defaults_compares_equal():
    rendered = render_task_definition(
        spec(), "mi", ImageRef("wso2mi", DIGEST), "1" * 12, "us-east-1"
    )
    live = json.loads(json.dumps(rendered))
    live.update(
        taskDefinitionArn="arn:aws:ecs:us-east-1:1:task-definition/dev-mi:4",
        revision=4,
        status="ACTIVE",
        compatibilities=["EC2", "FARGATE"],
        registeredAt="2026-01-01",
    )
    live["containerDefinitions"][0].update(cpu=0, mountPoints=[], volumesFrom=[], systemControls=[])
    live["containerDefinitions"][0]["environment"].reverse()
    del live["tags"]
    assert same_task_definition(live, rendered)
    live["containerDefinitions"][0]["image"] = live["containerDefinitions"][0]["image"].replace(
        "ab", "cd", 1
    )
    assert not same_task_definition(live, rendered)


@settings(max_examples=50, deadline=None)
@given(
    digest=st.text("0123456789abcdef", min_size=64, max_size=64),
    tag=st.none() | st.text(min_size=1, max_size=20),
)
def test_rendering_is_deterministic(digest, tag):
    image = ImageRef("wso2am", f"sha256:{digest}", tag)
    first = to_json(render_task_definition(spec(), "apim", image, "1" * 12, "us-east-1"))
    second = to_json(render_task_definition(spec(), "apim", image, "1" * 12, "us-east-1"))
    assert first == second
    assert normalise(json.loads(first)) == normalise(json.loads(second))


def test_a_grace_period_without_a_load_balancer_is_rendered_not_dropped():
    # Issue 13, finding 3: it validated and was silently dropped. ECS applies the grace period to
    # container health checks too (ECS API reference, CreateService healthCheckGracePeriodSeconds).
    from chalicelib.rendering.service_request import render_service_settings
    from chalicelib.spec.parse import parse_spec

    text = (EXAMPLES / "wso2-dev.yaml").read_text().replace(
        "    desiredCount: 2\n", "    desiredCount: 2\n    healthCheckGracePeriod: 90\n", 1
    )
    settings = render_service_settings(parse_spec(text.encode(), "dev.yaml"), "mi")
    assert settings["loadBalancers"] == []
    assert settings["healthCheckGracePeriodSeconds"] == 90


def test_aws_added_fields_and_defaults_are_not_compared():
    # Issue 13, finding 1: a describe as AWS returns it (tests/fixtures/aws) equals the
    # registration it came from.
    described = json.loads(
        (Path(__file__).resolve().parents[1] / "fixtures" / "aws" / "describe-task-definition.fargate.json").read_text()
    )["taskDefinition"]
    registered = {
        k: v for k, v in described.items()
        if k not in ("taskDefinitionArn", "revision", "status", "requiresAttributes",
                     "compatibilities", "registeredAt", "registeredBy", "enableFaultInjection",
                     "volumes", "placementConstraints")
    }  # fmt: skip
    registered["containerDefinitions"] = [
        {
            **{k: v for k, v in c.items()
               if k not in ("cpu", "essential", "mountPoints", "volumesFrom", "systemControls")},
            "portMappings": [{"containerPort": m["containerPort"]} for m in c["portMappings"]],
        }
        for c in described["containerDefinitions"]
    ]  # fmt: skip
    assert same_task_definition(described, registered)
    without_health_check = json.loads(json.dumps(registered))
    del without_health_check["containerDefinitions"][0]["healthCheck"]
    assert not same_task_definition(described, without_health_check)
