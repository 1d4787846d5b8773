"""Issue 31: outside development environments a WSO2 service brings its own keystore and
truststore; the images' public default is refused with the fix."""

from __future__ import annotations

import json
from typing import Any

import yaml

from chalicelib.spec.fence import FenceVariables
from chalicelib.spec.parse import parse_spec
from chalicelib.spec.rules.keystores import keystore_problems
from tests.conftest import EXAMPLES
from tests.unit.test_containers import example

FENCE = FenceVariables(default_keystores="dev=true;prod=false").fence()
WHY = (
    "environment prod does not allow the image's default keystore "
    "(environments.prod.defaultKeystores in chalicelib/environments/<stage>.yaml): its private key ships with every WSO2 image, so "
    "anyone could sign tokens this service accepts"
)
STORES = ("BERTH_KEYSTORE_B64", "KEYSTORE_PASSWORD", "BERTH_TRUSTSTORE_B64", "TRUSTSTORE_PASSWORD")


def refusals(document: dict[str, Any]) -> list[str]:
    spec = parse_spec(yaml.safe_dump(document).encode(), "s.yaml")
    return [f"{'.'.join(map(str, at))}: {why}" for at, why in keystore_problems(spec, FENCE)]


def test_the_prod_examples_bring_their_own_stores():
    assert refusals(json.loads((EXAMPLES / "wso2-prod.json").read_text())) == []
    assert refusals(example()) == []  # keystore-init's secrets count for apim


def test_a_prod_service_on_the_default_keystore_is_refused_with_the_fix():
    document = example()
    for key in STORES:
        document["services"]["mi"]["secrets"].pop(key)
    assert refusals(document) == [
        f"services.mi.secrets: {WHY}. Fix: give BERTH_KEYSTORE_B64 and BERTH_TRUSTSTORE_B64 "
        "(with KEYSTORE_PASSWORD and TRUSTSTORE_PASSWORD) under services.mi.secrets or a "
        "keystore-init sidecar's secrets (see docker/mi/config-contract.yaml)"
    ]


def test_ei_66_has_no_keystore_of_its_own_and_stays_in_development():
    document = json.loads((EXAMPLES / "wso2-prod.json").read_text())
    document["services"]["mi"].update(
        product="wso2ei", image={"repository": "wso2ei", "track": "6.6.*"}, desiredCount=1,
        environment={}, secrets={}, serviceConnect={"uses": ["apim"]},
    )  # fmt: skip
    assert refusals(document) == [
        f"services.mi.product: {WHY}; wso2ei's image takes no keystore of its own "
        "(docker/ei/config-contract.yaml): deploy it only to an environment whose "
        "defaultKeystores is true. EI 6.6 as Berth builds it runs WSO2's defaults throughout: "
        "admin/admin, its embedded H2 databases and localhost as its host name (Berth adds no "
        "configuration to its image)"
    ]


def test_development_environments_may_use_the_default():
    document = example()
    document["environment"] = "dev"
    document["logGroup"] = "/berth/dev"
    for key in STORES:
        document["services"]["mi"]["secrets"].pop(key)
    assert refusals(document) == []
