"""The spec model: what validates, and the exact message for what does not."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.errors import SpecError
from chalicelib.spec.model import Spec
from chalicelib.spec.parse import load_spec_file, parse_spec
from tests.conftest import EXAMPLE_SPECS

VALID = """\
berth: 1
environment: prod
cluster: wso2-prod
executionRoleArn: arn:aws:iam::123456789012:role/exec
network: {subnets: [subnet-1], securityGroups: [sg-1]}
services:
  ei:
    product: wso2mi
    image: wso2ei
    environment: {MI_HOSTNAME: ei.internal, APIM_HOST: apim.internal}
    secrets: {APIM_ADMIN_PASSWORD: "arn:aws:ssm:us-east-1:123456789012:parameter/wso2/admin"}
  apim:
    product: wso2am
    image: {repository: wso2am, track: "4.7.*"}
    dependsOn: [ei]
    secrets:
      WSO2_ENCRYPTION_KEY: arn:aws:ssm:us-east-1:123456789012:parameter/wso2/key
      APIM_ADMIN_PASSWORD: arn:aws:ssm:us-east-1:123456789012:parameter/wso2/admin
      DB_PASSWORD: arn:aws:ssm:us-east-1:123456789012:parameter/wso2/db
    environment:
      APIM_HOSTNAME: api.example.com
      APIM_DB_URL: jdbc:mysql://db:3306/WSO2AM_DB
      SHARED_DB_URL: jdbc:mysql://db:3306/WSO2AM_SHARED_DB
      APIM_DB_USER: wso2am
"""


def errors_of(text: str | bytes, name: str = "specs/prod.yaml") -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text.encode() if isinstance(text, str) else text, name)
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=lambda p: p.name)
def test_every_example_is_valid(path):
    spec = load_spec_file(str(path))
    # MI after APIM, as WSO2's APIM + MI compose starts them (wso2/docker-apim
    # docker-compose/apim-with-mi: MI depends_on api-manager service_healthy).
    # The HA example's APIM is two nodes, node 2 after node 1 (tests/unit/test_apim_ha.py).
    ha = path.name == "wso2-prod-ha.yaml"
    assert spec.deployment_order() == (["apim-1", "apim-2", "mi"] if ha else ["apim", "mi"])


def test_short_form_gets_wso2_defaults():
    spec = parse_spec(VALID.encode(), "s.yaml")
    ei, apim = spec.services["ei"], spec.services["apim"]
    assert ei.image.repository == "wso2ei" and ei.image.track == "*"
    assert (ei.effective_cpu, ei.effective_memory) == (1024, 2048)
    assert (apim.effective_cpu, apim.effective_memory) == (2048, 4096)
    assert apim.effective_ports == [9443, 8243, 8280, 9763]
    assert apim.deployment.circuit_breaker.enable and apim.deployment.circuit_breaker.rollback


def test_issue_example_message_names_file_line_column_field_and_valid_range():
    text = VALID.replace(
        "    image: wso2ei\n", "    image: wso2ei\n    cpu: 1024\n    memory: 3000\n"
    )
    assert errors_of(text) == [
        "specs/prod.yaml:11:5: services.ei.memory: 3000 is not a valid Fargate memory for cpu 1024 "
        "(valid: 2048-8192 in steps of 1024)"
    ]


def test_structural_errors_are_reported_at_once_in_file_order():
    text = VALID.replace(
        "    image: wso2ei\n", "    image: wso2ei\n    desiredCont: 2\n    memory: lots\n"
    ).replace("    dependsOn: [ei]\n", "    dependsOn: ei\n    cpus: 2048\n")
    assert errors_of(text) == [
        "specs/prod.yaml:10:5: services.ei.desiredCont: unknown field (did you mean 'desiredCount'?)",
        "specs/prod.yaml:11:5: services.ei.memory: 'lots' is not a whole number: memory is in "
        "MiB; write digits only (e.g. memory: 4096)",
        "specs/prod.yaml:17:5: services.apim.dependsOn: 'ei' is one value where a list belongs: "
        "write [ei] or one '- item' per line",
        "specs/prod.yaml:18:5: services.apim.cpus: unknown field (did you mean 'cpu'?)",
    ]


def test_rules_are_reported_at_once_in_file_order_once_the_structure_is_right():
    text = VALID.replace("    image: wso2ei\n", "    image: wso2ei\n    memory: 100\n")
    text += "      DB_PASSWORD: hunter2\n"
    assert errors_of(text) == [
        "specs/prod.yaml:10:5: services.ei.memory: 100 is not a valid Fargate memory for cpu 1024 "
        "(valid: 2048-8192 in steps of 1024)",
        "specs/prod.yaml:20:7: services.apim.secrets.DB_PASSWORD: is also set in environment; "
        "keep one",
        "specs/prod.yaml:26:7: services.apim.environment.DB_PASSWORD: looks like a secret; move it "
        "to secrets as a Secrets Manager or SSM ARN",
    ]


def test_a_structural_error_silences_the_rules_it_would_set_off():
    # `enviroment:` misspelt: APIM's required variables are then "missing" to the contract rule,
    # which would bury the one line that matters under four of its own.
    text = VALID.replace("    environment:\n      APIM_H", "    enviroment:\n      APIM_H")
    text += "      DB_PASSWORD: hunter2\n"  # a rule's problem elsewhere waits too
    assert errors_of(text) == [
        "specs/prod.yaml:20:5: services.apim.enviroment: unknown field (did you mean "
        "'environment'?)",
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("image: wso2ei", "image: wso2ei:4.4.0"),
            "specs/prod.yaml:9:5: services.ei.image.repository: 'wso2ei:4.4.0' names a tag or digest; "
            "give the repository name only and choose tags with track (e.g. {repository: wso2am, "
            "track: '4.7.*'})",
        ),
        (
            (
                "WSO2_ENCRYPTION_KEY: arn:aws:ssm:us-east-1:123456789012:parameter/wso2/key",
                "WSO2_ENCRYPTION_KEY: s3cr3t",
            ),
            "specs/prod.yaml:17:7: services.apim.secrets.WSO2_ENCRYPTION_KEY: 's3cr3t' is not a Secrets "
            "Manager or SSM parameter ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME or "
            "arn:aws:ssm:REGION:ACCOUNT:parameter/NAME); secrets are references, never values",
        ),
        (
            ("dependsOn: [ei]", "dependsOn: [eii]"),
            "specs/prod.yaml:15:17: services.apim.dependsOn[0]: unknown service 'eii' (did you mean 'ei'?)",
        ),
        (
            ('track: "4.7.*"', 'track: ">=4.7 <<5"'),
            "specs/prod.yaml:14:33: services.apim.image.track: '<<5' is not a version comparator "
            "(e.g. '>=4.7.0 <5', '~4.7', '^4')",
        ),
        (("berth: 1", "berth: 2"), "specs/prod.yaml:1:1: berth: 2: write berth: 1, the one value it takes"),
    ],
)
def test_precise_messages(change, expected):
    assert errors_of(VALID.replace(*change)) == [expected]


def test_dependency_cycle_is_named():
    text = VALID.replace("    image: wso2ei\n", "    image: wso2ei\n    dependsOn: [apim]\n")
    [message] = errors_of(text)
    assert message.startswith("specs/prod.yaml:6:1: services: dependsOn forms a cycle: ")
    assert "apim -> ei" in message or "ei -> apim" in message


def test_duplicate_ports_and_a_load_balancer_port_the_service_lacks():
    text = VALID.replace(
        "    image: wso2ei\n",
        "    image: wso2ei\n    ports: [8290, 8290]\n    loadBalancer:\n"
        "      targetGroupArn: arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/x/1\n"
        "      containerPort: 8443\n",
    )
    assert errors_of(text) == [
        "specs/prod.yaml:10:5: services.ei.ports: port 8290 is listed more than once",
        "specs/prod.yaml:13:7: services.ei.loadBalancer.containerPort: 8443 is not one of the "
        "service's ports (8290, 8290)",
    ]


def test_apim_requires_the_shared_encryption_key():
    # One source: the rule comes from docker/apim/config-contract.yaml (chalicelib/wso2_contract).
    text = VALID.replace(
        "      WSO2_ENCRYPTION_KEY: arn:aws:ssm:us-east-1:123456789012:parameter/wso2/key\n", ""
    )
    [message] = errors_of(text)
    assert message.startswith(
        "specs/prod.yaml:16:5: services.apim.secrets: WSO2_ENCRYPTION_KEY is missing, required by "
        "wso2am: Symmetric key for data APIM encrypts ([encryption] key, AES/GCM/NoPadding): 64 "
        "hexadecimal characters (openssl rand -hex 32), identical on every node"
    )
    assert message.endswith(
        "Fix: add WSO2_ENCRYPTION_KEY under secrets as a Secrets Manager or SSM parameter ARN "
        "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) (see docker/apim/config-contract.yaml)"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"", "specs/prod.yaml: file is empty"),
        (
            b"\x00\x01binary",
            "specs/prod.yaml: file is binary (contains NUL bytes), not YAML or JSON",
        ),
        (b"\xff\xfe\xfa", "specs/prod.yaml: file is not valid UTF-8 (byte 0)"),
        (b"- 1\n- 2\n", "specs/prod.yaml:1:1: a spec is a mapping at the top level, not a list"),
        (b"just text\n", "specs/prod.yaml:1:1: a spec is a mapping at the top level, not a string"),
        (
            b"a: 1\na: 2\n",
            "specs/prod.yaml:2:1: duplicate key 'a': keep one (YAML would take the last silently)",
        ),
        (
            b"a: [1\n",
            "specs/prod.yaml:2:1: invalid YAML: expected ',' or ']', but got '<stream end>'",
        ),
        (
            b"name: x\n",
            "specs/prod.yaml:1:1: not a Berth spec: the top-level key 'berth: 1' is missing",
        ),
        (b"<<: {a: 1}\n", "specs/prod.yaml:1:1: not a Berth spec: the top-level key 'berth: 1' is missing"),
        (
            b"a: !!binary aGVsbG8=\n",
            "specs/prod.yaml:1:4: binary (!!binary) values are not allowed",
        ),
        (
            b"x" * (256 * 1024 + 1),
            "specs/prod.yaml: file is 262145 bytes; the limit is 262144 bytes (256 KiB)",
        ),
        (b"[" * 5000, "specs/prod.yaml: document is nested deeper than 32 levels"),
    ],
)
def test_hostile_files_get_one_line(raw, expected):
    assert errors_of(raw) == [expected]


def test_alias_bomb_is_refused_without_expanding():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for name, prev in zip("bcdefghi", "abcdefgh", strict=True):
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 9)}]")
    assert errors_of("\n".join(lines)) == [
        "specs/prod.yaml: document expands to more than 20000 values (YAML aliases?); refused"
    ]


def test_json_spec_errors_have_positions_too():
    raw = b'{"berth": 1, "environment": "Prod!", "cluster": "c", "services": {}}'
    assert errors_of(raw, "prod.json") == [
        "prod.json:1:14: environment: 'Prod!' is not a name: lowercase letters, digits and '-', "
        "starting with a letter, at most 31 characters (e.g. 'prod')",
        "prod.json:1:54: services: has 0 entries: give at least 1",
    ]


def test_deployment_order_puts_dependencies_first_and_is_stable():
    spec = Spec.model_validate(
        {
            "berth": 1,
            "environment": "e",
            "cluster": "c",
            "launchType": "EC2",
            "services": {
                "z": {"image": "r", "dependsOn": ["b"]},
                "b": {"image": "r", "dependsOn": ["a"]},
                "a": {"image": "r"},
                "c": {"image": "r"},
            },
        }
    )
    assert spec.deployment_order() == ["a", "c", "b", "z"]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2048) | st.text(max_size=2048).map(str.encode))
def test_random_input_never_escapes_as_a_traceback(raw):
    try:
        parse_spec(raw, "fuzz.yaml")
    except SpecError as exc:
        assert exc.problems and all(str(p).startswith("fuzz.yaml") for p in exc.problems)


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["berth", "environment", "cluster", "services", "network", "tags", "launchType"]
        ),
        yaml_values,
    )
)
def test_structured_garbage_is_rejected_cleanly(document):
    import json

    try:
        parse_spec(json.dumps(document).encode(), "fuzz.json")
    except SpecError as exc:
        assert exc.problems


# ---- what AWS refuses is refused at validation (issue 13, finding 3) ---------------------------


def test_quarter_vcpu_takes_only_the_memory_sizes_fargate_offers():
    text = VALID.replace("    image: wso2ei\n", "    image: wso2ei\n    cpu: 256\n    memory: 1536\n")
    assert errors_of(text) == [
        "specs/prod.yaml:11:5: services.ei.memory: 1536 is not a valid Fargate memory for cpu 256 "
        "(valid: 512, 1024, 2048)"
    ]


def test_fargate_needs_an_execution_role_for_awslogs_and_ecr():
    text = VALID.replace("executionRoleArn: arn:aws:iam::123456789012:role/exec\n", "")
    assert errors_of(text) == [
        f"specs/prod.yaml:{line}:3: services.{name}.executionRoleArn: required on Fargate: ECS "
        "pulls the ECR image and writes the awslogs log stream with the task execution role; "
        "set executionRoleArn here or at the top level"
        for line, name in ((6, "ei"), (11, "apim"))
    ]


def test_ec2_services_need_a_network_too():
    text = VALID.replace("network: {subnets: [subnet-1], securityGroups: [sg-1]}\n", "")
    text = text.replace("cluster: wso2-prod\n", "cluster: wso2-prod\nlaunchType: EC2\n")
    assert errors_of(text) == [
        f"specs/prod.yaml:{line}:3: services.{name}.network: EC2 services run in awsvpc mode and "
        "need network subnets and securityGroups (here or at the top level)"
        for line, name in ((7, "ei"), (12, "apim"))
    ]


@pytest.mark.parametrize(
    "repository",
    [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/wso2am",
        "localhost/wso2am",
        "registry.example.com:5000/wso2/wso2am",
    ],
)
def test_a_repository_that_names_a_registry_is_refused(repository):
    text = VALID.replace("image: wso2ei\n", f"image: {repository}\n")
    registry = repository.split("/")[0]
    assert errors_of(text) == [
        f"specs/prod.yaml:9:5: services.ei.image.repository: {repository!r} names a registry "
        f"({registry}); give the ECR repository name only (e.g. wso2am): Berth pins images to "
        "this account's ECR registry by digest"
    ]


@pytest.mark.parametrize("group", ["/ecs/wso2", "/berth/dev", "/berth/prodx", "/aws/lambda/x"])
def test_log_groups_stay_under_the_environments_prefix(group):
    text = VALID.replace("cluster: wso2-prod\n", f"cluster: wso2-prod\nlogGroup: {group}\n")
    assert errors_of(text) == [
        f"specs/prod.yaml:4:1: logGroup: {group!r} is outside this environment's log groups; use "
        "/berth/prod or /berth/prod/<name>"
    ]


def test_a_log_group_under_the_environments_prefix_is_valid():
    text = VALID.replace("cluster: wso2-prod\n", "cluster: wso2-prod\nlogGroup: /berth/prod/wso2\n")
    assert parse_spec(text.encode(), "s.yaml").log_group_of("apim") == "/berth/prod/wso2"


# ---- a spec cannot run code in the image (issue 15) ---------------------------------------------


@pytest.mark.parametrize("variable", ["JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS",
                                      "LD_PRELOAD", "LD_LIBRARY_PATH"])  # fmt: skip
def test_loader_and_jvm_injection_variables_are_refused(variable):
    text = VALID.replace("APIM_HOST: apim.internal}", f"APIM_HOST: apim.internal, {variable}: x}}")
    assert [e.split(": ", 1)[1] for e in errors_of(text)] == [
        f"services.ei.environment.{variable}: loads code into the product's process (JVM or "
        "dynamic loader); not allowed in a spec"
    ]


def test_a_java_agent_in_java_opts_is_refused():
    text = VALID.replace(
        "APIM_HOST: apim.internal}", "APIM_HOST: apim.internal, JAVA_OPTS: '-javaagent:/a.jar'}"
    )
    assert [e.split(": ", 1)[1] for e in errors_of(text)] == [
        "services.ei.environment.JAVA_OPTS: -javaagent makes the JVM run code of the spec's "
        "choosing; not allowed"
    ]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        ('["CMD-SHELL", "echo $DB_PASSWORD >> /proc/1/fd/1"]',
         "only an exec-form probe is allowed: [CMD, curl, <options>, http://localhost:<port>/"
         "<path>] (no CMD-SHELL: a shell in the image runs whatever the spec says)"),
        ('["CMD", "sh", "-c", "id"]',
         "the probe must be curl of a localhost URL: [CMD, curl, --fail, http://localhost:…]"),
        ('["CMD", "curl", "--fail", "-d", "@/proc/self/environ", "http://localhost:9201/healthz"]',
         "'-d' is not allowed in a probe: only --fail, --insecure, --location, --show-error, "
         "--silent, -L, -S, -f, -fs, -fsS, -fsk, -k, -s, -sf, -sfk, --connect-timeout, "
         "--max-time, -m <seconds> and http(s)://localhost URLs"),
        ('["CMD", "curl", "--fail", "http://evil.example.com/x"]',
         "'http://evil.example.com/x' is not allowed in a probe: only --fail, --insecure, "
         "--location, --show-error, --silent, -L, -S, -f, -fs, -fsS, -fsk, -k, -s, -sf, -sfk, "
         "--connect-timeout, --max-time, -m <seconds> and http(s)://localhost URLs"),
    ],
)  # fmt: skip
def test_health_checks_cannot_run_a_shell_or_reach_out(command, reason):
    text = VALID.replace("    image: wso2ei\n", f"    image: wso2ei\n    healthCheck: {{command: {command}}}\n")
    assert [e.split(": ", 2)[-1] for e in errors_of(text)] == [reason]


def test_an_exec_form_probe_of_a_localhost_url_is_allowed():
    probe = '["CMD", "curl", "--fail", "--max-time", "3", "http://localhost:9201/liveness"]'
    text = VALID.replace("    image: wso2ei\n", f"    image: wso2ei\n    healthCheck: {{command: {probe}}}\n")
    assert parse_spec(text.encode(), "s.yaml").services["ei"].health_check is not None


# ---- issue 32: the commonest slips say what to write instead ---------------------------------


def test_an_empty_value_says_it_is_empty():
    text = VALID.replace('track: "4.7.*"', "track:")
    assert "services.apim.image.track: is empty: give it a value (or remove the line to take the default)" in " ".join(errors_of(text))


def test_one_value_where_a_list_belongs_shows_the_list():
    text = VALID.replace("subnets: [subnet-1]", "subnets: subnet-1")
    assert errors_of(text)[0] == (
        "specs/prod.yaml:5:11: network.subnets: 'subnet-1' is one value where a list belongs: "
        "write [subnet-1] or one '- item' per line"
    )


def test_a_tab_says_yaml_indents_with_spaces():
    text = VALID.replace("  ei:\n", "\tei:\n")
    [message] = errors_of(text)
    assert message.endswith("YAML indents with spaces only: replace the tab with spaces")
