"""Issue 28, forged batches: wide-run batches travel on the default bus with source `berth`, which
nothing reserves (only `aws.*` sources are), so any principal allowed events:PutEvents on the bus
can put one. Berth deployed the batch's own `trigger.image` for a run it may never have opened.
Now a batch is a reference proven against the run's record: a second principal's forged batch
does nothing but a log line and one security notification, a replayed real one a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from berth.sandbox.sandbox import REGION, Sandbox
from chalicelib import handlers
from chalicelib.flows import rollback
from chalicelib.values import triggers
from tests.integration.helpers import live_image
from tests.integration.test_wide_runs import SERVICES, wide_spec

FORGED_DIGEST = "sha256:" + "f" * 64
SERVICE_NAMES = [f"mi-{i:02d}" for i in range(SERVICES)]


class _Lines(logging.Handler):
    """The log lines Berth's handlers write (powertools logs through the `berth` logger)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def refused(self) -> list[dict[str, Any]]:
        return [
            {"reason": r.__dict__.get("reason"), "forged": r.__dict__.get("forged")}
            for r in self.records
            if r.getMessage() == "batch refused"
        ]


@pytest.fixture
def log_lines() -> Iterator[_Lines]:
    lines, logger = _Lines(), logging.getLogger("berth")
    # `berth sandbox demo` and `up`, run in-process by earlier tests, quiet the logger to
    # errors (berth/sandbox/server.py quiet_logs): the warnings are what this test reads.
    level = logger.level
    logger.setLevel(logging.WARNING)
    logger.addHandler(lines)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)


def intruder(sandbox: Sandbox) -> Any:
    """A second principal of the account: an IAM user allowed events:PutEvents on the default
    bus and nothing of Berth's (what the issue assumes any such principal may do). moto does not
    enforce the user's policy; on AWS this policy allows exactly these calls."""
    iam = sandbox.client("iam")
    iam.create_user(UserName="intruder")
    iam.put_user_policy(
        UserName="intruder", PolicyName="put-events",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "events:PutEvents",
            "Resource": f"arn:aws:events:{REGION}:123456789012:event-bus/default",
        }]}),
    )  # fmt: skip
    key = iam.create_access_key(UserName="intruder")["AccessKey"]
    return boto3.client(
        "events", endpoint_url=sandbox.endpoint, region_name=REGION,
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
    )  # fmt: skip


def put_batch(events: Any, detail: dict[str, Any]) -> None:
    response = events.put_events(
        Entries=[{
            "Source": triggers.BATCH_SOURCE, "DetailType": triggers.BATCH_DETAIL_TYPE,
            "Detail": json.dumps(detail),
        }]
    )  # fmt: skip
    assert response["FailedEntryCount"] == 0


def _wide_run(sandbox: Sandbox) -> dict[str, Any]:
    """Twelve services on 4.4.0-1, then a real wide run of 4.4.0-2; its first batch's detail."""
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.upload_spec(wide_spec(sandbox))
    sandbox.run_until_idle()
    since = len(sandbox.deliveries)
    sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()
    sandbox.collect_notifications()
    first = next(d for d in sandbox.deliveries[since:] if d.function == "on_deploy_batch")
    return dict(first.event["detail"])


def _forged(real: dict[str, Any], run_id: str) -> dict[str, Any]:
    """A batch as the old format had it, with a tag on the spec's track newer than anything
    pushed and a digest ECR never held, beside a reference (so both the old and the new rule
    route it)."""
    image = {"repository": "wso2mi", "tag": "4.4.99-1", "digest": FORGED_DIGEST,
             "pushed_at": "2099-01-01T00:00:00Z"}  # fmt: skip
    spec = real.get("spec") or {"bucket": real["bucket"], "key": "specs/dev/wso2.yaml"}
    return {
        "kind": "image", "bucket": spec["bucket"], "environment": "dev", "run_id": run_id,
        "run_size": SERVICES, "services": SERVICE_NAMES[:10], "records": [],
        "trigger": {"kind": "image", "event_id": "forged", "image": image},
        "other_tags": [], "container": None, "batch": 0, "spec": spec,
    }  # fmt: skip


def _unchanged(sandbox: Sandbox, mark: int, digest_before: dict[str, str]) -> None:
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert {name: live_image(sandbox, name) for name in SERVICE_NAMES} == digest_before
    for name in SERVICE_NAMES:
        head = handlers.berth().store.get_head("dev", name)
        assert head.image is not None and head.image.digest != FORGED_DIGEST


@pytest.mark.parametrize("which", ["a run Berth never opened", "a real run, other images"])
def test_a_forged_batch_deploys_nothing_and_is_told_once(sandbox, log_lines, which):
    real = _wide_run(sandbox)
    events = intruder(sandbox)
    before = {name: live_image(sandbox, name) for name in SERVICE_NAMES}
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()

    run_id = "0badc0ffee00" if which == "a run Berth never opened" else real["run_id"]
    put_batch(events, _forged(real, run_id))
    sandbox.run_until_idle()
    sandbox.collect_notifications()

    _unchanged(sandbox, mark, before)
    [note] = sandbox.notifications[seen:]
    assert note.document["status"] == "SECURITY"
    assert note.subject.startswith("[SECURITY] [")
    assert note.subject.endswith("forged deployment batch refused")
    assert note.document["run_id"] == run_id
    [line] = log_lines.refused()
    assert line["forged"] is True


def test_a_replayed_batch_after_its_run_finished_does_nothing_but_a_log_line(sandbox, log_lines):
    real = _wide_run(sandbox)
    # The operator rolls one service back after the run: a replay must not undo it.
    rollback.rollback(handlers.berth(), "dev", "mi-00", to="4.4.0-1", requested_by="arn:op")
    sandbox.run_until_idle()
    sandbox.collect_notifications()
    rolled_back = handlers.berth().store.get_head("dev", "mi-00").image
    assert rolled_back is not None and rolled_back.tag == "4.4.0-1"
    before = {name: live_image(sandbox, name) for name in SERVICE_NAMES}
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()

    put_batch(intruder(sandbox), real)  # an exact copy of the run's first batch
    sandbox.run_until_idle()
    sandbox.collect_notifications()

    _unchanged(sandbox, mark, before)
    assert sandbox.notifications[seen:] == []
    assert log_lines.refused() == [
        {"reason": f"batch 0 of run {real['run_id']} is already done", "forged": False}
    ]
