"""Event models against AWS's documented samples (../shared/events)."""

from __future__ import annotations

import pytest

from chalicelib.errors import EventNotUnderstood
from chalicelib.events import (
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
