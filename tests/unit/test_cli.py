"""The berth CLI through click's runner: exit codes and what reaches stdout and stderr."""

from __future__ import annotations

import json

from click.testing import CliRunner

from berth.cli import main
from tests.conftest import EXAMPLES

DEV = str(EXAMPLES / "wso2-dev.yaml")
DIGEST = "sha256:" + "c" * 64


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_validate_examples():
    result = run("validate", DEV, str(EXAMPLES / "wso2-prod.json"))
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        f"{DEV}: valid (dev: apim, mi)",
        f"{EXAMPLES / 'wso2-prod.json'}: valid (prod: apim, mi)",
    ]


def test_validate_reports_every_bad_file_and_exits_1(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    bomb = tmp_path / "list.yaml"
    bomb.write_text("- a\n")
    result = run("validate", DEV, str(empty), str(bomb))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{empty}: file is empty",
        f"{bomb}:1:1: a spec is a mapping at the top level, not a list",
    ]
    assert "Traceback" not in result.output


def test_validate_missing_file_is_one_line(tmp_path):
    result = run("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1
    assert (
        result.stderr == f"{tmp_path / 'nope.yaml'}: cannot read file: No such file or directory\n"
    )


def test_usage_errors_exit_2():
    assert run("validate").exit_code == 2
    assert run("render", DEV, "--image", "nope").exit_code == 2
    assert run("render", DEV, "--image", "apim=sha256:short").exit_code == 2


def test_render_one_service_pinned():
    result = run("render", DEV, "--service", "apim", "--image", f"apim={DIGEST}")
    assert result.exit_code == 0
    task = json.loads(result.stdout)
    assert task["family"] == "dev-apim"
    assert task["containerDefinitions"][0]["image"].endswith(f"/wso2am@{DIGEST}")
    assert result.stderr == ""


def test_render_without_image_says_it_uses_a_placeholder():
    result = run("render", DEV)
    assert result.exit_code == 0
    assert sorted(json.loads(result.stdout)) == ["apim", "mi"]
    assert result.stderr.splitlines()[0] == (
        "apim: no --image given; using the placeholder digest sha256:" + "0" * 64
    )


def test_render_takes_a_full_image_uri():
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/wso2am:4.7.0-9@{DIGEST}"
    result = run("render", DEV, "--service", "apim", "--image", f"apim={uri}")
    container = json.loads(result.stdout)["containerDefinitions"][0]
    assert container["dockerLabels"]["berth.image.tag"] == "4.7.0-9"


def test_every_command_has_help_with_examples():
    import click

    def leaves(group: click.Group, prefix: list[str]) -> list[list[str]]:
        found: list[list[str]] = []
        for name, command in group.commands.items():
            path = [*prefix, name]
            found += leaves(command, path) if isinstance(command, click.Group) else [path]
        return found

    commands = leaves(main, [])
    assert ["sandbox", "push"] in commands and ["approve"] in commands
    for args in commands:
        result = run(*args, "--help")
        assert result.exit_code == 0 and "Example" in result.output, args


def test_validate_with_a_stage_checks_what_the_stage_lets_a_spec_reach(tmp_path):
    spec = tmp_path / "dev.yaml"
    spec.write_text(
        (EXAMPLES / "wso2-dev.yaml").read_text().replace("repository: wso2mi", "repository: other", 1)
    )
    runner = CliRunner()
    assert runner.invoke(main, ["validate", str(spec)]).exit_code == 0
    result = runner.invoke(main, ["validate", "--stage", "dev", str(spec)])
    assert result.exit_code == 1
    line = next(i for i, t in enumerate(spec.read_text().splitlines(), 1) if "repository: other" in t)
    assert result.stderr.splitlines() == [
        f"{spec}:{line}:13: services.mi.image.repository: 'other' is not a repository this stage "
        "deploys from (berth-keystore-init, wso2am, wso2ei, wso2mi)"
    ]
    unknown = runner.invoke(main, ["validate", "--stage", "qa", str(spec)])
    assert unknown.exit_code == 2 and "has no stage 'qa' (dev, prod)" in unknown.stderr


def test_the_printed_exports_are_what_bash_reads_back():
    # Issue 32: unquoted, `export BERTH_ENVIRONMENT_CLUSTERS=dev=wso2-dev;prod=wso2-prod` ended at
    # `;` in bash and the prod environment was lost.
    import shutil
    import subprocess

    from berth.cli.sandbox_commands import export_lines

    variables = {
        "BERTH_ENVIRONMENT_CLUSTERS": "dev=wso2-dev;prod=wso2-prod",
        "BERTH_QUOTED": "it's $HOME `x` \"y\" a b",
        "BERTH_EMPTY": "",
    }
    bash = shutil.which("bash")
    assert bash is not None
    script = "\n".join([*export_lines(variables), *(f'printf "%s\\0" "${k}"' for k in variables)])
    out = subprocess.run([bash, "-c", script], capture_output=True, check=True, text=True).stdout
    assert out.split("\0")[:-1] == list(variables.values())


def test_every_option_has_help_and_every_stage_command_is_named_in_berth_help():
    # Issue 32: `history --limit` had no help, and `berth --help` left `approve` out.
    import click

    from berth.cli import main

    def commands(group: click.Group) -> list[tuple[str, click.Command]]:
        found: list[tuple[str, click.Command]] = []
        for name, command in group.commands.items():
            found += commands(command) if isinstance(command, click.Group) else [(name, command)]
        return found

    unhelped = [
        (name, option.opts[0])
        for name, command in commands(main)
        for option in command.params
        if isinstance(option, click.Option) and not option.hidden and not option.help
    ]
    assert unhelped == []
    staged = sorted(
        name for name, command in main.commands.items()
        if any("--profile" in p.opts for p in command.params)  # reaches a deployed stage
    )  # fmt: skip
    intro = (main.help or "").split("\b", 1)[-1]
    assert [name for name in staged if name not in intro] == []


# ---- outside the sandbox: what to do next (issue 32) ------------------------------------------

SANDBOX_HINT = "run `berth sandbox up` in another shell and paste the export lines it prints here"


def run_berth(monkeypatch, capsys, *args: str) -> tuple[int, list[str]]:
    """The console script's entry (`berth.cli:run`), which words failures: exit status and
    standard error's lines."""
    import sys

    import pytest

    from berth.cli import run as entry

    monkeypatch.setattr(sys, "argv", ["berth", *args])
    with pytest.raises(SystemExit) as exited:
        entry()
    return int(exited.value.code or 0), capsys.readouterr().err.splitlines()


def test_without_credentials_the_cli_says_how_to_reach_a_stage_or_the_sandbox(
    monkeypatch, capsys, tmp_path
):
    # Given no credentials anywhere in the standard chain (botocore then raises
    # NoCredentialsError on the first call)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # When a stage command runs
    status, lines = run_berth(monkeypatch, capsys, "status")
    # Then one line says how to point it at a stage, or at the sandbox
    assert status == 1
    assert lines == [
        "berth: Scan failed: NoCredentialsError: Unable to locate credentials. No AWS "
        "credentials: for a deployed stage, give them as for the AWS CLI (aws configure, "
        "AWS_PROFILE or --profile) and name the stage with --stage (default dev, or BERTH_STAGE); "
        f"to try Berth locally, {SANDBOX_HINT} (AWS_ENDPOINT_URL and the sandbox's credentials)"
    ]


def test_with_nothing_at_the_endpoint_the_cli_says_to_start_the_sandbox(monkeypatch, capsys):
    # Given AWS_ENDPOINT_URL names a port where nothing listens (a sandbox that was stopped)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    status, lines = run_berth(monkeypatch, capsys, "history", "dev", "apim")
    assert status == 1
    assert lines == [
        'berth: Query failed: EndpointConnectionError: Could not connect to the endpoint URL: '
        '"http://127.0.0.1:1/". Nothing answers at AWS_ENDPOINT_URL (http://127.0.0.1:1): if '
        f"that is a sandbox, {SANDBOX_HINT}; to reach AWS itself, unset AWS_ENDPOINT_URL and "
        "name the stage with --stage (default dev, or BERTH_STAGE)"
    ]


def test_an_unreachable_aws_without_an_endpoint_variable_names_the_network_and_the_sandbox(
    monkeypatch,
):
    from botocore.exceptions import EndpointConnectionError

    from berth.cli.failure import told
    from chalicelib.adapters import as_aws_failure

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    url = "https://dynamodb.us-east-1.amazonaws.com/"
    failure = as_aws_failure("Scan", EndpointConnectionError(endpoint_url=url))
    assert told(failure) == (
        f'berth: Scan failed: EndpointConnectionError: Could not connect to the endpoint URL: "{url}"'
        ". AWS cannot be reached from here: check the network, a proxy and --region; to try "
        f"Berth locally, {SANDBOX_HINT}"
    )


def test_a_stage_whose_table_is_not_there_says_to_check_the_stage(monkeypatch):
    from botocore.exceptions import ClientError

    from berth.cli.failure import told
    from chalicelib.adapters import as_aws_failure

    error = {"Error": {"Code": "ResourceNotFoundException", "Message": "Requested resource not found"}}
    failure = as_aws_failure("Scan", ClientError(error, "Scan"))
    assert told(failure) == (
        "berth: Scan failed: ResourceNotFoundException: Requested resource not found. The "
        "stage's table or bucket is not there: check --stage (default dev, or BERTH_STAGE) and "
        "--region, or name them with --deployments-table, --specs-table and --spec-bucket "
        "(`berth sandbox up` prints the sandbox's)"
    )


def test_the_region_comes_from_aws_region_as_the_sandbox_prints_it(monkeypatch):
    # botocore reads only AWS_DEFAULT_REGION; `berth sandbox up` and the SDKs' guide say
    # AWS_REGION, and `--region`'s help promises it.
    from berth.commands.connect import connect

    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert connect("dev", None, None).region == "eu-west-1"


def test_a_push_with_the_sandbox_stopped_says_to_start_it(monkeypatch):
    # It said "unexpected EndpointConnectionError" (set BERTH_DEBUG=1 for details).
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    result = run("sandbox", "push", "wso2am:4.7.0-9")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"berth: no sandbox answers at AWS_ENDPOINT_URL (http://127.0.0.1:1): {SANDBOX_HINT}, "
        "then push again"
    ]
