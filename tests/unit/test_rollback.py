"""Rollback and promotion: which image a rollback picks, and how a person's request is named in
records and notifications (no AWS)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from berth.commands.rollback import outcome_lines, refused
from berth.commands.status import history_lines, trigger_text
from chalicelib.flows.rollback import NotRedeployable, matches, rollback_image
from chalicelib.values.notifications.deployments import for_record
from chalicelib.values.outcomes import Outcome
from chalicelib.values.records import DeploymentRecord, Image, Trigger

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WHO = "arn:aws:iam::123456789012:user/oncall"


def image(tag: str, digit: str) -> Image:
    return Image(repository="wso2am", tag=tag, digest="sha256:" + digit * 64)


def record(tag: str, digit: str, status: str = "COMPLETED", **fields) -> DeploymentRecord:
    return DeploymentRecord(
        environment="dev", service="apim", record_id=f"D#{tag}#r", run_id="r", status=status,
        trigger=fields.pop("trigger", Trigger(kind="image", event_id="e")),
        cluster="wso2-dev", image=image(tag, digit), created_at=T0, updated_at=T0, **fields,
    )  # fmt: skip


# Newest first, as Store.history gives them.
RECORDS = [record("4.7.0-9", "9"), record("4.7.0-5", "5", "ROLLED_BACK"), record("4.7.0-1", "1")]


def test_a_rollback_picks_the_last_completely_deployed_image_before_what_runs():
    assert rollback_image(RECORDS, image("4.7.0-9", "9"), None).tag == "4.7.0-1"


def test_a_rollback_to_names_a_recorded_tag_or_digest_even_a_failed_one():
    assert rollback_image(RECORDS, image("4.7.0-9", "9"), "4.7.0-5").tag == "4.7.0-5"
    assert rollback_image(RECORDS, None, "sha256:" + "1" * 64).tag == "4.7.0-1"
    assert rollback_image(RECORDS, None, "5" * 12).tag == "4.7.0-5"
    assert not matches(image("4.7.0-5", "5"), "5" * 11)


def test_a_rollback_says_why_it_has_no_image():
    with pytest.raises(NotRedeployable) as unknown:
        rollback_image(RECORDS, None, "4.7.0-2")
    assert str(unknown.value) == "no deployment record of this service has the image '4.7.0-2'"
    with pytest.raises(NotRedeployable) as alone:
        rollback_image(RECORDS[:1], image("4.7.0-9", "9"), None)
    assert str(alone.value) == (
        "no other image than the running 4.7.0-9 was ever deployed completely; use --to"
    )


ASKED = Trigger(
    kind="rollback", event_id="rollback-1", image=image("4.7.0-1", "1"), requested_by=WHO,
    note='rollback of apim to 4.7.0-1 asked by someone; overrides "never older": older',
)  # fmt: skip
PROMOTED = Trigger(
    kind="promote", event_id="promote-1", requested_by=WHO, from_environment="dev",
    note="promotion of apim 4.7.0-1 from dev to prod",
)  # fmt: skip


def test_a_rollback_is_announced_as_one_with_who_asked_and_what_it_overrode():
    note = for_record(record("4.7.0-1", "1", trigger=ASKED), "STARTED", "rollback", T0)
    assert note.subject == "[dev] rollback: apim 4.7.0-1 deploying"
    assert note.summary == f"Deploying apim 4.7.0-1 to dev (cluster wso2-dev). Rollback asked by {WHO}."
    assert note.requested_by == WHO and note.trigger == "rollback"
    assert f"Requested: {ASKED.note}" in note.text().splitlines()


def test_a_promotion_is_announced_with_where_it_came_from():
    note = for_record(record("4.7.0-1", "1", "FAILED", trigger=PROMOTED), "FAILED", "ecs", T0)
    assert note.subject == "[dev] promotion: apim 4.7.0-1 FAILED"
    assert note.summary == f"Deploying apim 4.7.0-1 to dev failed. Promotion from dev asked by {WHO}."


def test_a_push_is_announced_as_before():
    note = for_record(record("4.7.0-1", "1"), "COMPLETED", "ecs", T0)
    assert (note.subject, note.summary) == ("[dev] apim 4.7.0-1 deployed", "apim 4.7.0-1 is deployed to dev.")
    assert note.requested_by is None and "Requested" not in note.text()


def test_history_names_who_asked_and_what_was_overridden():
    rolled = record("4.7.0-1", "1", trigger=ASKED, reason="ECS deployment completed.")
    assert trigger_text(rolled) == f"rollback by {WHO}"
    assert trigger_text(record("4.7.0-1", "1", trigger=PROMOTED)) == f"promote from dev by {WHO}"
    assert history_lines([rolled])[1:] == [f"    {ASKED.note}", "    ECS deployment completed."]


def test_outcome_lines_and_exit_status():
    started = Outcome(action="started", environment="dev", service="apim", record_id="D#1")
    rolled = record("4.7.0-1", "1", trigger=ASKED)
    assert outcome_lines([started], rolled) == [
        "dev/apim: started 4.7.0-1 (record D#1)", f"  {ASKED.note}"
    ]
    assert not refused([started])
    assert refused([Outcome(action="ignored", reason="x")]) and refused([])


# ---- issue 29: promote takes only what settled ---------------------------------------------------

from chalicelib.decisions.promotion import unsettled_reason  # noqa: E402
from chalicelib.values.records import Head  # noqa: E402


def head(active: str | None = None) -> Head:
    return Head(environment="dev", service="apim", image=image("4.7.0-9", "9"),
                active_record_id=active)  # fmt: skip


def test_what_completed_and_is_newest_may_be_promoted():
    assert unsettled_reason(head(), record("4.7.0-9", "9")) is None


def test_a_deployment_still_in_progress_is_not_promoted():
    assert unsettled_reason(head("D#4.7.0-9#r"), record("4.7.0-9", "9", "IN_PROGRESS")) == (
        "dev's apim is still being deployed (record D#4.7.0-9#r): promote once it completed "
        "there, or --force REASON"
    )


def test_a_newest_record_that_did_not_complete_is_not_promoted():
    assert unsettled_reason(head(), record("4.7.0-9", "9", "FAILED")) == (
        "dev's apim's newest deployment of 4.7.0-9 ended FAILED (record D#4.7.0-9#r): promote "
        "what completed there, or --force REASON"
    )
    assert unsettled_reason(head(), record("4.7.0-5", "5")).startswith(
        "no completed deployment of 4.7.0-9 (sha256:999999999999) is dev's apim's newest record"
    )
