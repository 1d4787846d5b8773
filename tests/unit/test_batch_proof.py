"""Issue 28, forged batches: a wide-run batch event is a reference that the run's record, which
only Berth writes, must vouch for (decisions.batches); the event's own contents deploy nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chalicelib.decisions.batches import BatchRefusal, batch_refusal
from chalicelib.values.events import DeployBatch, parse_event
from chalicelib.values.notifications.alerts import forged_batch_notification
from chalicelib.values.notifications.envelope import sns_message
from chalicelib.values.records import (
    Image,
    RunBatch,
    RunPlan,
    RunTally,
    SpecVersion,
    Trigger,
)

SPEC = SpecVersion(bucket="berth-specs-1-dev", key="specs/dev/wso2.yaml", version_id="v1")
IMAGE = Image(repository="wso2mi", tag="4.4.0-2", digest="sha256:" + "b" * 64)


def _run(done: frozenset[int] = frozenset(), plan: bool = True) -> RunTally:
    return RunTally(
        run_id="r1", environment="dev", total=3, remaining=3,
        trigger=Trigger(kind="image", event_id="e1", image=IMAGE),
        plan=RunPlan(
            kind="image", spec=SPEC,
            batches=[RunBatch(services=["mi-00", "mi-01"]), RunBatch(services=["mi-02"])],
        ) if plan else None,
        batches_done=done,
    )  # fmt: skip


def test_a_batch_of_the_runs_plan_still_to_do_goes_on():
    assert batch_refusal("r1", 0, SPEC, (), _run()) is None
    assert batch_refusal("r1", 1, SPEC, (), _run(done=frozenset({0}))) is None


@pytest.mark.parametrize(
    ("index", "spec", "extra", "run", "reason"),
    [
        (0, SPEC, (), None, "Berth opened and fanned out no run r1"),
        # Opened, but never fanned out (a narrow run's tally has no plan; no batch was sent).
        (0, SPEC, (), _run(plan=False), "Berth opened and fanned out no run r1"),
        (2, SPEC, (), _run(), "run r1 was planned as 2 batches; it has no batch 2"),
        (
            0, SpecVersion(bucket=SPEC.bucket, key=SPEC.key, version_id="v0"), (), _run(),
            "the batch names spec s3://berth-specs-1-dev/specs/dev/wso2.yaml (version v0); run "
            "r1 was planned under s3://berth-specs-1-dev/specs/dev/wso2.yaml (version v1)",
        ),
        (
            0, SPEC, ("trigger", "services"), _run(),
            "the batch carries services, trigger: Berth's batches carry only a reference, and "
            "what run r1 deploys is in its record",
        ),
    ],
)  # fmt: skip
def test_a_batch_the_run_record_does_not_vouch_for_is_forged(index, spec, extra, run, reason):
    assert batch_refusal("r1", index, spec, extra, run) == BatchRefusal(reason, forged=True)


def test_a_batch_already_done_is_a_replay_not_a_forgery():
    assert batch_refusal("r1", 1, SPEC, (), _run(done=frozenset({1}))) == BatchRefusal(
        "batch 1 of run r1 is already done", forged=False
    )


def test_a_forgery_is_checked_before_the_replay():
    """A copy of a done batch with images added is told as a forgery, not shrugged off."""
    refusal = batch_refusal("r1", 0, SPEC, ("trigger",), _run(done=frozenset({0})))
    assert refusal is not None and refusal.forged


def _event(detail: dict) -> dict:
    return {
        "version": "0", "id": "ev-1", "source": "berth", "account": "1",
        "detail-type": "Berth Deployment Batch", "time": "2026-12-06T00:00:00Z",
        "region": "us-east-1", "resources": [], "detail": detail,
    }  # fmt: skip


def test_the_batch_event_keeps_what_it_carries_beside_the_reference():
    reference = {"run_id": "r1", "batch": 0, "spec": SPEC.model_dump(mode="json")}
    plain = parse_event(_event(reference), DeployBatch)
    assert (plain.detail.run_id, plain.detail.batch, plain.detail.spec) == ("r1", 0, SPEC)
    assert not plain.detail.model_extra
    image = {"image": IMAGE.model_dump(mode="json")}
    loaded = parse_event(_event({**reference, "trigger": image}), DeployBatch)
    assert set(loaded.detail.model_extra or {}) == {"trigger"}


def test_a_forged_batch_is_told_as_a_security_notification():
    note = forged_batch_notification(
        None, "ev-1", "r1", "Berth opened and fanned out no run r1",
        datetime(2026, 12, 6, tzinfo=UTC),
    )  # fmt: skip
    assert note.subject == "[SECURITY] [-] forged deployment batch refused"
    assert (note.status, note.trigger, note.run_id) == ("SECURITY", "batch", "r1")
    assert sns_message(note).attributes["status"] == "SECURITY"
