"""The first-hour parse errors of issue 19, as `berth validate` prints them: JSON's own error for
JSON, and the fix for an unquoted version range."""

from __future__ import annotations

import pytest

from chalicelib.errors import SpecError
from chalicelib.spec.parse import parse_spec
from tests.unit.test_spec import VALID


def problems(text: str, file: str) -> list[str]:
    with pytest.raises(SpecError) as error:
        parse_spec(text.encode(), file)
    return [str(p) for p in error.value.problems]


def test_a_json_syntax_error_is_called_a_json_error():
    assert problems('{"berth": 1, "environment": "dev" "cluster": "c"}', "wso2.json") == [
        "wso2.json:1:35: invalid JSON: Expecting ',' delimiter: put a ',' between two entries"
    ]


def test_a_json_file_is_read_as_json_whatever_it_opens_with():
    assert problems('[\n  "berth": 1\n', "wso2.json") == [
        "wso2.json:2:10: invalid JSON: Expecting ',' delimiter: put a ',' between two entries"
    ]


def test_a_document_opening_with_a_brace_is_json_even_in_a_yaml_file():
    assert problems('{"berth": 1,\n "services": {]}\n', "wso2.yaml") == [
        "wso2.yaml:2:15: invalid JSON: Expecting property name enclosed in double quotes: quote "
        "each key with double quotes, and put no ',' before a closing '}'"
    ]


def test_yaml_errors_stay_yaml_errors():
    assert problems("berth: 1\nservices: [\n", "wso2.yaml") == [
        "wso2.yaml:3:1: invalid YAML: expected the node content, but found '<stream end>'"
    ]


def test_an_unquoted_version_range_gets_a_hint_to_quote_it():
    text = "berth: 1\nservices:\n  apim:\n    image: {repository: wso2am}\n    track: >=4.4.0 <5\n"
    assert problems(text, "wso2.yaml") == [
        "wso2.yaml:5:13: invalid YAML: expected chomping or indentation indicators, but found "
        "'='; quote a version range: \">=4.4.0 <5\""
    ]


# ---- every problem at once: the cross-field rules run on what did parse ----------------------

# The valid spec of test_spec.py, with a password where only references belong.
SPEC = VALID + "      DB_PASSWORD: hunter2\n"
RULES = [
    "s.yaml:19:7: services.apim.secrets.DB_PASSWORD: is also set in environment; keep one",
    "s.yaml:25:7: services.apim.environment.DB_PASSWORD: looks like a secret; move it to secrets "
    "as a Secrets Manager or SSM ARN",
]


def test_a_bad_value_does_not_hide_the_cross_field_problems():
    # A refused value of the right type; a word where a number belongs is the file's shape,
    # told alone (test_spec.py, test_a_structural_error_silences_the_rules_it_would_set_off).
    text = SPEC.replace("    image: wso2ei\n", "    image: wso2ei\n    memory: 0\n")
    assert problems(text, "s.yaml") == [
        "s.yaml:10:5: services.ei.memory: 0 is too small: write a number greater than 0",
        *[r.replace(":19:", ":20:").replace(":25:", ":26:") for r in RULES],
    ]


def test_a_bad_required_field_does_not_hide_them_either_nor_blame_who_depends_on_it():
    # ei's image is refused: ei is checked without it, and apim's dependsOn [ei] still holds.
    text = SPEC.replace("    image: wso2ei\n", "    image: WSO2EI\n")
    assert problems(text, "s.yaml") == [
        "s.yaml:9:5: services.ei.image.repository: 'WSO2EI' is not an ECR repository name: "
        "lowercase letters and digits, with '.', '_', '-' or '/' between them (e.g. 'wso2ei')",
        *RULES,
    ]


def test_a_bad_top_level_value_still_lets_the_services_be_checked():
    text = SPEC.replace("environment: prod", "environment: Prod!")
    assert problems(text, "s.yaml") == [
        "s.yaml:2:1: environment: 'Prod!' is not a name: lowercase letters, digits and '-', "
        "starting with a letter, at most 31 characters (e.g. 'prod')",
        *RULES,
    ]


def test_a_removed_field_causes_no_follow_on_problem():
    # Without its memory, ei would take the preset's 2048 MiB, which Fargate refuses beside
    # 4096 cpu; and without its subnets no service would have a network. Neither is reported.
    text = SPEC.replace(
        "    image: wso2ei\n", "    image: wso2ei\n    cpu: 4096\n    memory: 0\n"
    )
    text = text.replace("subnets: [subnet-1]", "subnets: [net-1]")
    assert problems(text, "s.yaml") == [
        "s.yaml:5:21: network.subnets[0]: 'net-1' is not a subnet ID: subnet-<id> (e.g. "
        "subnet-0a1b2c3d4e5f60001)",
        "s.yaml:11:5: services.ei.memory: 0 is too small: write a number greater than 0",
        *[r.replace(":19:", ":21:").replace(":25:", ":27:") for r in RULES],
    ]


def test_merge_keys_share_values_and_errors_point_into_the_anchor():
    # A spec has no free-form field, so the anchor sits on its first use.
    text = SPEC.replace("    secrets: {APIM", "    secrets: &admin {APIM").replace(
        "      APIM_ADMIN_PASSWORD: arn:aws:ssm:us-east-1:123456789012:parameter/wso2/admin\n",
        "      <<: *admin\n",
    )
    assert problems(text, "s.yaml") == RULES
    bad = text.replace("parameter/wso2/admin", "parameter/wso2/admin\n", 1).replace(
        '"arn:aws:ssm:us-east-1:123456789012:parameter/wso2/admin\n"', "hunter2"
    )
    reason = (
        "'hunter2' is not a Secrets Manager or SSM parameter ARN (arn:aws:secretsmanager:REGION:"
        "ACCOUNT:secret:NAME or arn:aws:ssm:REGION:ACCOUNT:parameter/NAME); secrets are "
        "references, never values"
    )
    assert problems(bad, "s.yaml") == [
        f"s.yaml:11:22: services.ei.secrets.APIM_ADMIN_PASSWORD: {reason}",
        f"s.yaml:11:22: services.apim.secrets.APIM_ADMIN_PASSWORD: {reason}",
    ]


# ---- scalars in tags, spaced version ranges ---------------------------------------------------


def test_numbers_and_booleans_in_tags_are_the_text_aws_gets():
    text = SPEC.replace("      DB_PASSWORD: hunter2\n", "").replace(
        "cluster: wso2-prod\n", "cluster: wso2-prod\ntags: {cost-centre: 4711, pci: false}\n"
    )
    text = text.replace("    image: wso2ei\n", "    image: wso2ei\n    tags: {tier: 2, v: 1.10}\n")
    spec = parse_spec(text.encode(), "s.yaml")
    assert spec.tags == {"cost-centre": "4711", "pci": "false"}
    assert spec.services["ei"].tags == {"tier": "2", "v": "1.1"}  # a number, read by value


def test_a_spaced_version_range_is_told_to_drop_the_space():
    text = SPEC.replace('track: "4.7.*"', 'track: ">= 4.7.0"').replace(
        "      DB_PASSWORD: hunter2\n", ""
    )
    assert problems(text, "s.yaml") == [
        "s.yaml:14:33: services.apim.image.track: '>= 4.7.0': remove the space after >= ('>=4.7.0')"
    ]
