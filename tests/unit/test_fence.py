"""Each environment is a fence (issue 15): what a spec names must be its environment's, as the
stage's configuration (.chalice/config.json, deployed with the stack) declares it."""

from __future__ import annotations

import pytest

from berth.stages import stage_fence
from chalicelib.errors import SpecError
from chalicelib.spec.fence import StageFence, fence_from_variables, secret_prefixes
from tests.conftest import EXAMPLES

ACCOUNT, REGION = "123456789012", "us-east-1"
DEV = (EXAMPLES / "wso2-dev.yaml").read_text()
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/db"


def at(text: str, needle: str) -> str:
    """`line:column` where `needle` first starts in `text` (the examples change; their
    positions are found, not written down)."""
    before = text[: text.index(needle)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


DB = at(DEV, "DB_PASSWORD:")


def dev_fence() -> StageFence:
    """The dev stage's fence as its Lambdas get it: config.json, the stack's account and the
    Lambdas' region."""
    return stage_fence("dev", REGION, overrides={"BERTH_ACCOUNT": ACCOUNT})


def errors(text: str, fence: StageFence | None = None) -> list[str]:
    from chalicelib.spec.parse import parse_spec

    with pytest.raises(SpecError) as caught:
        parse_spec(text.encode(), "s.yaml", fence or dev_fence())
    return [str(p) for p in caught.value.problems]


def test_the_examples_are_inside_their_stages_fence():
    from chalicelib.spec.parse import load_spec_file

    load_spec_file(str(EXAMPLES / "wso2-dev.yaml"), dev_fence())
    prod = stage_fence("prod", REGION, overrides={"BERTH_ACCOUNT": ACCOUNT})
    load_spec_file(str(EXAMPLES / "wso2-prod.json"), prod)


# ---- secrets ------------------------------------------------------------------------------------


def test_a_dev_spec_cannot_name_a_prod_secret():
    # Issue 15: a dev spec injected secret:wso2/prod/db.
    text = DEV.replace("secret:wso2/dev/db", "secret:wso2/prod/db")
    assert errors(text) == [
        f"s.yaml:{DB}: services.apim.secrets.DB_PASSWORD: secret wso2/prod/db is outside "
        "environment dev's secrets: name one under wso2/dev/ (environments.dev.secretsPrefix in chalicelib/environments/dev.yaml)"
    ]


def test_a_dev_spec_cannot_name_a_prod_ssm_parameter():
    # Issue 15: ... and parameter/wso2/prod/keystore.
    ssm = "arn:aws:ssm:us-east-1:123456789012:parameter/wso2/prod/keystore"
    text = DEV.replace(SECRET, ssm)
    assert errors(text) == [
        f"s.yaml:{DB}: services.apim.secrets.DB_PASSWORD: secret wso2/prod/keystore is outside "
        "environment dev's secrets: name one under wso2/dev/ (environments.dev.secretsPrefix in chalicelib/environments/dev.yaml)"
    ]


def test_a_secret_of_another_account_is_refused():
    # Issue 15: ... and another account's secret.
    text = DEV.replace(SECRET, SECRET.replace("123456789012", "210987654321"))
    assert errors(text) == [
        f"s.yaml:{DB}: services.apim.secrets.DB_PASSWORD: secret of account 210987654321: "
        "environment dev reads secrets of its own account only (123456789012)"
    ]


def test_a_secret_of_another_region_is_refused():
    text = DEV.replace(SECRET, SECRET.replace("us-east-1", "eu-west-1"))
    assert errors(text) == [
        f"s.yaml:{DB}: services.apim.secrets.DB_PASSWORD: secret in region eu-west-1: "
        "environment dev reads secrets of its own region only (us-east-1)"
    ]


def test_a_secret_that_climbs_out_of_the_prefix_is_refused():
    text = DEV.replace("secret:wso2/dev/db", "secret:wso2/dev/../prod/db")
    assert errors(text) == [
        f"s.yaml:{DB}: services.apim.secrets.DB_PASSWORD: secret wso2/dev/../prod/db is outside "
        "environment dev's secrets: name one under wso2/dev/ (environments.dev.secretsPrefix in chalicelib/environments/dev.yaml)"
    ]


def test_a_name_that_only_starts_like_the_prefix_is_refused():
    text = DEV.replace("secret:wso2/dev/db", "secret:wso2/devil/db")
    assert "secret wso2/devil/db is outside environment dev's secrets" in errors(text)[0]


@pytest.mark.parametrize(
    "reference",
    [
        # A full ARN (random suffix), a JSON key, a version stage (ECS developer guide, "Pass
        # Secrets Manager secrets programmatically": secret-name:json-key:version-stage:version-id).
        SECRET + "-AbCdEf",
        SECRET + ":password::",
        SECRET + "-AbCdEf:password:AWSPREVIOUS:",
        "arn:aws:ssm:us-east-1:123456789012:parameter/wso2/dev/db",
    ],
)
def test_secrets_inside_the_prefix_are_accepted_in_every_form_ecs_takes(reference):
    from chalicelib.spec.parse import parse_spec

    parse_spec(DEV.replace(SECRET, f'"{reference}"').encode(), "s.yaml", dev_fence())


def test_a_sidecars_secret_is_fenced_too():
    text = (EXAMPLES / "wso2-prod-sidecars.yaml").read_text()
    text = text.replace("secret:wso2/prod/apim-keystore\n", "secret:wso2/dev/apim-keystore\n")
    prod = stage_fence("prod", REGION, overrides={
        "BERTH_ACCOUNT": ACCOUNT, "BERTH_IMAGE_REPOSITORIES": "wso2am,wso2mi,aws-for-fluent-bit,berth-keystore-init",
    })  # fmt: skip
    [error] = errors(text, prod)
    assert error.endswith(
        "services.apim.containers.keystore-init.secrets.BERTH_KEYSTORE_B64: secret "
        "wso2/dev/apim-keystore is outside environment prod's secrets: name one under "
        "wso2/prod/ (environments.prod.secretsPrefix in chalicelib/environments/prod.yaml)"
    )


# ---- EFS file systems ---------------------------------------------------------------------------

SIDECARS = (EXAMPLES / "wso2-prod-sidecars.yaml").read_text()
REPOSITORIES = "wso2am,wso2mi,aws-for-fluent-bit,berth-keystore-init"


def prod_fence(**overrides: str) -> StageFence:
    return stage_fence("prod", REGION, overrides={
        "BERTH_ACCOUNT": ACCOUNT, "BERTH_IMAGE_REPOSITORIES": REPOSITORIES, **overrides,
    })  # fmt: skip


def test_the_sidecar_example_mounts_its_own_environments_file_system():
    from chalicelib.spec.parse import parse_spec

    parse_spec(SIDECARS.encode(), "s.yaml", prod_fence())


def test_a_prod_spec_cannot_mount_devs_file_system():
    text = SIDECARS.replace("fs-0f1e2d3c4b5a60001", "fs-0a1b2c3d4e5f60001")
    assert errors(text, prod_fence()) == [
        f"s.yaml:{at(text, 'fileSystemId: fs-0a1b')}: services.apim.volumes.solr.efs.fileSystemId: "
        "fs-0a1b2c3d4e5f60001 is not a file system of environment prod (fs-0f1e2d3c4b5a60001; "
        "environments.prod.fileSystems in chalicelib/environments/prod.yaml): a task mounts only its own environment's EFS file "
        "systems"
    ]


def test_an_environment_the_stage_gives_no_file_system_mounts_none():
    fence = prod_fence(BERTH_ENVIRONMENT_FILE_SYSTEMS="dev=fs-0a1b2c3d4e5f60001")
    [error] = errors(SIDECARS, fence)
    assert error.endswith(
        "fs-0f1e2d3c4b5a60001 is not a file system of environment prod (none; "
        "environments.prod.fileSystems in chalicelib/environments/prod.yaml): a task mounts only its own environment's EFS file "
        "systems"
    )


def test_file_systems_are_not_fenced_where_the_stage_declares_none():
    from chalicelib.spec.parse import parse_spec

    fence = prod_fence(BERTH_ENVIRONMENT_FILE_SYSTEMS="")
    assert fence.file_systems == {}
    parse_spec(SIDECARS.replace("fs-0f1e2d3c4b5a60001", "fs-0123456789abcdef0").encode(),
               "s.yaml", fence)  # fmt: skip


def test_the_secret_prefix_defaults_to_wso2_environment():
    assert secret_prefixes("", ["dev", "qa"]) == {"dev": "wso2/dev/", "qa": "wso2/qa/"}
    assert secret_prefixes("qa=teams/qa/wso2/", ["dev", "qa"]) == {
        "dev": "wso2/dev/",
        "qa": "teams/qa/wso2/",
    }
    fence = fence_from_variables({"BERTH_ENVIRONMENT_CLUSTERS": "dev=wso2-dev"})
    assert fence is not None and fence.secret_prefixes == {"dev": "wso2/dev/"}


def test_the_lambdas_check_secrets_against_the_stacks_account_and_their_region():
    from chalicelib.settings import Settings

    settings = Settings.from_environment({
        "AWS_REGION": "eu-west-1", "BERTH_SPEC_BUCKET": "b", "BERTH_TOPIC_ARN": "t",
        "BERTH_ACCOUNT": ACCOUNT, "BERTH_ENVIRONMENT_CLUSTERS": "dev=wso2-dev",
    })  # fmt: skip
    assert settings.fence is not None
    assert (settings.fence.account, settings.fence.region) == (ACCOUNT, "eu-west-1")


# ---- networks -----------------------------------------------------------------------------------

PROD_SUBNET, PROD_GROUP = "subnet-0f1e2d3c4b5a60001", "sg-0f1e2d3c4b5a60001"
DEV_SUBNETS = "subnet-0a1b2c3d4e5f60001, subnet-0a1b2c3d4e5f60002"


def test_a_dev_spec_cannot_use_a_prod_subnet_or_security_group():
    # Issue 15: a dev service joined prod's network with a security group of its choosing.
    text = DEV.replace("subnet-0a1b2c3d4e5f60002", PROD_SUBNET).replace(
        "sg-0a1b2c3d4e5f60001", PROD_GROUP
    )
    assert errors(text) == [
        f"s.yaml:{at(text, PROD_SUBNET)}: network.subnets[1]: {PROD_SUBNET} is not a subnet of environment dev "
        f"({DEV_SUBNETS}; environments.dev.network.subnets in chalicelib/environments/dev.yaml)",
        f"s.yaml:{at(text, PROD_GROUP)}: network.securityGroups[0]: {PROD_GROUP} is not a security group of "
        "environment dev (sg-0a1b2c3d4e5f60001; environments.dev.network.securityGroups in chalicelib/environments/dev.yaml)",
    ]


def test_a_public_ip_is_refused_unless_the_environment_allows_it():
    text = DEV.replace(
        "  securityGroups: [sg-0a1b2c3d4e5f60001]\n",
        "  securityGroups: [sg-0a1b2c3d4e5f60001]\n  assignPublicIp: true\n",
    )
    assert errors(text) == [
        f"s.yaml:{at(text, 'assignPublicIp')}: network.assignPublicIp: environment dev gives its tasks no public IP: set "
        "it to false, or have the operator allow it (publicIp: true under environments.dev.network in "
        "chalicelib/environments/dev.yaml)"
    ]
    from chalicelib.spec.parse import parse_spec

    allowing = stage_fence("dev", REGION, {"BERTH_ENVIRONMENT_PUBLIC_IP": "dev=true"})
    assert parse_spec(text.encode(), "s.yaml", allowing).network.assign_public_ip  # type: ignore[union-attr]


def test_a_dev_service_cannot_join_a_prod_target_group():
    # Issue 15: a dev service joined prod's target group.
    text = DEV.replace("targetgroup/apim-dev/", "targetgroup/apim-prod/")
    assert errors(text) == [
        f"s.yaml:{at(text, 'targetGroupArn')}: services.apim.loadBalancers[0].targetGroupArn: not a target group of "
        "environment dev (arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/"
        "apim-dev-green/*, arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/"
        "apim-dev-portals-green/*, arn:aws:elasticloadbalancing:us-east-1:123456789012:"
        "targetgroup/apim-dev-portals/*, arn:aws:elasticloadbalancing:us-east-1:123456789012:"
        "targetgroup/apim-dev/*; environments.dev.network.targetGroups in chalicelib/environments/dev.yaml)"
    ]


def test_a_target_group_prefix_is_a_prefix_of_whole_path_segments():
    text = DEV.replace("targetgroup/apim-dev/", "targetgroup/apim-dev-other/")
    assert "not a target group of environment dev" in errors(text)[0]


def test_a_services_own_network_is_fenced_too():
    text = DEV.replace(
        "    dependsOn: [apim]\n",
        f"    dependsOn: [apim]\n    network: {{subnets: [{PROD_SUBNET}], securityGroups: "
        "[sg-0a1b2c3d4e5f60001]}\n",
    )
    [error] = errors(text)
    assert (
        f"services.mi.network.subnets[0]: {PROD_SUBNET} is not a subnet of environment dev" in error
    )


# ---- adoption -----------------------------------------------------------------------------------


def _live(tags: dict[str, str]):  # type: ignore[no-untyped-def]
    from chalicelib.values.live import LiveService

    return LiveService("arn:aws:ecs:us-east-1:1:service/wso2-dev/payments", "arn:td:1",
                       "ecs-svc/1", "COMPLETED", "FARGATE", {}, tags)  # fmt: skip


def test_an_untagged_service_is_taken_over_only_when_the_environment_lists_it():
    # Issue 15: another team's `payments` was replaced; only a listed service may be adopted.
    from chalicelib.decisions.changes import ownership_problem

    fence = fence_from_variables({"BERTH_ENVIRONMENT_ADOPT": "dev=wso2-dev/payments"})
    assert fence is not None and fence.adoptable == {"dev": frozenset({"wso2-dev/payments"})}
    assert ownership_problem(_live({}), "dev", fence.adoptable["dev"]) is None
    assert ownership_problem(_live({}), "dev", frozenset({"wso2-dev/other"})) == (
        "the live service wso2-dev/payments was not created by Berth (no berth:environment "
        "tag), and Berth changes only services it created; choose another name, or tag the "
        "service berth:environment=dev to hand it over"
    )
    # Listing never hands over another environment's service.
    prod = _live({"berth:environment": "prod"})
    assert ownership_problem(prod, "dev", fence.adoptable["dev"]) == (
        "the live service wso2-dev/payments belongs to environment prod (berth:environment); a "
        "dev spec cannot change it"
    )


def test_classify_change_takes_an_adoptable_service_over_as_a_change():
    from chalicelib.decisions.changes import classify_change

    change = classify_change(
        environment="dev", rendered={}, settings={}, launch_type="FARGATE", live=_live({}),
        live_task_definition=None, adoptable=frozenset({"wso2-dev/payments"}),
    )  # fmt: skip
    assert change.kind != "refuse"
