"""The operator's commands (deploy, diff, status, history) against a running sandbox, as a user
runs them: through click's runner with the variables `berth sandbox up` prints, while a thread
turns the sandbox as `up` does."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from berth.cli import main
from berth.sandbox.names import BUCKET
from berth.sandbox.sandbox import example_spec
from chalicelib.spec.fence import FENCE_VARIABLES
from chalicelib.spec.parse import parse_spec
from chalicelib.values.records import SPEC_SERVICE
from tests.conftest import ROOT


@contextmanager
def turned(box):
    """The sandbox turned in the background, as `berth sandbox up` turns it (nothing else may
    turn it meanwhile)."""
    stop = threading.Event()

    def turn():
        while not stop.is_set():
            if not box.step():
                time.sleep(0.02)

    thread = threading.Thread(target=turn, daemon=True)
    thread.start()
    try:
        yield box
    finally:
        stop.set()
        thread.join(timeout=30)


def deploy_waiting(box, *args):
    with turned(box):
        return berth(box, "deploy", *args, "--wait", "--interval", "0.05")


@pytest.fixture
def spec_file(sandbox, tmp_path):
    path = tmp_path / "wso2.yaml"
    path.write_text(sandbox.adapt_spec(example_spec()))
    return path


def berth(box, *args, input=None):
    return CliRunner().invoke(main, list(args), env=box.env_vars(), input=input)


FIRST_BUILDS = {"apim": ("wso2am", "4.7.0-1"), "mi": ("wso2mi", "4.4.0-1")}


def order() -> list[str]:
    """The example's deployment order (whichever of apim and mi it deploys first)."""
    return parse_spec(example_spec().encode(), "example").deployment_order()


def push_first_builds(box):
    box.push("wso2am", "4.7.0-1")
    box.push("wso2mi", "4.4.0-1")
    box.run_until_idle()


def deployed(box, spec_file):
    push_first_builds(box)
    box.upload_spec(spec_file.read_text())
    box.run_until_idle()


# ---- deploy ----------------------------------------------------------------------------------------


def test_deploy_wait_follows_the_upload_to_every_outcome(sandbox, spec_file):
    # Given the tracked images in ECR
    push_first_builds(sandbox)
    # When the spec is deployed and followed
    result = deploy_waiting(sandbox, str(spec_file))
    # Then the upload is named by its version, and every service ends COMPLETED in order
    assert result.exit_code == 0, result.output
    first, *progress, last = result.stdout.splitlines()
    match = re.fullmatch(rf"uploaded s3://{BUCKET}/specs/dev/wso2.yaml version (\S+)", first)
    assert match is not None
    assert last == f"deployed: {', '.join(order())}"
    assert "apim: COMPLETED 4.7.0-1" in "\n".join(progress)
    assert [p.split()[:2] for p in progress if "COMPLETED" in p] == [
        [f"{name}:", "COMPLETED"] for name in order()
    ]
    [record] = history_of(sandbox, "apim")
    assert record.trigger.spec.version_id == match.group(1)


def history_of(box, service):
    from chalicelib import handlers

    return handlers.berth().store.history("dev", service, 20)


def test_deploy_wait_of_an_unchanged_spec_says_nothing_to_deploy(sandbox, spec_file):
    deployed(sandbox, spec_file)
    result = deploy_waiting(sandbox, str(spec_file))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == (
        "nothing to deploy: every service already runs what the spec renders"
    )


def test_deploy_wait_exits_1_when_berth_rejects_the_upload(sandbox, spec_file):
    # No image follows the tracks yet: Berth rejects the spec as it plans it.
    result = deploy_waiting(sandbox, str(spec_file))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert "spec: REJECTED (the spec could not be planned)" in lines
    assert any("no image in ECR repository 'wso2am'" in line for line in lines)
    assert lines[-1] == f"not deployed: {SPEC_SERVICE} REJECTED"


def test_deploy_wait_exits_1_and_names_the_cause_when_a_rollout_fails(sandbox, spec_file):
    # The service deployed first never passes its health check; its dependent never starts.
    first, then = order()
    for name, (repository, tag) in FIRST_BUILDS.items():
        sandbox.push(repository, tag, broken_health_check=name == first)
    sandbox.run_until_idle()
    result = deploy_waiting(sandbox, str(spec_file))
    assert result.exit_code == 1, result.output
    text = result.stdout
    tag = re.escape(FIRST_BUILDS[first][1])
    assert re.search(rf"^{first}: (FAILED|ROLLED_BACK) {tag}", text, re.M)
    assert f"{then}: SKIPPED" in text
    assert "health" in text.lower()
    assert text.splitlines()[-1].startswith(f"not deployed: {first} ")


def test_deploy_refuses_an_invalid_spec_locally_and_uploads_nothing(sandbox, tmp_path):
    bad = tmp_path / "wso2.yaml"
    bad.write_text(sandbox.adapt_spec(example_spec()).replace("memory: 2048", "memory: 5"))
    result = berth(sandbox, "deploy", str(bad))
    assert result.exit_code == 1
    assert re.match(rf"{re.escape(str(bad))}:\d+:\d+: services\.mi\.memory: ", result.stderr)
    assert "Contents" not in sandbox.client("s3").list_objects_v2(Bucket=BUCKET)


def test_deploy_checks_the_stage_fence_and_the_environment(sandbox, spec_file):
    other = spec_file.with_name("other.yaml")
    other.write_text(spec_file.read_text().replace("repository: wso2mi", "repository: other"))
    fenced = berth(sandbox, "deploy", str(other))
    assert fenced.exit_code == 1 and "not a repository this stage deploys from" in fenced.stderr
    wrong = berth(sandbox, "deploy", str(spec_file), "--env", "prod")
    assert wrong.exit_code == 2 and "the spec is for environment 'dev'" in wrong.stderr


def test_deploy_reads_stdin_and_gives_up_after_its_timeout(sandbox, spec_file):
    result = berth(
        sandbox, "deploy", "-", "--wait", "--timeout", "0.2", "--interval", "0.05",
        input=spec_file.read_text(),
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.stdout.startswith(f"uploaded s3://{BUCKET}/specs/dev/spec.yaml version ")
    assert isinstance(result.exception, SystemExit) or "gave up waiting after 0.2 s" in str(
        result.exception
    )


# ---- diff ------------------------------------------------------------------------------------------


def test_diff_before_anything_runs_says_what_would_be_created(sandbox, spec_file):
    push_first_builds(sandbox)
    result = berth(sandbox, "diff", str(spec_file))
    assert result.exit_code == 1, result.output
    assert "apim: service would be created (4.7.0-1, sha256:" in result.stdout
    assert "+++ rendered dev-apim with 4.7.0-1" in result.stdout


def test_diff_of_what_runs_is_empty_and_exits_0(sandbox, spec_file):
    deployed(sandbox, spec_file)
    result = berth(sandbox, "diff", str(spec_file))
    assert result.exit_code == 0, result.output
    assert result.stdout == f"no change: {', '.join(order())}\n"


def test_diff_shows_only_real_changes_coloured_on_request(sandbox, spec_file):
    deployed(sandbox, spec_file)
    changed = spec_file.with_name("changed.yaml")
    document = yaml.safe_load(spec_file.read_text())
    mi = document["services"]["mi"]
    mi.update(memory=3072, desiredCount=mi["desiredCount"] + 1)
    changed.write_text(yaml.safe_dump(document))
    result = berth(sandbox, "diff", str(changed), "--color")
    assert result.exit_code == 1, result.output
    plain = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert "\x1b[31m" in result.stdout and "\x1b[32m" in result.stdout
    assert "mi: new task definition revision (4.4.0-1, sha256:" in plain
    assert '-  "memory": "2048",' in plain and '+  "memory": "3072",' in plain
    count = mi["desiredCount"]
    assert f'-  "desiredCount": {count - 1},' in plain and f'+  "desiredCount": {count},' in plain
    assert plain.splitlines()[-1] == "no change: apim"
    # Only what Berth owns: nothing ECS adds to a description shows up.
    for added in ("registeredAt", "requiresAttributes", "enableFaultInjection", "revision"):
        assert f'"{added}"' not in plain


def test_diff_says_when_berth_would_refuse_and_exits_2_on_trouble(sandbox, spec_file, tmp_path):
    refused = berth(sandbox, "diff", str(spec_file))
    assert refused.exit_code == 1
    assert "apim: Berth would refuse this" in refused.stdout
    invalid = tmp_path / "bad.yaml"
    invalid.write_text("berth: 1\n")
    assert berth(sandbox, "diff", str(invalid)).exit_code == 2
    missing = berth(sandbox, "diff", str(spec_file), "--deployments-table", "nope")
    assert missing.exit_code == 2
    assert missing.stderr.startswith("berth: GetItem failed: ResourceNotFoundException")


def test_diff_judges_a_service_the_stage_lets_the_environment_adopt_as_the_upload_does(sandbox, spec_file):
    # An untagged apim made by hand: the upload refuses it unless BERTH_ENVIRONMENT_ADOPT lists
    # it (tests/integration/test_deploy.py), and diff must say the same in both cases.
    from tests.integration.test_deploy import hand_made_apim

    hand_made_apim(sandbox)
    push_first_builds(sandbox)
    refused = berth(sandbox, "diff", str(spec_file))
    assert "apim: Berth would refuse this" in refused.stdout
    adopt = {**sandbox.env_vars(), "BERTH_ENVIRONMENT_ADOPT": "dev=wso2-dev/apim"}
    adopted = CliRunner().invoke(main, ["diff", str(spec_file)], env=adopt)
    assert adopted.exit_code == 1, adopted.output
    assert "apim: Berth would refuse this" not in adopted.stdout
    assert "apim: new task definition revision (4.7.0-1, sha256:" in adopted.stdout


SIDECAR_STAGE_REPOSITORIES = "wso2am,wso2ei,wso2mi,aws-for-fluent-bit,berth-keystore-init"


def test_diff_pins_a_tracked_sidecar_as_the_upload_does(sandbox, tmp_path):
    from tests.integration.test_sidecars import (
        INIT_DIGEST,
        operator_adds_sidecar_repositories,
        sidecar_example,
    )

    # Given the sidecar example with keystore-init tracking 1.*, deployed
    operator_adds_sidecar_repositories(sandbox)
    push_first_builds(sandbox)
    sandbox.push("berth-keystore-init", "1.0.1")
    tracked = "{repository: berth-keystore-init, track: '1.*'}"
    text = sidecar_example(sandbox).replace(f"berth-keystore-init:1.0.0@{INIT_DIGEST}", tracked)
    sandbox.upload_spec(text)
    sandbox.run_until_idle()
    path = tmp_path / "sidecars.yaml"
    path.write_text(text)
    env = {**sandbox.env_vars(), "BERTH_IMAGE_REPOSITORIES": SIDECAR_STAGE_REPOSITORIES}

    def diff() -> tuple[int, str]:
        result = CliRunner().invoke(main, ["diff", str(path)], env=env)
        return result.exit_code, result.output

    # Then diff renders the sidecar's recorded digest, not a placeholder: nothing to change
    assert diff() == (0, "no change: apim, mi\n")
    # As the upload would, it keeps what the head records while that follows the track, even
    # with a newer tag in ECR (a push deploys that one, not a diff).
    sandbox.push("berth-keystore-init", "1.0.2")
    assert diff() == (0, "no change: apim, mi\n")


# ---- status and history ---------------------------------------------------------------------------


def test_status_shows_what_runs_as_a_table_and_json(sandbox, spec_file):
    deployed(sandbox, spec_file)
    digest = sandbox.push("wso2am", "4.7.0-9")
    sandbox.run_until_idle()
    table = berth(sandbox, "status")
    assert table.exit_code == 0, table.output
    header, *rows = table.stdout.splitlines()
    assert header.split()[:4] == ["ENV", "SERVICE", "TAG", "DIGEST"]
    apim = next(r.split() for r in rows if r.split()[1] == "apim")
    assert apim[:6] == ["dev", "apim", "4.7.0-9", digest[7:19], "dev-apim:2", "COMPLETED"]
    assert apim[7] == "COMPLETED"
    as_json = json.loads(berth(sandbox, "status", "dev", "--json").stdout)
    [entry] = [e for e in as_json if e["service"] == "apim"]
    assert entry["running"]["digest"] == digest
    assert entry["last"]["trigger"]["kind"] == "image"
    unknown = berth(sandbox, "status", "qa")
    assert unknown.exit_code == 1
    assert "no accepted spec for environment 'qa' (environments: dev)" in str(unknown.exception)


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.links += [v for k, v in attrs if k in ("src", "href") and v]
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def test_status_html_is_one_escaped_self_contained_page(sandbox, spec_file, tmp_path):
    deployed(sandbox, spec_file)
    sandbox.push("wso2am", "4.7.0-2", broken_health_check=True)
    sandbox.run_until_idle()
    # An upload Berth rejects, whose error quotes markup from the file.
    hostile = "<img src=x onerror=alert(1)>"
    sandbox.upload_spec(spec_file.read_text() + f'"{hostile}": 1\n', name="bad.yaml")
    sandbox.run_until_idle()
    page_file = tmp_path / "status.html"
    result = berth(sandbox, "status", "--html", str(page_file))
    assert result.exit_code == 0, result.output
    page = Page()
    page.feed(page_file.read_text())
    assert "img" not in page.tags and "script" not in page.tags and page.links == []
    text = "".join(page.text)
    assert hostile in text
    rows = {r[0]: r for r in page.rows if r and r[0] != "SERVICE"}
    assert rows["apim"][1] == "4.7.0-1" and rows["apim"][5] in ("ROLLED_BACK", "FAILED")
    assert rows["mi"][5] == "COMPLETED"
    assert rows["spec uploads"][5] == "REJECTED"
    assert text.count("4.7.0-2") >= 1 and "push wso2am:4.7.0-2" in text
    chromium = shutil.which("chromium")
    if chromium is None:
        return  # rendered only where Debian's chromium is installed
    png = tmp_path / "status.png"
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={png}",
         "--window-size=1280,1024", page_file.as_uri()],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    assert png.stat().st_size > 10_000


def test_history_lists_records_newest_first_with_triggers_and_causes(sandbox, spec_file):
    deployed(sandbox, spec_file)
    sandbox.push("wso2am", "4.7.0-2", broken_health_check=True)
    sandbox.run_until_idle()
    result = berth(sandbox, "history", "dev", "apim")
    assert result.exit_code == 0, result.output
    firsts = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert re.search(r"(FAILED|ROLLED_BACK)\s+4\.7\.0-2\s+push wso2am:4\.7\.0-2$", firsts[0])
    assert re.search(rf"COMPLETED\s+4\.7\.0-1\s+spec s3://{BUCKET}/specs/dev/wso2.yaml@", firsts[1])
    causes = result.stdout.split(firsts[1])[0]
    assert "health" in causes.lower()
    lines = berth(sandbox, "history", "dev", "apim", "--limit", "1", "--json").stdout.splitlines()
    assert [json.loads(line)["image"]["tag"] for line in lines] == ["4.7.0-2"]
    none = berth(sandbox, "history", "dev", "nope")
    assert none.exit_code == 1 and none.stderr == "berth: no deployment records for dev/nope\n"


# ---- one line, no traceback -----------------------------------------------------------------------


def run_berth(monkeypatch, capsys, *args, env=None):
    from berth.cli import run

    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr("sys.argv", ["berth", *args])
    with pytest.raises(SystemExit) as exited:
        run()
    return exited.value.code, capsys.readouterr()


def test_aws_failures_are_one_line(sandbox, spec_file, monkeypatch, capsys):
    env = sandbox.env_vars()
    code, out = run_berth(
        monkeypatch, capsys, "deploy", str(spec_file), "--spec-bucket", "nope", env=env
    )
    assert code == 1
    assert out.err == (
        "berth: PutObject failed: NoSuchBucket: The specified bucket does not exist. The "
        "stage's table or bucket is not there: check --stage (default dev, or BERTH_STAGE) and "
        "--region, or name them with --deployments-table, --specs-table and --spec-bucket "
        "(`berth sandbox up` prints the sandbox's)\n"
    )
    code, out = run_berth(monkeypatch, capsys, "status", "--profile", "nope", env=env)
    assert code == 1 and out.err == "berth: The config profile (nope) could not be found\n"
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    code, out = run_berth(monkeypatch, capsys, "status")
    assert code == 1 and out.err.startswith("berth: no AWS region: pass --region")


def test_the_stage_names_its_resources_from_the_account(sandbox, spec_file, monkeypatch):
    # Without BERTH_SPEC_BUCKET the bucket is the stage's: berth-specs-<account>-<stage>, the
    # account from STS GetCallerIdentity.
    # (The fence stays: the sandbox's network is not the one .chalice/config.json declares.)
    kept = {k: v for k, v in sandbox.env_vars().items() if k in FENCE_VARIABLES}
    env = {k: v for k, v in sandbox.env_vars().items() if not k.startswith("BERTH_")} | kept
    for key in list(sandbox.env_vars()):
        if key.startswith("BERTH_") and key not in kept:
            monkeypatch.delenv(key, raising=False)
    result = CliRunner().invoke(main, ["deploy", str(spec_file)], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("uploaded s3://berth-specs-123456789012-dev/specs/dev/")


def test_version_and_validate_from_stdin():
    version = CliRunner().invoke(main, ["--version"])
    assert version.exit_code == 0 and re.fullmatch(r"berth, version \d+\.\d+\.\d+\n", version.stdout)
    text = example_spec()
    valid = CliRunner().invoke(main, ["validate", "-"], input=text)
    assert valid.exit_code == 0 and valid.stdout.startswith("<stdin>: valid (dev: ")
    broken = CliRunner().invoke(main, ["validate", "-"], input="berth: 1\nenvironment: dev\n")
    assert broken.exit_code == 1
    assert broken.stderr.splitlines()[0].startswith("<stdin>:")


def test_every_operator_command_has_help_with_examples():
    for command in ("deploy", "diff", "status", "history", "rollback", "promote", "approve"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Example" in result.output
        for option in ("--stage", "--profile", "--region"):
            assert option in result.output



# ---- the README's sandbox tour, in bash, as written ---------------------------------------------


def _tour_lines() -> list[str]:
    """Every line of the shell blocks of the README's "The sandbox tour", in order, comments kept
    (a reader copies them; bash ignores them)."""
    readme = (ROOT / "README.md").read_text()
    tour = readme.split("\n## The sandbox tour\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", tour, re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def _command(line: str) -> str:
    return line.split("  #", maxsplit=1)[0].strip()


def _readme_session() -> tuple[str, list[str]]:
    up, *session = (_command(line) for line in _tour_lines())
    return up, session


def test_up_help_suggests_only_what_the_readme_session_runs():
    _, session = _readme_session()
    helped = CliRunner().invoke(main, ["sandbox", "up", "--help"]).output
    suggested = [line.strip() for line in helped.splitlines() if line.strip().startswith("berth ")]
    assert suggested and "berth sandbox up --seed" in suggested
    ran = {line.removeprefix(".venv/bin/") for line in session} | {"berth sandbox up --seed"}
    assert set(suggested) <= ran
    assert "aws s3 cp" not in helped


def _status_row(out: str, service: str) -> list[str]:
    return next(r.split() for r in out.splitlines() if r.startswith(f"dev  {service} "))


def _replayed(out: str) -> bool:
    lines = [json.loads(line) for line in out.splitlines()]
    operations = [line["operation"] for line in lines if line["kind"] == "ecs"]
    started = [o["action"] for o in lines[0]["result"]["outcomes"]] == ["started"]
    return started and operations == ["RegisterTaskDefinition", "CreateService"]


# What each tour line shows, as its comment in the README says (a line without a check here fails
# the test: the README may not grow a step nobody ran).
TOUR_CHECKS = {
    "berth sandbox push wso2am:4.7.0-9": lambda out, cwd: out.startswith(
        "pushed wso2am:4.7.0-9 (sha256:"
    ),
    "berth status": lambda out, cwd: _status_row(out, "apim")[2] == "4.7.0-9"
    and _status_row(out, "apim")[5] == "COMPLETED"
    and _status_row(out, "mi")[2] == "4.4.0-1",
    "berth history dev apim": lambda out, cwd: bool(
        re.search(r"COMPLETED\s+4\.7\.0-9\s+push wso2am:4\.7\.0-9", out)
    ),
    "berth diff out/sandbox-wso2-dev.yaml": lambda out, cwd: out
    == f"no change: {', '.join(order())}\n",
    "berth deploy out/sandbox-wso2-dev.yaml --wait": lambda out, cwd: out.startswith(
        f"uploaded s3://{BUCKET}/specs/dev/wso2.yaml version "  # replaced the seeded spec file
    )
    and out.endswith("nothing to deploy: every service already runs what the spec renders\n"),
    "berth status --html out/status.html": lambda out, cwd: (cwd / "out" / "status.html")
    .read_text()
    .startswith("<!DOCTYPE html>"),
    "berth sandbox push --broken-health-check wso2am:4.7.0-10": lambda out, cwd: out.startswith(
        "pushed wso2am:4.7.0-10 (sha256:"
    ),
    "berth history dev apim --limit 1": lambda out, cwd: len(out.strip().splitlines()) >= 1
    and bool(re.search(r"ROLLED_BACK\s+4\.7\.0-10\s+push wso2am:4\.7\.0-10", out))
    and "4.7.0-9" not in out.split("ROLLED_BACK")[0],
    "berth sandbox replay examples/events/ecr-image-push-wso2am.json --spec examples/wso2-dev.yaml": (
        lambda out, cwd: _replayed(out)
    ),
}


def _told(line: str) -> list[str]:
    """What a tour line's comment says the first shell shows ("[dev] ... deployed")."""
    return re.findall(r'"(\[dev\][^"]+)"', line.partition("  #")[2])


def test_the_readme_tour_runs_in_bash_as_written(tmp_path):
    # Issue 32: a fresh clone's README tour runs end to end as written, in bash: `up` in one
    # shell, then in a second one the export lines it printed, pasted, and each tour line.
    # Given a directory laid out like the clone (its .venv and examples)
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    up_line, *lines = _tour_lines()
    assert _command(up_line) == ".venv/bin/berth sandbox up --seed"
    assert {_command(line).removeprefix(".venv/bin/") for line in lines} == set(TOUR_CHECKS)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    up = subprocess.Popen(
        ["bash", "-c", up_line], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        assert up.stdout is not None
        exports, seeded = _until_ready(up.stdout)
        assert all(told in seeded for told in _told(up_line)) and _told(up_line)
        pasted = "\n".join(exports) + "\n"

        def run(line: str) -> str:
            done = subprocess.run(
                ["bash", "-c", pasted + line], cwd=tmp_path, env=env, capture_output=True,
                text=True, timeout=120, check=False,
            )  # fmt: skip
            assert done.returncode == 0, (line, done.stdout, done.stderr)
            return done.stdout

        # When each line runs in the second shell, waiting for what the first shell shows
        for line in lines:
            out = run(line)
            for told in _told(line):
                _read_until(up.stdout, told)
            # Then each shows what the README says it shows
            check = TOUR_CHECKS[_command(line).removeprefix(".venv/bin/")]
            assert check(out, tmp_path), (line, out)
        # And every help example of the stage commands meant for the sandbox runs on it too
        from tests.unit.test_readme import help_examples

        on_sandbox = [
            line for _, line in help_examples()
            if line.split()[1] in ("deploy", "diff") and "--stage" not in line
        ]  # fmt: skip
        assert on_sandbox
        for line in on_sandbox:
            run(".venv/bin/" + line)
    finally:
        os.killpg(up.pid, signal.SIGINT)
        up.communicate(timeout=30)


def _until_ready(stdout) -> tuple[list[str], str]:
    """The export lines `berth sandbox up` printed, as a reader copies them, and all it printed."""
    exports: list[str] = []
    seen = ""
    for line in stdout:
        seen += line
        if line.strip().startswith("export "):
            exports.append(line.strip())
        if line.startswith("Ctrl-C stops it."):
            return exports, seen
    raise AssertionError(f"berth sandbox up ended early:\n{seen}")


def _read_until(stdout, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline and text not in seen:
        seen += stdout.readline()
    assert text in seen, seen


# ---- rollback and promote ---------------------------------------------------------------------------

CALLER = "arn:aws:sts::123456789012:user/moto"


def test_rollback_redeploys_the_image_before_what_runs_recorded_and_announced(sandbox, spec_file):
    from tests.integration.helpers import live_image

    # Given apim deployed at 4.7.0-1, then pushed to 4.7.0-9
    deployed(sandbox, spec_file)
    first = sandbox.client("ecr").describe_images(
        repositoryName="wso2am", imageIds=[{"imageTag": "4.7.0-1"}]
    )["imageDetails"][0]["imageDigest"]
    sandbox.push("wso2am", "4.7.0-9")
    sandbox.run_until_idle()
    sandbox.notifications.clear()
    # When the person on call rolls it back
    result = berth(sandbox, "rollback", "dev", "apim")
    sandbox.run_until_idle()
    # Then the image before 4.7.0-9 is started, and the override is said
    assert result.exit_code == 0, result.output
    started, note = result.stdout.splitlines()
    assert re.fullmatch(r"dev/apim: started 4\.7\.0-1 \(record D#\S+\)", started)
    assert note == (
        f"  rollback of apim to 4.7.0-1 ({first[:19]}) asked by {CALLER}; "
        'overrides "never older": 4.7.0-1 is older than the running 4.7.0-9'
    )
    # Recorded as a rollback by that person, completed through ECS's events as for a push
    record = history_of(sandbox, "apim")[0]
    assert record.status == "COMPLETED" and record.image.digest == first
    assert (record.trigger.kind, record.trigger.requested_by) == ("rollback", CALLER)
    assert record.trigger.note == note.strip()
    assert record.previous_image.tag == "4.7.0-9"
    assert live_image(sandbox, "apim").endswith(f"/wso2am@{first}")
    # Announced as a rollback, by whom
    subjects = [n.subject for n in sandbox.notifications]
    assert subjects == ["[dev] rollback: apim 4.7.0-1 deployed"]  # the outcome (no start by default)
    done = sandbox.notifications[-1]
    assert done.document["requested_by"] == CALLER
    # Told by ECS's event, started by the operator's rollback: a filter on either gets it.
    assert (done.attributes["trigger"], done.attributes["started_by"]) == ("ecs", "rollback")
    assert done.document["request"] == note.strip()
    assert done.document["summary"] == f"apim 4.7.0-1 is deployed to dev. Rollback asked by {CALLER}."
    assert f"Requested: {note.strip()}" in done.text
    # And history says so
    lines = berth(sandbox, "history", "dev", "apim").stdout.splitlines()
    assert re.search(rf"COMPLETED\s+4\.7\.0-1\s+rollback by {re.escape(CALLER)}$", lines[0])
    assert lines[1] == f"    {note.strip()}"


def test_rollback_to_a_recorded_tag_waits_and_refuses_what_it_cannot_do(sandbox, spec_file):
    deployed(sandbox, spec_file)
    sandbox.push("wso2am", "4.7.0-9")
    sandbox.run_until_idle()
    berth(sandbox, "rollback", "dev", "apim")
    sandbox.run_until_idle()
    # --to names a recorded tag (a newer one: nothing is overridden); --wait follows it
    with turned(sandbox):
        forward = berth(sandbox, "rollback", "dev", "apim", "--to", "4.7.0-9", "--wait",
                        "--interval", "0.05")  # fmt: skip
    assert forward.exit_code == 0, forward.output
    lines = forward.stdout.splitlines()
    assert lines[1].endswith(f"asked by {CALLER}")
    assert lines[-1].startswith("apim: COMPLETED 4.7.0-9 (ECS deployment ")
    # What cannot be done is said in one line, and nothing is recorded
    before = len(history_of(sandbox, "apim"))
    unknown = berth(sandbox, "rollback", "dev", "apim", "--to", "4.7.0-5")
    assert unknown.exit_code == 1
    assert str(unknown.exception) == "no deployment record of this service has the image '4.7.0-5'"
    running = berth(sandbox, "rollback", "dev", "apim", "--to", "4.7.0-9")
    assert str(running.exception).startswith("apim already runs 4.7.0-9 (sha256:")
    nowhere = berth(sandbox, "rollback", "qa", "apim")
    assert str(nowhere.exception) == "no accepted spec for environment 'qa'"
    assert len(history_of(sandbox, "apim")) == before


def test_rollback_to_an_image_ecr_no_longer_holds_is_rejected_and_recorded(sandbox, spec_file):
    deployed(sandbox, spec_file)
    sandbox.push("wso2am", "4.7.0-9")
    sandbox.run_until_idle()
    sandbox.client("ecr").batch_delete_image(
        repositoryName="wso2am", imageIds=[{"imageTag": "4.7.0-1"}]
    )
    result = berth(sandbox, "rollback", "dev", "apim")
    assert result.exit_code == 1
    first, note, error = result.stdout.splitlines()
    assert re.fullmatch(
        r"dev/apim: rejected \(record D#\S+\): ECR does not hold the image asked for; nothing "
        r"was deployed", first
    )
    assert note.startswith("  rollback of apim to 4.7.0-1 (sha256:")
    assert re.fullmatch(r"  ECR holds no image sha256:\w+ in wso2am: it was deleted, or the "
                        r"event did not come from ECR", error)  # fmt: skip
    record = history_of(sandbox, "apim")[0]
    assert (record.status, record.trigger.kind) == ("REJECTED", "rollback")


def test_rollback_waits_for_a_dependency_being_deployed(sandbox, spec_file):
    # Given mi at 4.4.0-2 after 4.4.0-1, and apim's push under way (delivered, not rolled out)
    deployed(sandbox, spec_file)
    sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()
    dependent = next(n for n in order() if parse_dependencies(n))
    dependency = parse_dependencies(dependent)[0]
    repository = {"apim": "wso2am", "mi": "wso2mi"}[dependency]
    sandbox.push(repository, FIRST_BUILDS[dependency][1][:-1] + "8")
    sandbox.pump()
    assert history_of(sandbox, dependency)[0].status == "IN_PROGRESS"
    # When the dependent is rolled back meanwhile
    result = berth(sandbox, "rollback", "dev", dependent)
    # Then it waits for its dependency, as a push would, and follows it
    assert result.exit_code == 0, result.output
    assert re.match(rf"dev/{dependent}: pending \S+ \(record D#\S+\): waiting for {dependency}$",
                    result.stdout.splitlines()[0])  # fmt: skip
    sandbox.run_until_idle()
    first, second = history_of(sandbox, dependency)[0], history_of(sandbox, dependent)[0]
    assert first.status == second.status == "COMPLETED"
    assert second.started_at >= first.finished_at


def parse_dependencies(service: str) -> list[str]:
    return list(parse_spec(example_spec().encode(), "example").services[service].depends_on)


def prod_spec(box, track: str) -> str:
    """The example as a prod environment of the same stage, its apim pinned to `track`."""
    text = box.adapt_spec(example_spec())
    for dev, prod in (("environment: dev", "environment: prod"), ("cluster: wso2-dev", "cluster: wso2-prod"),
                      ("-dev-dev", "-dev-prod"), ("wso2/dev/", "wso2/prod/"), ("apim-dev/", "apim-prod/"),
                      ("apim-dev-portals/", "apim-prod-portals/"),
                      ("/berth/dev", "/berth/prod"), ("wso2-dev.local", "wso2-prod.local")):  # fmt: skip
        text = text.replace(dev, prod)
    document = yaml.safe_load(text)
    document["services"]["apim"]["image"]["track"] = track
    # Outside development the gateway has its own host (chalicelib/spec/rules/hostnames.py).
    document["services"]["apim"]["environment"]["APIM_GATEWAY_HOSTNAME"] = "gw.example.com"
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/prod/"
    for name, service in document["services"].items():
        # prod allows no default keystore (defaultKeystores: false in its environments file): its own stores.
        service.setdefault("secrets", {}).update({
            "BERTH_KEYSTORE_B64": f"{secret}{name}-keystore",
            "KEYSTORE_PASSWORD": f"{secret}{name}-keystore-password",
            "BERTH_TRUSTSTORE_B64": f"{secret}truststore",
            "TRUSTSTORE_PASSWORD": f"{secret}truststore-password",
        })
        if service.get("product") == "wso2mi":
            # nor WSO2's admin/admin, nor APIM's super admin for the service catalog (issue 31)
            service["environment"]["APIM_SERVICE_CATALOG_USER"] = "mi-service-catalog"
            service["secrets"].pop("APIM_ADMIN_PASSWORD", None)
            service["secrets"] |= {
                "APIM_SERVICE_CATALOG_PASSWORD": f"{secret}mi-service-catalog-password",
                "MI_MANAGEMENT_PASSWORD": f"{secret}mi-management-password",
            }
    for service in document["services"].values():
        for ref in (service.get("secrets") or {}).values():
            with suppress(Exception):  # already created
                box.create_secret(ref)
    return yaml.safe_dump(document, sort_keys=False)


def test_promote_deploys_the_digest_another_environment_runs(sandbox, spec_file):
    # Given dev and prod at apim 4.7.0-1, prod pinned to it, and dev pushed to 4.7.0-9
    deployed(sandbox, spec_file)
    sandbox.upload_spec(prod_spec(sandbox, "4.7.0-1"), "prod")
    sandbox.run_until_idle()
    assert history_of_env(sandbox, "prod", "apim")[0].status == "COMPLETED"
    digest = sandbox.push("wso2am", "4.7.0-9")
    sandbox.run_until_idle()
    assert len(history_of_env(sandbox, "prod", "apim")) == 1
    sandbox.notifications.clear()
    # When dev's apim is promoted to prod
    with turned(sandbox):
        result = berth(sandbox, "promote", "apim", "--from", "dev", "--to", "prod", "--wait",
                       "--interval", "0.05")  # fmt: skip
    # Then prod runs dev's exact digest, recorded and announced as a promotion
    assert result.exit_code == 0, result.output
    started, note, *_, last = result.stdout.splitlines()
    assert re.fullmatch(r"prod/apim: started 4\.7\.0-9 \(record D#\S+\)", started)
    assert note == (
        f"  promotion of apim 4.7.0-9 ({digest[:19]}) from dev to prod asked by {CALLER}; "
        "overrides the track: tag 4.7.0-9 does not follow track '4.7.0-1'"
    )
    assert last.startswith("apim: COMPLETED 4.7.0-9 (ECS deployment ")
    record = history_of_env(sandbox, "prod", "apim")[0]
    assert record.image.digest == digest
    assert (record.trigger.kind, record.trigger.from_environment) == ("promote", "dev")
    subjects = [n.subject for n in sandbox.notifications]
    assert subjects == ["[prod] promotion: apim 4.7.0-9 deployed"]  # the outcome alone, by default
    done = sandbox.notifications[-1]
    assert done.document["request"] == note.strip()
    assert done.document["summary"] == (
        f"apim 4.7.0-9 is deployed to prod. Promotion from dev asked by {CALLER}."
    )
    # Promoting again: prod already runs it
    again = berth(sandbox, "promote", "apim", "--from", "dev", "--to", "prod")
    assert again.exit_code == 1
    assert str(again.exception) == f"apim already runs 4.7.0-9 ({digest[:19]}) in prod"
    same = berth(sandbox, "promote", "apim", "--from", "dev", "--to", "dev")
    assert str(same.exception) == "--from and --to are both 'dev'"


def history_of_env(box, environment, service):
    from chalicelib import handlers

    return handlers.berth().store.history(environment, service, 20)


def test_promote_waits_for_what_settled_unless_forced(sandbox, spec_file):
    # Issue 29: promoting while dev's deployment is in progress sent a build that could still fail.
    deployed(sandbox, spec_file)
    sandbox.upload_spec(prod_spec(sandbox, "4.7.0-1"), "prod")
    sandbox.run_until_idle()
    sandbox.push("wso2am", "4.7.0-9")
    sandbox.pump()  # the push's deployment has started in dev, not finished
    active = history_of_env(sandbox, "dev", "apim")[0]
    assert active.status == "IN_PROGRESS"
    # Nothing turns the sandbox meanwhile: dev's deployment stays in progress.
    refused = berth(sandbox, "promote", "apim", "--from", "dev", "--to", "prod")
    assert refused.exit_code == 1
    assert str(refused.exception) == (
        f"dev's apim is still being deployed (record {active.record_id}): promote once it "
        "completed there, or --force REASON"
    )
    assert len(history_of_env(sandbox, "prod", "apim")) == 1
    forced = berth(sandbox, "promote", "apim", "--from", "dev", "--to", "prod",
                   "--force", "hotfix CHG-7")  # fmt: skip
    assert forced.exit_code == 0, forced.output
    record = history_of_env(sandbox, "prod", "apim")[0]
    assert record.trigger.note.startswith("promotion of apim 4.7.0-9 (")
    assert (
        f"forced (hotfix CHG-7) although dev's apim is still being deployed (record "
        f"{active.record_id})" in record.trigger.note
    )
