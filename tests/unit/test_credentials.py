"""Issue 31: outside development environments a Micro Integrator service keeps neither WSO2's
admin/admin on its management API nor APIM's super admin as its service catalog login; each
refusal is located and carries the fix. EI 6.6 stays in development with the reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from chalicelib.errors import SpecError
from chalicelib.spec.fence import FenceVariables
from chalicelib.spec.parse import parse_spec
from chalicelib.spec.rules.credentials import credential_problems
from chalicelib.spec.rules.keystores import keystore_problems
from tests.conftest import EXAMPLES
from tests.unit.test_containers import example

FENCE = FenceVariables(default_keystores="dev=true;prod=false").fence()
WHY = (
    "environment prod is not a development environment "
    "(environments.prod.defaultKeystores in chalicelib/environments/<stage>.yaml)"
)
ADMIN_ADMIN = (
    f"services.mi.secrets: {WHY}: wso2mi's management API (port 9164) would accept WSO2's default "
    "admin/admin, which anyone knows. Fix: give MI_MANAGEMENT_PASSWORD under services.mi.secrets "
    "(and MI_MANAGEMENT_USER under environment for a user other than admin; see "
    "docker/mi/config-contract.yaml)"
)
SUPER_ADMIN = (
    f"{WHY}: wso2mi would log in to APIM's service catalog as APIM's super admin (admin), holding "
    "every right in APIM. Fix: create an APIM user with the Internal/creator role, give its name "
    "as APIM_SERVICE_CATALOG_USER under services.mi.environment and its password as "
    'APIM_SERVICE_CATALOG_PASSWORD under secrets (docs/wso2.md, "Micro Integrator\'s logins")'
)


def refusals(document: dict[str, Any]) -> list[str]:
    spec = parse_spec(yaml.safe_dump(document).encode(), "s.yaml")
    return [f"{'.'.join(map(str, at))}: {why}" for at, why in credential_problems(spec, FENCE)]


def as_before(document: dict[str, Any]) -> dict[str, Any]:
    """The example's MI as every example shipped it before issue 31: APIM's admin password for
    the service catalog, no management API password."""
    mi = document["services"]["mi"]
    mi["environment"].pop("APIM_SERVICE_CATALOG_USER")
    mi["secrets"].pop("APIM_SERVICE_CATALOG_PASSWORD")
    mi["secrets"].pop("MI_MANAGEMENT_PASSWORD")
    mi["secrets"]["APIM_ADMIN_PASSWORD"] = (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/prod/admin-password"
    )
    return document


def test_the_prod_examples_log_in_as_scoped_users():
    assert refusals(json.loads((EXAMPLES / "wso2-prod.json").read_text())) == []
    assert refusals(example()) == []


def test_a_prod_mi_on_wso2s_default_logins_is_refused_with_the_fix():
    assert refusals(as_before(example())) == [
        ADMIN_ADMIN,
        f"services.mi.environment: {SUPER_ADMIN}",
    ]


def test_the_super_admin_by_name_is_refused_where_it_is_named():
    document = example()
    document["services"]["mi"]["environment"]["APIM_SERVICE_CATALOG_USER"] = "admin"
    assert refusals(document) == [
        f"services.mi.environment.APIM_SERVICE_CATALOG_USER: {SUPER_ADMIN}"
    ]


@pytest.mark.parametrize("fence", ["dev=true;prod=false", ""])
def test_development_and_undeclared_environments_keep_the_defaults(fence):
    document = as_before(example())
    if fence:
        document["environment"], document["logGroup"] = "dev", "/berth/dev"
    spec = parse_spec(yaml.safe_dump(document).encode(), "s.yaml")
    assert credential_problems(spec, FenceVariables(default_keystores=fence).fence()) == []


def test_berth_validate_with_the_stage_locates_each_refusal():
    text = (EXAMPLES / "wso2-prod-sidecars.yaml").read_text()
    text = text.replace(
        "      APIM_SERVICE_CATALOG_USER: mi-service-catalog\n", ""
    ).replace(
        "      APIM_SERVICE_CATALOG_PASSWORD: arn:aws:secretsmanager:us-east-1:123456789012:secret:"
        "wso2/prod/mi-service-catalog-password\n",
        "      APIM_ADMIN_PASSWORD: arn:aws:secretsmanager:us-east-1:123456789012:secret:"
        "wso2/prod/admin-password\n",
    ).replace(
        "      MI_MANAGEMENT_PASSWORD: arn:aws:secretsmanager:us-east-1:123456789012:secret:"
        "wso2/prod/mi-management-password\n", "",
    )  # fmt: skip
    with pytest.raises(SpecError) as caught:
        parse_spec(text.encode(), "prod.yaml", FENCE)
    # Located at the MI service's own `environment:` and `secrets:` keys (lines 1-based).
    lines = text.splitlines()
    mi = lines.index("  mi:")
    environment = lines.index("    environment:", mi) + 1
    secrets = lines.index("    secrets:", mi) + 1
    assert [str(p) for p in caught.value.problems if "development" in str(p)] == [
        f"prod.yaml:{environment}:5: services.mi.environment: {SUPER_ADMIN}",
        f"prod.yaml:{secrets}:5: {ADMIN_ADMIN}",
    ]


def test_ei_66_is_refused_outside_development_with_the_reason():
    document = json.loads((EXAMPLES / "wso2-prod.json").read_text())
    document["services"]["mi"].update(
        product="wso2ei", image={"repository": "wso2ei", "track": "6.6.*"}, desiredCount=1,
        environment={}, secrets={}, serviceConnect={"uses": ["apim"]},
    )  # fmt: skip
    spec = parse_spec(json.dumps(document).encode(), "s.json")
    assert [f"{'.'.join(map(str, at))}: {why}" for at, why in keystore_problems(spec, FENCE)] == [
        "services.mi.product: environment prod does not allow the image's default keystore "
        "(environments.prod.defaultKeystores in chalicelib/environments/<stage>.yaml): its private key ships with every WSO2 image, so "
        "anyone could sign tokens this service accepts; wso2ei's image takes no keystore of its "
        "own (docker/ei/config-contract.yaml): deploy it only to an environment whose "
        "defaultKeystores is true. EI 6.6 as Berth builds it runs "
        "WSO2's defaults throughout: admin/admin, its embedded H2 databases and localhost as its "
        "host name (Berth adds no configuration to its image)"
    ]
    assert credential_problems(spec, FENCE) == []
