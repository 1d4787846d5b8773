"""A WSO2 service against its image's configuration contract (issue 16): the Lambda package's copy
of docker/<image>/config-contract.yaml, the rules `berth validate` and upload apply from it, and
the examples and golden task definitions that must satisfy it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from chalicelib.errors import SpecError
from chalicelib.spec.parse import load_spec_file, parse_spec
from chalicelib.spec.rules.contract import CONTRACTS, required_names
from tests.conftest import EXAMPLE_SPECS, ROOT

FOLDERS = {"wso2am": "apim", "wso2mi": "mi", "wso2ei": "ei"}
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/{}"


def manifest_variables(product: str) -> list[dict[str, Any]]:
    data = yaml.safe_load((ROOT / "docker" / FOLDERS[product] / "config-contract.yaml").read_text())
    assert data["product"] == product
    return list(data["variables"]) + list(data.get("entrypoint_variables") or [])


@pytest.mark.parametrize("product", FOLDERS)
def test_the_lambda_packages_copy_matches_the_images_manifest(product):
    """The Lambda zip holds only app.py and chalicelib/, so chalicelib/spec/rules/contract.py keeps the
    manifests as Python data; edit both together."""
    expected = [
        (
            v["name"],
            v["kind"],
            v["required"],
            v.get("required_with"),
            v.get("required_unless"),
            " ".join(v["meaning"].split()),
        )
        for v in manifest_variables(product)
    ]
    copy = [
        (v.name, v.kind, v.required, v.required_with, v.required_unless, v.meaning)
        for v in CONTRACTS[product].variables
    ]
    assert copy == expected
    assert CONTRACTS[product].manifest == f"docker/{FOLDERS[product]}/config-contract.yaml"


def test_every_product_with_an_image_has_a_contract():
    assert set(CONTRACTS) == set(FOLDERS)
    assert required_names("generic") == ()


def _supplies(product: str, environment: dict[str, str], secrets: dict[str, str]) -> list[str]:
    """What a container's environment and secrets lack from the product's contract."""
    lacking = []
    for v in CONTRACTS[product].variables:

        def given(name: str | None) -> bool:
            return name is not None and bool(environment.get(name) or name in secrets)

        needed = (
            v.required
            or given(v.required_with)
            or (v.required_unless is not None and not given(v.required_unless))
        )
        where = secrets if v.kind == "secret" else {**environment, **secrets}
        if needed and not where.get(v.name):
            lacking.append(v.name)
        if v.kind == "secret" and v.name in environment:
            lacking.append(f"{v.name} (in plain text)")
    return lacking


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda p: p.name)
def test_every_example_supplies_every_required_variable(path):
    spec = load_spec_file(str(path))
    for name, svc in spec.services.items():
        if svc.product in CONTRACTS:
            assert _supplies(svc.product, dict(svc.environment), dict(svc.secrets)) == [], name


@pytest.mark.parametrize(
    "golden", sorted((ROOT / "tests" / "golden").glob("*.json")), ids=lambda p: p.name
)
def test_every_golden_task_definition_supplies_every_required_variable(golden):
    task = json.loads(golden.read_text())
    # The product container: sidecars (issue 20) carry no berth.product label.
    [container] = [
        c for c in task["containerDefinitions"] if "berth.product" in c.get("dockerLabels", {})
    ]
    product = {"wso2am": "wso2am", "wso2mi": "wso2mi", "wso2ei": "wso2ei"}[
        container["image"].split("/")[-1].split("@")[0]
    ]
    environment = {e["name"]: e["value"] for e in container.get("environment", [])}
    secrets = {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}
    assert _supplies(product, environment, secrets) == []


# --- the rules ---------------------------------------------------------------------------------

BASE = """\
berth: 1
environment: dev
cluster: c
executionRoleArn: arn:aws:iam::123456789012:role/exec
network: {subnets: [subnet-1], securityGroups: [sg-1]}
services:
"""


def apim(**changes: Any) -> dict[str, Any]:
    svc: dict[str, Any] = {
        "product": "wso2am",
        "image": "wso2am",
        "environment": {
            "APIM_HOSTNAME": "api.example.com",
            "APIM_DB_URL": "jdbc:mysql://db:3306/WSO2AM_DB",
            "SHARED_DB_URL": "jdbc:mysql://db:3306/WSO2AM_SHARED_DB",
            "APIM_DB_USER": "wso2am",
        },
        "secrets": {
            "APIM_ADMIN_PASSWORD": ARN.format("admin"),
            "DB_PASSWORD": ARN.format("db"),
            "WSO2_ENCRYPTION_KEY": ARN.format("key"),
        },
    }
    return svc | changes


def mi(**changes: Any) -> dict[str, Any]:
    svc: dict[str, Any] = {
        "product": "wso2mi",
        "image": "wso2mi",
        "environment": {"MI_HOSTNAME": "mi.internal", "APIM_HOST": "apim.internal"},
        "secrets": {"APIM_ADMIN_PASSWORD": ARN.format("admin")},
    }
    return svc | changes


def errors(**services: dict[str, Any]) -> list[str]:
    text = BASE + "".join(f"  {n}: {json.dumps(s)}\n" for n, s in services.items())
    try:
        parse_spec(text.encode(), "s.yaml")
    except SpecError as exc:
        return [f"{p.path}: {p.reason}" for p in exc.problems]
    return []


def test_complete_services_are_valid():
    assert errors(apim=apim(), mi=mi()) == []


def test_a_missing_required_environment_variable_is_named_with_its_meaning_and_fix():
    svc = apim()
    del svc["environment"]["APIM_DB_URL"]
    assert errors(apim=svc) == [
        "services.apim.environment: APIM_DB_URL is missing, required by wso2am: JDBC URL of the "
        "API Manager database ([database.apim_db] url), e.g. jdbc:mysql://host:3306/WSO2AM_DB or "
        "jdbc:postgresql://host:5432/wso2am_db; write `&` as `&amp;`. Create its tables first "
        "with <APIM_HOME>/dbscripts/apimgt/mysql.sql or postgresql.sql. Fix: add APIM_DB_URL "
        "under environment (see docker/apim/config-contract.yaml)"
    ]


def test_an_empty_required_value_counts_as_missing():
    # berth-entrypoint.sh tests `-n "${!name:-}"`: an empty value stops the task like a missing one.
    svc = mi()
    svc["environment"]["APIM_HOST"] = ""
    [message] = errors(mi=svc)
    assert message.startswith("services.mi.environment: APIM_HOST is missing, required by wso2mi")


def test_a_required_secret_must_be_under_secrets():
    svc = apim()
    del svc["secrets"]["WSO2_ENCRYPTION_KEY"]
    svc["environment"]["WSO2_ENCRYPTION_KEY"] = "0123456789abcdef" * 4
    assert errors(apim=svc) == [
        "services.apim.environment.WSO2_ENCRYPTION_KEY: WSO2_ENCRYPTION_KEY is a secret for "
        "wso2am: move it under secrets as a Secrets Manager or SSM parameter ARN; plain values "
        "are readable in the task definition (see docker/apim/config-contract.yaml)"
    ]


def test_a_missing_secret_names_the_fix():
    svc = mi()
    svc["secrets"] = {}
    [message] = errors(mi=svc)
    assert message.startswith(
        "services.mi.secrets: APIM_ADMIN_PASSWORD is missing, required by wso2mi unless "
        "APIM_SERVICE_CATALOG_PASSWORD is set: Password of APIM's super admin `admin`, with which "
        "MI logs in to the service catalog when no APIM_SERVICE_CATALOG_USER is given; "
        "development environments only (`berth validate` refuses it elsewhere)."
    )
    assert message.endswith(
        "Fix: add APIM_ADMIN_PASSWORD under secrets as a Secrets Manager or SSM parameter ARN "
        "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) (see docker/mi/config-contract.yaml)"
    )


def test_the_service_catalog_user_replaces_the_super_admin_and_needs_its_password():
    # Issue 31: MI logged in to APIM's service catalog as APIM's super admin, always.
    svc = mi()
    svc["secrets"].pop("APIM_ADMIN_PASSWORD")
    svc["environment"]["APIM_SERVICE_CATALOG_USER"] = "svc-catalog"
    problems = errors(mi=svc)
    assert [p.split(":")[:2] for p in problems] == [
        ["services.mi.secrets", " APIM_SERVICE_CATALOG_PASSWORD is missing, required by wso2mi when "
         "APIM_SERVICE_CATALOG_USER is set"],
        ["services.mi.secrets", " APIM_ADMIN_PASSWORD is missing, required by wso2mi unless "
         "APIM_SERVICE_CATALOG_PASSWORD is set"],
    ]  # fmt: skip
    svc["secrets"]["APIM_SERVICE_CATALOG_PASSWORD"] = ARN.format("svc-catalog")
    assert errors(mi=svc) == []


def test_required_with_is_honoured():
    svc = mi()
    svc["environment"]["MI_COORDINATION_DB_URL"] = "jdbc:mysql://db:3306/WSO2MI_COORDINATION_DB"
    found = errors(mi=svc)
    assert [m.split(":")[0] + ": " + m.split(": ")[1].split(",")[0] for m in found] == [
        "services.mi.environment: MI_COORDINATION_DB_USER is missing",
        "services.mi.secrets: MI_COORDINATION_DB_PASSWORD is missing",
    ]
    assert "required by wso2mi when MI_COORDINATION_DB_URL is set" in found[0]
    svc["environment"]["MI_COORDINATION_DB_USER"] = "wso2mi"
    svc["secrets"]["MI_COORDINATION_DB_PASSWORD"] = ARN.format("coordination")
    assert errors(mi=svc) == []


def test_apim_replicas_are_refused_until_berth_renders_wso2s_ha_topology():
    # wso2/helm-apim all-in-one: HA is two single-replica nodes (instance-1, instance-2), each
    # with event_duplicate_url at its peer and its own throttling url_group.
    [message] = errors(apim=apim(desiredCount=2))
    assert message.startswith(
        "services.apim.desiredCount: 2 replicas of wso2am would throttle and receive events as "
        "isolated nodes: WSO2's high availability is two single-replica nodes"
    )
    assert "Use desiredCount: 1" in message
    assert errors(apim=apim(desiredCount=1)) == errors(apim=apim(desiredCount=0)) == []


def test_mi_replicas_need_the_coordination_database():
    # wso2/helm-mi: replicas need WSO2_COORDINATION_DB and [cluster_config] node_id.
    [message] = errors(mi=mi(desiredCount=3))
    assert message.startswith(
        "services.mi.desiredCount: 3 replicas of wso2mi need the coordination database"
    )
    assert "set MI_COORDINATION_DB_URL under environment" in message
    svc = mi(desiredCount=3)
    svc["environment"] |= {
        "MI_COORDINATION_DB_URL": "jdbc:postgresql://db:5432/mi_coordination",
        "MI_COORDINATION_DB_USER": "wso2mi",
    }
    svc["secrets"]["MI_COORDINATION_DB_PASSWORD"] = ARN.format("coordination")
    assert errors(mi=svc) == []


def test_generic_services_read_nothing_from_berth():
    generic = {"image": "app", "ports": [8080], "desiredCount": 3}
    assert errors(app=generic) == []


def test_ei_66_replicas_are_refused_as_unrelated_servers():
    # Issue 31: validation accepted two replicas of an image that configures nothing to share.
    ei = {"product": "wso2ei", "image": "wso2ei", "desiredCount": 2}
    assert errors(ei=ei) == [
        "services.ei.desiredCount: 2 replicas of wso2ei would be 2 unrelated servers: Berth's "
        "EI 6.6 image adds no configuration, so each task keeps its registry, users and message "
        "stores in its own embedded H2 database and none is shared or clustered. Use "
        "desiredCount: 1, or Micro Integrator (wso2mi) with MI_COORDINATION_DB_URL for several "
        'tasks (see docs/wso2.md, "EI 6.6")'
    ]
    assert errors(ei=ei | {"desiredCount": 1}) == []


def test_ei_66_refuses_variables_its_image_never_reads():
    # Issue 31: environment variables EI ignores were accepted silently.
    ei = {
        "product": "wso2ei", "image": "wso2ei",
        "environment": {"EI_HOSTNAME": "ei.example.com", "JAVA_OPTS": "-Xss512k"},
        "secrets": {"DB_PASSWORD": ARN.format("db")},
    }  # fmt: skip
    why = (
        "EI 6.6 is configured by its XML files and Berth's image adds no configuration "
        "(docker/ei/config-contract.yaml lists nothing), so the value would be ignored. Remove "
        "it, or use Micro Integrator (wso2mi), whose image reads its configuration from the "
        "environment"
    )
    assert errors(ei=ei) == [
        f"services.ei.environment.EI_HOSTNAME: wso2ei's image reads no EI_HOSTNAME: {why}",
        f"services.ei.secrets.DB_PASSWORD: wso2ei's image reads no DB_PASSWORD: {why}",
    ]


# ---- a store needs its password (issue 16) --------------------------------------------------


def test_a_keystore_without_its_password_is_refused_where_the_store_is_given():
    # docker/apim/config-contract.yaml: KEYSTORE_PASSWORD "Required when BERTH_KEYSTORE_B64 is
    # given"; TRUSTSTORE_PASSWORD likewise with BERTH_TRUSTSTORE_B64.
    svc = apim()
    svc["secrets"] |= {
        "BERTH_KEYSTORE_B64": ARN.format("keystore"),
        "BERTH_TRUSTSTORE_B64": ARN.format("truststore"),
    }
    found = errors(apim=svc)
    assert [m.split(": ")[0] for m in found] == [
        "services.apim.secrets.BERTH_KEYSTORE_B64",
        "services.apim.secrets.BERTH_TRUSTSTORE_B64",
    ]
    assert found[0].startswith(
        "services.apim.secrets.BERTH_KEYSTORE_B64: BERTH_KEYSTORE_B64 is given without "
        "KEYSTORE_PASSWORD: wso2am would open your store"
    )
    assert "Fix: add KEYSTORE_PASSWORD under services.apim.secrets" in found[0]
    assert "Fix: add TRUSTSTORE_PASSWORD under services.apim.secrets" in found[1]
    svc["secrets"] |= {
        "KEYSTORE_PASSWORD": ARN.format("keystore-password"),
        "TRUSTSTORE_PASSWORD": ARN.format("truststore-password"),
    }
    assert errors(apim=svc) == []


SIDECAR_IMAGE = "berth-keystore-init@sha256:" + "a" * 64


def test_a_store_given_to_keystore_init_needs_its_password_on_the_product():
    svc = mi()
    init = {
        "preset": "keystore-init",
        "image": SIDECAR_IMAGE,
        "secrets": {
            "BERTH_TRUSTSTORE_B64": ARN.format("truststore"),
            "TRUSTSTORE_PASSWORD": ARN.format("truststore-password"),
        },
    }
    svc["containers"] = {"keystore-init": init}
    [message] = errors(mi=svc)
    assert message.startswith(
        "services.mi.containers.keystore-init.secrets.BERTH_TRUSTSTORE_B64: BERTH_TRUSTSTORE_B64 "
        "is given without TRUSTSTORE_PASSWORD (keystore-init has it, but wso2mi opens the store)"
    )
    assert "Fix: add TRUSTSTORE_PASSWORD under services.mi.secrets" in message
    svc["secrets"]["TRUSTSTORE_PASSWORD"] = ARN.format("truststore-password")
    assert errors(mi=svc) == []


def test_a_password_without_a_store_is_fine():
    svc = mi()
    svc["secrets"]["KEYSTORE_PASSWORD"] = ARN.format("keystore-password")
    assert errors(mi=svc) == []
