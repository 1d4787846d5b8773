"""The commonest mistakes a person makes writing a spec, each with the whole message Berth gives:
where (file:line:col), which field, what is wrong, and what to write instead (issue 32)."""

from __future__ import annotations

import json

import pytest

from chalicelib.spec.parse import parse_spec
from tests.unit.test_spec import VALID, errors_of

SERVICE = "    dependsOn: [ei]\n"  # apim's last line before its secrets: line 15 of VALID
AT = "specs/prod.yaml"

# (mistake, the text of VALID it changes, what the person wrote instead, the whole message)
MISTAKES = [
    (
        "a misspelt top-level field", "environment: prod", "enviroment: prod",
        f"{AT}:2:1: enviroment: unknown field (did you mean 'environment'?)",
    ),
    (
        "a misspelt service field", SERVICE, SERVICE + "    desiredCont: 2\n",
        f"{AT}:16:5: services.apim.desiredCont: unknown field (did you mean 'desiredCount'?)",
    ),
    (
        "snake_case for camelCase", SERVICE, SERVICE + "    desired_count: 2\n",
        f"{AT}:16:5: services.apim.desired_count: unknown field (did you mean 'desiredCount'?)",
    ),
    (
        "a field Berth does not have", SERVICE, SERVICE + "    replicas: 2\n",
        f"{AT}:16:5: services.apim.replicas: unknown field: remove it (docs/spec.md lists every "
        "field)",
    ),
    (
        "a word for the replica count", SERVICE, SERVICE + "    desiredCount: two\n",
        f"{AT}:16:5: services.apim.desiredCount: 'two' is not a whole number: write digits only, "
        "without quotes or units (e.g. desiredCount: 2)",
    ),
    (
        "cpu in vCPU", SERVICE, SERVICE + "    cpu: 0.5\n",
        f"{AT}:16:5: services.apim.cpu: 0.5 is not a whole number: cpu is in CPU units, 1024 per "
        "vCPU; write cpu: 512",
    ),
    (
        "memory with a unit", SERVICE, SERVICE + "    memory: 4GB\n",
        f"{AT}:16:5: services.apim.memory: '4GB' is not a whole number: memory is in MiB; write "
        "memory: 4096",
    ),
    (
        "a tab for indentation", SERVICE, "\tdependsOn: [ei]\n",
        f"{AT}:15:1: invalid YAML: found character '\\t' that cannot start any token; YAML "
        "indents with spaces only: replace the tab with spaces",
    ),
    (
        "a line indented too far", "    image: wso2ei\n", "     image: wso2ei\n",
        f"{AT}:9:11: invalid YAML: mapping values are not allowed here; indent this line as the "
        "field above it (or quote a value holding ': ')",
    ),
    (
        "no space after a key's colon", "    image: wso2ei\n", "    image:wso2ei\n",
        f"{AT}:9:5: invalid YAML: could not find expected ':'; write a space after the colon of "
        "each key (key: value)",
    ),
    (
        "an empty value", 'track: "4.7.*"}', "track: }",
        f"{AT}:14:33: services.apim.image.track: is empty: give it a value (or remove the line "
        "to take the default)",
    ),
    (
        "an empty required value", "cluster: wso2-prod", "cluster:",
        f"{AT}:3:1: cluster: is empty: give it a value (the field is required)",
    ),
    (
        "empty quotes", 'track: "4.7.*"}', 'track: ""}',
        f"{AT}:14:33: services.apim.image.track: is empty: give it a value (or remove the line "
        "to take the default)",
    ),
    (
        "no services", VALID[VALID.index("services:") :], "services: {}\n",
        f"{AT}:6:1: services: has 0 entries: give at least 1",
    ),
    (
        "a required field left out", "cluster: wso2-prod\n", "",
        f"{AT}:1:1: cluster: required field is missing: add 'cluster:' with its value",
    ),
    (
        "one value where a list belongs", "dependsOn: [ei]", "dependsOn: ei",
        f"{AT}:15:5: services.apim.dependsOn: 'ei' is one value where a list belongs: write [ei] "
        "or one '- item' per line",
    ),
    (
        "a list where a mapping belongs (docker's NAME=value)",
        "    environment: {MI_HOSTNAME: ei.internal, APIM_HOST: apim.internal}",
        "    environment: [MI_HOSTNAME=ei.internal, APIM_HOST=apim.internal]",
        f"{AT}:10:5: services.ei.environment: is a list where a mapping belongs: write "
        "{MI_HOSTNAME: ei.internal, APIM_HOST: apim.internal}, or one 'NAME: value' per line",
    ),
    (
        "one value where a mapping belongs",
        "network: {subnets: [subnet-1], securityGroups: [sg-1]}", "network: subnet-1",
        f"{AT}:5:1: network: 'subnet-1' is one value where a mapping belongs: write its fields "
        "(subnets, securityGroups, assignPublicIp) under it",
    ),
    (
        "a mapping where one value belongs",
        "APIM_HOST: apim.internal}", "APIM_HOST: {host: apim.internal}}",
        f"{AT}:10:45: services.ei.environment.APIM_HOST: is a mapping where one value belongs: "
        "write the value on the line of 'APIM_HOST:', quoted if it holds ': ', '{' or '['",
    ),
    (
        "a word for a boolean",
        "securityGroups: [sg-1]}", "securityGroups: [sg-1], assignPublicIp: maybe}",
        f"{AT}:5:56: network.assignPublicIp: 'maybe' is not true or false: write "
        "assignPublicIp: true or assignPublicIp: false",
    ),
    (
        "a target group's name for its ARN", "    image: wso2ei\n",
        "    image: wso2ei\n    loadBalancer: {targetGroupArn: apim-dev, containerPort: 8290}\n",
        f"{AT}:10:20: services.ei.loadBalancer.targetGroupArn: 'apim-dev' is not a target group "
        "ARN: arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID",
    ),
    (
        "an unknown product", "product: wso2mi", "product: wso2-mi",
        f"{AT}:8:5: services.ei.product: 'wso2-mi': write one of 'wso2am', 'wso2mi', 'wso2ei' or "
        "'generic' (did you mean 'wso2mi'?)",
    ),
    (
        "an image with its tag", "image: wso2ei\n", "image: wso2ei:4.4.0\n",
        f"{AT}:9:5: services.ei.image.repository: 'wso2ei:4.4.0' names a tag or digest; give the "
        "repository name only and choose tags with track (e.g. {repository: wso2am, track: "
        "'4.7.*'})",
    ),
    (
        "an environment name in capitals", "environment: prod", "environment: Prod",
        f"{AT}:2:1: environment: 'Prod' is not a name: lowercase letters, digits and '-', "
        "starting with a letter, at most 31 characters (e.g. 'prod')",
    ),
    (
        "a key given twice", "    image: wso2ei\n", "    image: wso2ei\n    image: wso2mi\n",
        f"{AT}:10:5: duplicate key 'image': keep one (YAML would take the last silently)",
    ),
    (
        "a quote left open", 'track: "4.7.*"}', 'track: "4.7.*}',
        f"{AT}:14:40: invalid YAML: a quoted value is not closed: end it with its opening quote",
    ),
    (
        "an unquoted version range",
        '    image: {repository: wso2am, track: "4.7.*"}\n',
        "    image:\n      repository: wso2am\n      track: >=4.7 <5\n",
        f"{AT}:16:15: invalid YAML: expected chomping or indentation indicators, but found '='; "
        'quote a version range: ">=4.7 <5"',
    ),
    (
        "an unknown deployment strategy", SERVICE,
        SERVICE + "    deployment: {strategy: bluegreen}\n",
        f"{AT}:16:18: services.apim.deployment.strategy: 'bluegreen': write one of 'rolling', "
        "'blue-green', 'canary' or 'linear' (did you mean 'blue-green'?)",
    ),
    (
        "a launch type in lower case", SERVICE, SERVICE + "    launchType: fargate\n",
        f"{AT}:16:5: services.apim.launchType: 'fargate': write one of 'FARGATE' or 'EC2' (did "
        "you mean 'FARGATE'?)",
    ),
    (
        "the format version quoted", "berth: 1", "berth: '1'",
        f"{AT}:1:1: berth: '1' is text here: write 1 without quotes",
    ),
    (
        "a port out of range", SERVICE, SERVICE + "    ports: [9443, 70000]\n",
        f"{AT}:16:19: services.apim.ports[1]: 70000 is too large: write a number less than or "
        "equal to 65535",
    ),
    (
        "a secret's value instead of its ARN",
        "WSO2_ENCRYPTION_KEY: arn:aws:ssm:us-east-1:123456789012:parameter/wso2/key",
        "WSO2_ENCRYPTION_KEY: s3cr3t",
        f"{AT}:17:7: services.apim.secrets.WSO2_ENCRYPTION_KEY: 's3cr3t' is not a Secrets "
        "Manager or SSM parameter ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
        "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME); secrets are references, never values",
    ),
    (
        "a dependency on a service the spec lacks", "dependsOn: [ei]", "dependsOn: [mi]",
        f"{AT}:15:17: services.apim.dependsOn[0]: unknown service 'mi': name one of ei",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mistake", "written", "instead", "message"), MISTAKES, ids=[m[0] for m in MISTAKES]
)
def test_a_common_mistake_gets_one_message_that_says_what_to_write(
    mistake, written, instead, message
):
    assert VALID.count(written) >= 1, mistake
    assert errors_of(VALID.replace(written, instead, 1)) == [message]


def test_the_table_holds_at_least_twenty_mistakes():
    assert len({m[0] for m in MISTAKES}) >= 20


JSON_SPEC = json.dumps(
    {
        "berth": 1, "environment": "prod", "cluster": "wso2-prod",
        "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
        "network": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"]},
        "services": {"web": {"image": "web", "launchType": "EC2"}},
    },
    indent=2,
)  # fmt: skip


def test_a_json_spec_missing_a_comma_is_told_where_to_put_it():
    text = JSON_SPEC.replace('"prod",', '"prod"')
    assert errors_of(text, "specs/prod.json") == [
        "specs/prod.json:4:3: invalid JSON: Expecting ',' delimiter: put a ',' between two entries"
    ]


def test_a_json_spec_with_a_trailing_comma_is_read_as_yaml_reads_it():
    # YAML (of which JSON is a subset) allows a ',' before a closing brace, so the spec is taken:
    # not an error to report, whatever a strict JSON tool would say.
    text = JSON_SPEC.replace('"EC2"\n', '"EC2",\n')
    assert text != JSON_SPEC
    assert parse_spec(text.encode(), "specs/prod.json").services["web"].launch_type == "EC2"
