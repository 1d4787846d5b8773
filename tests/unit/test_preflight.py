"""What a change must find in AWS before it starts, and how a missing resource is told."""

from __future__ import annotations

from chalicelib.decisions.preflight import (
    Reference,
    missing_problems,
    references,
    secret_reference,
)
from chalicelib.spec.parse import parse_spec
from tests.unit.test_load_balancers import GATEWAY, PORTALS, TWO, with_apim


def test_a_secrets_manager_value_from_names_its_secret_without_json_key_or_version():
    arn = "arn:aws:secretsmanager:us-east-1:1:secret:wso2/dev/db"
    assert secret_reference(f"{arn}:password::", "f") == Reference("secret", arn, "f")
    assert secret_reference(arn, "f") == Reference("secret", arn, "f")


def test_an_ssm_value_from_names_its_parameter():
    path = "arn:aws:ssm:us-east-1:1:parameter/wso2/prod/key"
    assert secret_reference(path, "f") == Reference("parameter", "/wso2/prod/key", "f")
    flat = "arn:aws:ssm:us-east-1:1:parameter/key"
    assert secret_reference(flat, "f") == Reference("parameter", "key", "f")


def test_every_field_naming_a_missing_resource_is_a_problem():
    found = [
        Reference("subnet", "subnet-1", "network.subnets[0]"),
        Reference("subnet", "subnet-2", "network.subnets[1]"),
        Reference("cluster", "wso2-dev", "cluster"),
    ]
    problems = missing_problems(found, {("subnet", "subnet-2"), ("cluster", "wso2-dev")})
    assert [p.split(";")[0] for p in problems] == [
        "network.subnets[1]: subnet subnet-2 does not exist",
        "cluster: cluster wso2-dev does not exist",
    ]


def test_an_efs_volume_references_its_file_system_and_its_access_point_within_it():
    from chalicelib.decisions.preflight import references
    from chalicelib.spec.parse import load_spec_file
    from tests.conftest import EXAMPLES

    spec = load_spec_file(str(EXAMPLES / "wso2-prod-sidecars.yaml"))
    efs = [r for r in references(spec, ["apim", "mi"]) if r.kind in ("file system", "access point")]
    at = "services.apim.volumes.solr.efs"
    assert efs == [
        Reference("file system", "fs-0f1e2d3c4b5a60001", f"{at}.fileSystemId"),
        Reference("access point", "fsap-0f1e2d3c4b5a60001", f"{at}.accessPointId",
                  within="fs-0f1e2d3c4b5a60001"),
    ]  # fmt: skip
    problems = missing_problems(efs, {("access point", "fsap-0f1e2d3c4b5a60001")})
    assert [p.split(";")[0] for p in problems] == [
        f"{at}.accessPointId: access point fsap-0f1e2d3c4b5a60001 is not an access point of file "
        "system fs-0f1e2d3c4b5a60001"
    ]


def test_every_target_group_of_a_changing_service_is_looked_up_at_its_field():
    spec = parse_spec(with_apim(TWO).encode(), "p")
    found = [r for r in references(spec, ["apim"]) if r.kind == "target group"]
    assert found == [
        Reference("target group", GATEWAY, "services.apim.loadBalancers[0].targetGroupArn"),
        Reference("target group", PORTALS, "services.apim.loadBalancers[1].targetGroupArn"),
    ]
    assert [r for r in references(spec, ["ei"]) if r.kind == "target group"] == []
