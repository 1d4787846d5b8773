"""Every event format Berth accepts, end to end: from the event as AWS sends it (the samples in
tests/fixtures/events) to the RegisterTaskDefinition ECS receives (issue 34, finding 1).

The registry of every image is the stage's own: its account (BERTH_ACCOUNT, or the invoked
function's ARN) and region (AWS_REGION), never an event's. S3's Records[] format has no account
at all, and an S3 event's region is the bucket's, not the registry's."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from berth.sandbox import images
from berth.sandbox.names import ACCOUNT, BUCKET, REGION
from berth.sandbox.sandbox import Sandbox, example_spec
from tests.conftest import sample_event
from tests.integration.helpers import assert_truth, deploy_example, outcomes

REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/"
KEY = "specs/dev/wso2.yaml"


def _registered_images(sandbox: Sandbox, mark: int) -> list[str]:
    """The image of every container of every RegisterTaskDefinition since `mark`."""
    return [
        container["image"]
        for call in sandbox.recorder.since(mark)
        if (call.service, call.operation) == ("ecs", "RegisterTaskDefinition")
        for container in call.params["containerDefinitions"]
    ]


def _quiet(sandbox: Sandbox) -> None:
    """Drop what S3 itself told EventBridge: the test delivers the event in its own format."""
    sandbox.client("sqs").purge_queue(QueueUrl=sandbox.queue_of("on_spec_uploaded"))


def _eventbridge_created(version: str) -> dict[str, Any]:
    event = sample_event("s3-object-created.json")  # AWS's sample: region ca-central-1
    event["detail"]["bucket"]["name"] = BUCKET
    event["detail"]["object"].update({"key": KEY, "version-id": version})
    return event


def _records_created(version: str) -> dict[str, Any]:
    event = sample_event("s3-records-object-created.json")  # no account field at all
    [record] = event["Records"]
    record["s3"]["bucket"]["name"] = BUCKET
    record["s3"]["object"].update({"key": KEY, "versionId": version})
    return event


def _eventbridge_deleted(version: str) -> dict[str, Any]:
    event = sample_event("s3-object-deleted.json")
    event["detail"]["bucket"]["name"] = BUCKET
    event["detail"]["object"].update({"key": KEY, "version-id": version})
    event["detail"]["deletion-type"] = "Permanently Deleted"
    return event


def _records_deleted(version: str) -> dict[str, Any]:
    event = _records_created(version)
    event["Records"][0]["eventName"] = "ObjectRemoved:Delete"
    return event


def _deploy_first_spec(sandbox: Sandbox) -> None:
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.run_until_idle()


@pytest.mark.parametrize(
    "format_", [_eventbridge_created, _records_created], ids=["eventbridge", "records"]
)
def test_a_spec_upload_deploys_images_of_the_stage_registry(sandbox, format_):
    _deploy_first_spec(sandbox)
    version = sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    _quiet(sandbox)
    mark = sandbox.recorder.mark()
    delivery = sandbox.deliver("on_spec_uploaded", format_(version))
    sandbox.run_until_idle()
    assert [o["action"] for o in delivery.result["outcomes"]] == ["pending", "started"]
    registered = _registered_images(sandbox, mark)
    assert {image.split("@")[0] for image in registered} == {
        REGISTRY + "wso2mi", REGISTRY + "wso2am",
    }  # fmt: skip
    assert_truth(sandbox)


@pytest.mark.parametrize(
    "format_", [_eventbridge_deleted, _records_deleted], ids=["eventbridge", "records"]
)
def test_deleting_the_accepted_version_deploys_the_one_before_from_the_stage_registry(
    sandbox, format_
):
    deploy_example(sandbox)
    edited = sandbox.adapt_spec(example_spec()).replace(
        "MI_HOSTNAME:", "EDITED: 'yes'\n      MI_HOSTNAME:", 1
    )
    newer = sandbox.upload_spec(edited)
    sandbox.run_until_idle()
    sandbox.client("s3").delete_object(Bucket=BUCKET, Key=KEY, VersionId=newer)
    _quiet(sandbox)
    mark = sandbox.recorder.mark()
    delivery = sandbox.deliver("on_spec_uploaded", format_(newer))
    sandbox.run_until_idle()
    assert "started" in [o["action"] for o in delivery.result["outcomes"]]
    registered = _registered_images(sandbox, mark)
    assert registered and all(image.startswith(REGISTRY) for image in registered), registered
    assert_truth(sandbox)


def test_an_ecr_push_deploys_the_image_of_the_stage_registry(sandbox):
    deploy_example(sandbox)
    digest = images.put_image(sandbox.client("ecr"), "wso2am", "4.7.0-2")
    event = copy.deepcopy(sample_event("ecr-image-push.json"))  # AWS's sample, on this stage
    event.update({"account": ACCOUNT, "region": REGION})
    event["detail"].update(
        {"repository-name": "wso2am", "image-digest": digest, "image-tag": "4.7.0-2"}
    )
    mark, since = sandbox.recorder.mark(), len(sandbox.deliveries)
    sandbox.deliver("on_image_pushed", event)
    sandbox.run_until_idle()
    assert [o["action"] for o in outcomes(sandbox, "on_image_pushed", since)] == ["started"]
    assert _registered_images(sandbox, mark) == [f"{REGISTRY}wso2am@{digest}"]
    assert_truth(sandbox)
