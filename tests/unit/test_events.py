"""Event models against AWS's documented samples (tests/fixtures/events)."""

from __future__ import annotations

import pytest

from chalicelib.errors import EventNotUnderstood
from chalicelib.values.events import (
    EcrImageAction,
    EcsDeploymentStateChange,
    EcsServiceAction,
    parse_event,
    parse_spec_objects,
)
from tests.conftest import sample_event


def test_ecr_push_sample():
    event = parse_event(sample_event("ecr-image-push.json"), EcrImageAction)
    assert event.pushed
    assert (event.detail.repository_name, event.detail.image_tag) == (
        "my-repository-name",
        "latest",
    )
    assert event.account == "123456789012" and event.region == "us-west-2"


def test_ecr_delete_is_parsed_but_not_a_push():
    assert not parse_event(sample_event("ecr-image-delete.json"), EcrImageAction).pushed


def test_ecs_rollback_names_its_target():
    event = parse_event(
        sample_event("ecs-deployment-rollback-in-progress.json"), EcsDeploymentStateChange
    )
    assert event.rollback_target == "ecs-svc/122"
    assert event.service_arn == "arn:aws:ecs:us-west-2:111122223333:service/default/servicetest"
    plain = parse_event(sample_event("ecs-deployment-in-progress.json"), EcsDeploymentStateChange)
    assert plain.rollback_target is None


def test_service_action_sample():
    event = parse_event(sample_event("ecs-service-steady-state.json"), EcsServiceAction)
    assert event.detail.event_name == "SERVICE_STEADY_STATE"


def test_s3_object_created_sample():
    [obj] = parse_spec_objects(sample_event("s3-object-created.json"))
    assert (obj.bucket, obj.key) == ("example-bucket", "specs/prod/wso2.yaml")
    assert obj.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e"
    assert obj.sequencer == "00617F08299329D189"


def _object_deleted(deletion_type: str | None) -> dict:
    # S3 user guide, "EventBridge event message structure", Object Deleted (using DeleteObject).
    detail = {
        "version": "0",
        "bucket": {"name": "example-bucket"},
        "object": {
            "key": "specs/prod/wso2.yaml",
            "etag": "d41d8cd98f00b204e9800998ecf8427e",
            "version-id": "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF",
            "sequencer": "617f0837b476e463",
        },
        "request-id": "0BH729840619AG5K",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "DeleteObject",
    }
    if deletion_type is not None:
        detail["deletion-type"] = deletion_type
    return {
        "version": "0", "id": "2ee9cc15-d022-99ea-1fb8-1b1bac4850f9",
        "detail-type": "Object Deleted", "source": "aws.s3", "account": "111122223333",
        "time": "2021-11-12T00:00:00Z", "region": "ca-central-1",
        "resources": ["arn:aws:s3:::example-bucket"], "detail": detail,
    }  # fmt: skip


@pytest.mark.parametrize("deletion_type", ["Delete Marker Created", "Permanently Deleted"])
def test_s3_object_deleted_names_what_was_deleted(deletion_type):
    [obj] = parse_spec_objects(_object_deleted(deletion_type))
    assert (obj.key, obj.version_id, obj.sequencer, obj.deletion) == (
        "specs/prod/wso2.yaml", "1QW9g1Z99LUNbvaaYVpW9xDlOLU.qxgF", "617f0837b476e463",
        deletion_type,
    )  # fmt: skip


def test_s3_object_deleted_without_a_deletion_type_is_not_understood():
    with pytest.raises(EventNotUnderstood, match="without a deletion-type"):
        parse_spec_objects(_object_deleted(None))


def test_an_object_created_event_is_not_a_deletion():
    [obj] = parse_spec_objects(sample_event("s3-object-created.json"))
    assert obj.deletion is None


def test_records_format_deletions_are_spec_objects_too():
    raw = {
        "Records": [
            {
                "eventName": name,
                "eventTime": "2026-01-01T00:00:00Z",
                "awsRegion": "us-east-1",
                "s3": {"bucket": {"name": "b"}, "object": {"key": "specs/dev/a.yaml", "versionId": "v"}},
            }
            for name in ("ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated", "ObjectRestore:Post")
        ]
    }  # fmt: skip
    assert [o.deletion for o in parse_spec_objects(raw)] == [
        "Permanently Deleted", "Delete Marker Created",
    ]  # fmt: skip


def test_records_format_keys_are_url_decoded():
    raw = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "eventTime": "2026-01-01T00:00:00Z",
                "awsRegion": "us-east-1",
                "s3": {
                    "bucket": {"name": "b"},
                    "object": {"key": "specs/dev/red+flower%2B1.yaml", "versionId": "v1"},
                },
            }
        ]
    }
    [obj] = parse_spec_objects(raw)
    assert obj.key == "specs/dev/red flower+1.yaml"


def test_unknown_fields_are_tolerated():
    raw = sample_event("ecr-image-push.json")
    raw["detail"]["new-field"] = {"x": 1}
    raw["new-top"] = True
    assert parse_event(raw, EcrImageAction).pushed


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e["detail"].pop("image-digest"), "detail.image-digest: Field required"),
        (
            lambda e: e["detail"].update({"image-digest": 42}),
            "detail.image-digest: Input should be a valid string",
        ),
        (
            lambda e: e.update({"detail-type": "ECR Image Scan"}),
            "unexpected event 'aws.ecr' / 'ECR Image Scan' for a EcrImageAction handler",
        ),
        (lambda e: e.pop("time"), "time: Field required"),
    ],
)
def test_malformed_events_name_their_problem(mutate, reason):
    raw = sample_event("ecr-image-push.json")
    mutate(raw)
    with pytest.raises(EventNotUnderstood) as caught:
        parse_event(raw, EcrImageAction)
    assert caught.value.reason == reason
