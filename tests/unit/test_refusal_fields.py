"""A refusal names what the operator edits: the field of the stage's environments file
(chalicelib/environments/<stage>.yaml), never the BERTH_ENVIRONMENT_* variable it replaced,
which the stage's configuration no longer carries (it is compiled from the file)."""

from __future__ import annotations

import pytest

from berth.stages import stage_fence
from chalicelib.errors import SpecError
from chalicelib.spec.fence import StageFence
from tests.conftest import EXAMPLES

BLUE_GREEN = (EXAMPLES / "wso2-dev-bluegreen.yaml").read_text()
DEV = (EXAMPLES / "wso2-dev.yaml").read_text()
SIDECARS = (EXAMPLES / "wso2-prod-sidecars.yaml").read_text()
ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012"


def dev_stage(**overrides: str) -> StageFence:
    return stage_fence("dev", "us-east-1", {"BERTH_ACCOUNT": "123456789012", **overrides})


# (the field each refusal must name, the spec, the fence): one for each rule of the fence.
CASES: list[tuple[str, str, StageFence]] = [
    ("roles", BLUE_GREEN.replace("role/berth-task-dev-dev", "role/berth-task-dev-prod"), dev_stage()),
    ("secretsPrefix", BLUE_GREEN.replace("secret:wso2/dev/db", "secret:wso2/prod/db"), dev_stage()),
    ("network.subnets", BLUE_GREEN.replace("subnet-0a1b2c3d4e5f60002", "subnet-0f1e2d3c4b5a60002"), dev_stage()),
    ("network.securityGroups", BLUE_GREEN.replace("[sg-0a1b2c3d4e5f60001]", "[sg-0f1e2d3c4b5a60001]"), dev_stage()),
    ("network.publicIp", BLUE_GREEN.replace(
        "  securityGroups: [sg-0a1b2c3d4e5f60001]\n",
        "  securityGroups: [sg-0a1b2c3d4e5f60001]\n  assignPublicIp: true\n", 1,
    ), dev_stage()),
    ("network.targetGroups", BLUE_GREEN.replace("targetgroup/apim-dev/", "targetgroup/apim-prod/"), dev_stage()),
    ("network.targetGroups", BLUE_GREEN.replace("targetgroup/apim-dev-green/", "targetgroup/apim-prod-green/"), dev_stage()),
    ("listenerRules", BLUE_GREEN.replace("listener-rule/app/apim-dev/", "listener-rule/app/apim-prod/"), dev_stage()),
    ("namespaces", BLUE_GREEN.replace("namespace: wso2-dev.local", "namespace: wso2-prod.local"), dev_stage()),
    ("testListeners", BLUE_GREEN.replace("apim-dev-test.internal", "apim-prod-test.internal"), dev_stage()),
    ("rolloutRoles", BLUE_GREEN, dev_stage(BERTH_ENVIRONMENT_ROLLOUT_ROLES="")),
    ("fileSystems", SIDECARS.replace("fs-0f1e2d3c4b5a60001", "fs-0a1b2c3d4e5f60001"),
     dev_stage(BERTH_IMAGE_REPOSITORIES="wso2am,wso2mi,aws-for-fluent-bit,berth-keystore-init")),
    # The hostname and credential rules read the same mark as the keystore rule.
    ("defaultKeystores", DEV, dev_stage(BERTH_ENVIRONMENT_DEFAULT_KEYSTORES="dev=false")),
    ("defaultKeystores", "\n".join(
        line for line in DEV.splitlines() if "apim-keystore" not in line
    ), dev_stage(BERTH_ENVIRONMENT_DEFAULT_KEYSTORES="dev=false")),
]  # fmt: skip


def refusals(text: str, fence: StageFence) -> list[str]:
    from chalicelib.spec.parse import parse_spec

    with pytest.raises(SpecError) as caught:
        parse_spec(text.encode(), "s.yaml", fence)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(("field", "text", "fence"), CASES, ids=[c[0] for c in CASES])
def test_every_fence_refusal_names_the_environments_files_field(
    field: str, text: str, fence: StageFence
) -> None:
    found = refusals(text, fence)
    assert found
    for refusal in found:
        assert "BERTH_ENVIRONMENT_" not in refusal, refusal
        assert "chalicelib/environments/dev.yaml" in refusal, refusal
    env = "prod" if field == "fileSystems" else "dev"
    parent, _, leaf = f"environments.{env}.{field}".rpartition(".")
    assert any(
        f"environments.{env}.{field} in " in r or f"{leaf}: true under {parent} in " in r
        or f"{leaf}: {{" in r
        for r in found
    ), found


def test_the_wording_names_the_field_and_the_stages_file():
    from chalicelib.spec.fence import declared_in

    assert declared_in("network.subnets", "dev", "dev") == (
        "environments.dev.network.subnets in chalicelib/environments/dev.yaml"
    )
    assert declared_in("network.publicIp", "dev", None, value="true") == (
        "publicIp: true under environments.dev.network in chalicelib/environments/<stage>.yaml"
    )
