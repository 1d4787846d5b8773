"""The embedded default end to end: the demo, replay of every AWS sample, clean shutdown."""

from __future__ import annotations

import json
import threading

import pytest
from click.testing import CliRunner

from chalicelib.cli import main
from chalicelib.sandbox.demo import run_demo
from chalicelib.sandbox.sandbox import Sandbox
from chalicelib.sandbox.server import NonLoopbackRequest
from tests.conftest import EVENTS, EXAMPLES


def test_the_demo_observes_every_expected_outcome():
    lines: list[str] = []
    assert run_demo(rollout_seconds=0.0, show_json=False, echo=lines.append)
    text = "\n".join(lines)
    assert "7/7 expected outcomes observed" in text
    assert "[dev] apim 4.7.0-3 FAILED, rolled back to 4.7.0-2" in text
    assert "duplicate delivery, nothing done" in text
    assert not [line for line in lines if line.strip().startswith("FAIL ")]


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
