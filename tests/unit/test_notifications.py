"""Notifications: subjects, text and the published JSON schema."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from chalicelib.values.notifications.deployments import for_record
from chalicelib.values.notifications.envelope import (
    NOTIFIED_ERRORS,
    RECORDED_ERRORS,
    Notification,
    sns_message,
)
from chalicelib.values.records import DeploymentRecord, Image, SpecVersion, Trigger

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "notification.schema.json"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def record(**changes):
    base = DeploymentRecord(
        environment="prod",
        service="apim",
        record_id="D#1#r",
        run_id="r",
        status="ROLLED_BACK",
        trigger=Trigger(kind="image", event_id="e1"),
        cluster="wso2-prod",
        image=Image(repository="wso2am", tag="4.3.0-8", digest="sha256:" + "8" * 64),
        previous_image=Image(repository="wso2am", tag="4.3.0-7", digest="sha256:" + "7" * 64),
        task_definition_arn="arn:aws:ecs:us-east-1:1:task-definition/prod-apim:9",
        previous_task_definition_arn="arn:aws:ecs:us-east-1:1:task-definition/prod-apim:8",
        ecs_deployment_id="ecs-svc/9",
        reason="ECS deployment circuit breaker: task failed to start.",
        causes=["task stopped: CannotPullContainerError: not found"],
        created_at=T0,
        updated_at=T0,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=95),
    )
    return base.model_copy(update=changes)


def test_subjects_match_the_issue_examples():
    assert (
        for_record(record(), "ROLLED_BACK", "ecs", T0).subject
        == "[prod] apim 4.3.0-8 FAILED, rolled back to 4.3.0-7"
    )
    assert for_record(record(), "COMPLETED", "ecs", T0).subject == "[prod] apim 4.3.0-8 deployed"


def test_text_says_what_where_which_image_what_changed_why_and_what_next():
    assert for_record(record(), "ROLLED_BACK", "ecs", T0).text() == "\n".join(
        [
            "Deploying apim 4.3.0-8 to prod failed; ECS rolled back to 4.3.0-7.",
            f"Image: wso2am:4.3.0-8 (sha256:{'8' * 64})",
            "Previous image: 4.3.0-7",
            "Task definition: prod-apim:8 -> prod-apim:9",
            "ECS deployment: ecs-svc/9 on cluster wso2-prod",
            "Duration: 95 s",
            "Reason: ECS deployment circuit breaker: task failed to start.",
            "Cause: task stopped: CannotPullContainerError: not found",
            "Berth: push a fixed image or upload a corrected spec",
        ]
    )


def test_rejected_spec_subject_counts_errors_and_stays_short():
    spec = SpecVersion(bucket="b", key="specs/prod/" + "x" * 200 + ".yaml")
    note = for_record(
        record(
            service="(spec)",
            status="REJECTED",
            errors=["a", "b"],
            trigger=Trigger(kind="spec", event_id="e", spec=spec),
        ),
        "REJECTED",
        "spec",
        T0,
    )
    assert len(note.subject) < 100 and note.subject.startswith("[prod] spec rejected: specs/prod/")
    assert note.service is None and note.errors == ["a", "b"]


def test_a_rejection_counts_the_errors_found_not_those_the_record_kept():
    # Issue 34, finding 3: 300 errors were announced as "(100 errors)", the record's share.
    spec = SpecVersion(bucket="b", key="specs/prod/wso2.yaml")
    note = for_record(
        record(
            service="(spec)",
            status="REJECTED",
            errors=[f"error {i}" for i in range(RECORDED_ERRORS)],
            errors_total=300,
            trigger=Trigger(kind="spec", event_id="e", spec=spec),
        ),
        "REJECTED",
        "spec",
        T0,
    )
    assert note.subject == "[prod] spec rejected: specs/prod/wso2.yaml (300 errors)"
    assert note.errors[:NOTIFIED_ERRORS] == [f"error {i}" for i in range(NOTIFIED_ERRORS)]
    assert note.errors[NOTIFIED_ERRORS:] == [
        f"… and {300 - NOTIFIED_ERRORS} more (300 in all; the record lists the first "
        f"{RECORDED_ERRORS}); `berth validate FILE` lists every one"
    ]


def test_schema_file_is_the_model_schema():
    # Regenerate: python -c "import json; from chalicelib.values.notifications.envelope import Notification as N; print(json.dumps(N.model_json_schema(by_alias=True), indent=2))" > docs/notification.schema.json
    assert json.loads(SCHEMA.read_text()) == Notification.model_json_schema(by_alias=True)


def test_the_action_names_the_dependents_held_back_only_when_there_are_some():
    # Issue 19: "dependents were not deployed" was said of services with no dependents.
    held = for_record(record(), "FAILED", "ecs", T0, ["ei", "gateway"]).action
    assert held == "the service was left as it was; ei, gateway, which depend on it, will not be deployed"
    assert for_record(record(), "FAILED", "ecs", T0).action == "the service was left as it was"


def test_an_outcome_says_what_started_the_deployment_beside_what_told_it():
    """Starts are untold by default (BERTH_NOTIFY_STARTED), so the outcome carries what started
    the deployment: an SNS filter on `started_by` (rollback, promote, image, spec) still gets it,
    while `trigger` keeps naming the ECS event or sweep that concluded it."""
    rollback = record(trigger=Trigger(kind="rollback", event_id="e2", requested_by="arn:aws:sts::1:assumed-role/ops/ana"))
    note = for_record(rollback, "COMPLETED", "ecs", T0)
    assert (note.trigger, note.started_by) == ("ecs", "rollback")
    assert sns_message(note).attributes == {
        "environment": "prod", "service": "apim", "status": "COMPLETED", "trigger": "ecs",
        "started_by": "rollback",
    }
    told_by_sweep = for_record(record(), "TIMED_OUT", "sweep", T0)
    assert sns_message(told_by_sweep).attributes["started_by"] == "image"
