"""The embedded default end to end: the demo, replay of every AWS sample, clean shutdown."""

from __future__ import annotations

import json
import re
import threading

import pytest
from click.testing import CliRunner

from berth.cli import main
from berth.sandbox.demo import run_demo
from berth.sandbox.sandbox import Sandbox
from berth.sandbox.server import NonLoopbackRequest
from tests.conftest import EVENTS, EXAMPLES, ROOT

README = ROOT / "README.md"
WORDS = {9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}


def test_the_demo_observes_every_expected_outcome():
    lines: list[str] = []
    assert run_demo(rollout_seconds=0.0, show_json=False, echo=lines.append)
    text = "\n".join(lines)
    assert "10/10 expected outcomes observed" in text
    assert "[dev] apim 4.7.0-3 FAILED, rolled back to 4.7.0-2" in text
    # Blue/green (issue 18): verified and deployed, then a broken smoke API rolled back, with why.
    assert "[dev] apim 4.7.0-5 deployed" in text
    assert "verify_rollout -> SUCCEEDED" in text and "verify_rollout -> FAILED" in text
    assert "[dev] apim 4.7.0-6 FAILED, rolled back to 4.7.0-5" in text
    assert "Reason: Berth's verification failed at POST_TEST_TRAFFIC_SHIFT, before production " in (
        text
    )
    # The second delivery of the push finds the head already on its image (no idempotency table).
    assert "on_image_pushed -> ignored dev/apim: 4.7.0-4 (sha256:" in text
    assert ") is already the running image" in text
    assert not [line for line in lines if line.strip().startswith("FAIL ")]
    # The README lists the steps the demo takes, and counts the outcomes it checks (issue 32:
    # it listed nine steps and left out the first push, while the demo printed ten).
    steps = [line.split(".")[0] for line in lines if re.match(r"\d+\. ", line)]
    section = README.read_text().split("## What `make demo` shows")[1].split("\n## ")[0]
    listed = re.findall(r"^(\d+)\. ", section, re.M)
    assert listed == steps == [str(n) for n in range(len(steps))]
    [checked] = re.findall(r"(\d+)/\1 expected outcomes observed", text)
    assert f"It takes {WORDS[len(steps)]} steps and checks {WORDS[int(checked)]}" in " ".join(
        section.split()
    )
    assert f"`{checked}/{checked} expected outcomes observed`" in section



@pytest.mark.parametrize("sample", sorted(p.name for p in EVENTS.glob("*.json")))
def test_replay_handles_or_ignores_every_aws_sample(sample):
    result = CliRunner().invoke(
        main, ["sandbox", "replay", str(EVENTS / sample), "--spec", str(EXAMPLES / "wso2-dev.yaml")]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines and lines[0]["kind"] in ("delivery", "ignored")
    assert not [
        line for line in lines if line["kind"] == "ecs"
    ]  # samples name other accounts' resources


def test_the_readme_replay_example_ends_in_a_deployment():
    # Issue 13: the README's replay example ended in "ignored" (the AWS sample names another
    # repository and region), and edited to match, it failed on the example's subnets.
    event = EXAMPLES / "events" / "ecr-image-push-wso2am.json"
    assert f"berth sandbox replay examples/events/{event.name} --spec examples/wso2-dev.yaml" in (
        EXAMPLES.parent / "README.md"
    ).read_text()
    result = CliRunner().invoke(
        main, ["sandbox", "replay", str(event), "--spec", str(EXAMPLES / "wso2-dev.yaml")]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["action"] for o in lines[0]["result"]["outcomes"]] == ["started"]
    assert [line["operation"] for line in lines if line["kind"] == "ecs"] == [
        "RegisterTaskDefinition",
        "CreateService",
    ]
    # The one event is delivered, not ECS's outcome that follows it; the stage's default tells
    # a deployment's outcome only (BERTH_NOTIFY_STARTED), so nothing is told yet.
    assert [line for line in lines if line["kind"] == "notification"] == []


def test_replay_of_a_malformed_event_exits_1_with_a_reason(tmp_path):
    event = json.loads((EVENTS / "ecr-image-push.json").read_text())
    del event["detail"]["image-digest"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(event))
    result = CliRunner().invoke(main, ["sandbox", "replay", str(path)])
    assert result.exit_code == 1
    [line] = [json.loads(x) for x in result.stdout.splitlines()]
    assert (
        line["result"]["outcomes"][0]["reason"]
        == "malformed event: detail.image-digest: Field required"
    )
    truncated = tmp_path / "truncated.json"
    truncated.write_text('{"version": "0", "detail": {')
    result = CliRunner().invoke(main, ["sandbox", "replay", str(truncated)])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reason"].startswith("not JSON: ")


def test_the_sandbox_stops_cleanly_and_refuses_non_loopback_addresses():
    before = set(threading.enumerate())
    with Sandbox(rollout_seconds=0.0) as box:
        import boto3

        outside = boto3.client(
            "sts", endpoint_url="https://sts.amazonaws.com", region_name="us-east-1"
        )
        with pytest.raises(NonLoopbackRequest):
            outside.get_caller_identity()
        assert box.endpoint.startswith("http://127.0.0.1:")
    leaked = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert leaked == []


def test_up_serves_a_push_from_another_process_and_stops_on_ctrl_c(tmp_path):
    import os
    import shlex
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    berth = str(Path(sys.executable).parent / "berth")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    up = subprocess.Popen(
        [berth, "sandbox", "up", "--rollout-seconds", "0.1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        exported: dict[str, str] = {}
        for line in up.stdout:
            if line.strip().startswith("export "):
                # Shell syntax: values are quoted (shlex.quote), as bash reads them.
                [assignment] = shlex.split(line.strip().removeprefix("export "))
                key, _, value = assignment.partition("=")
                exported[key] = value
            if line.startswith("Ctrl-C stops it."):
                break
        assert exported["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
        pushed = subprocess.run(
            [berth, "sandbox", "push", "wso2am:4.7.0-1"],
            env={**env, **exported},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert pushed.returncode == 0 and pushed.stdout.startswith("pushed wso2am:4.7.0-1 (sha256:")
        deadline = time.monotonic() + 30
        seen = ""
        while time.monotonic() < deadline and "on_image_pushed" not in seen:
            seen += up.stdout.readline()
        assert "on_image_pushed -> ignored: no accepted spec tracks wso2am" in seen
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=30)
    assert up.returncode == 0 and "stopped" in out


def test_push_refuses_a_non_loopback_endpoint():
    result = CliRunner().invoke(
        main, ["sandbox", "push", "wso2am:1"], env={"AWS_ENDPOINT_URL": "https://ecr.example.com"}
    )
    assert result.exit_code == 1
    assert (
        result.stderr
        == "berth: set AWS_ENDPOINT_URL to the sandbox endpoint printed by `berth sandbox up`\n"
    )
