"""Who uploaded each spec version (issue 15, audit): S3's requester, kept on the records the
upload causes and named in their notifications."""

from __future__ import annotations

from berth.sandbox.sandbox import example_spec
from chalicelib.values.events import parse_spec_objects
from tests.conftest import sample_event
from tests.integration.helpers import history


def test_the_requester_of_an_s3_event_is_the_uploader():
    # S3 user guide, "EventBridge event message structure": detail.requester is the account ID
    # or AWS service principal of the request.
    [obj] = parse_spec_objects(sample_event("s3-object-created.json"))
    assert obj.requester == "123456789012"
    record = {
        "eventName": "ObjectCreated:Put", "eventTime": "2026-01-01T00:00:00Z",
        "awsRegion": "us-east-1", "userIdentity": {"principalId": "AWS:AIDAEXAMPLE"},
        "s3": {"bucket": {"name": "b"}, "object": {"key": "specs/dev/w.yaml", "versionId": "v1"}},
    }  # fmt: skip
    [obj] = parse_spec_objects({"Records": [record]})
    assert obj.requester == "AWS:AIDAEXAMPLE"


def test_records_and_notifications_of_an_upload_name_its_uploader(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()
    for service in ("apim", "mi"):
        [record] = history(service)
        assert record.trigger.requested_by == "123456789012"
    notes = [n for n in sandbox.notifications if n.document["service"] == "apim"]
    assert notes and all(n.document["requested_by"] == "123456789012" for n in notes)
    assert "Uploaded by: 123456789012" in notes[-1].text.splitlines()


def test_a_rejected_upload_names_its_uploader(sandbox):
    sandbox.upload_spec("berth: 1\nenvironment: dev\n")
    sandbox.run_until_idle()
    [note] = sandbox.notifications
    assert note.document["status"] == "REJECTED"
    assert note.document["requested_by"] == "123456789012"
