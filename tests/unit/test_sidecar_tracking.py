"""Sidecars that follow tags (issue 20): a spec upload pins a tracked sidecar to its repository's
newest matching tag, and a push to that repository redeploys the services using it through the
same judge-record-announce path as a product push, judged "never older" per container."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.flows.image_push import on_image_pushed
from chalicelib.rendering.images import PLACEHOLDER_DIGEST, ImageRef
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.model import Spec
from chalicelib.spec.parse import parse_spec
from chalicelib.values.events import EcrImageAction
from tests.conftest import EXAMPLES
from tests.fakes import in_memory_berth
from tests.unit.test_flows import completed, settled, upload

PUSHED = datetime(2026, 11, 28, tzinfo=UTC)
PINNED_INIT = re.compile(r"berth-keystore-init:1\.0\.0@sha256:[0-9a-f]{64}")
TRACKED_INIT = '{repository: berth-keystore-init, track: "1.*"}'
ACCOUNT, REGION = "123456789012", "us-east-1"


def digest(name: str) -> str:
    return "sha256:" + (name.encode().hex() * 64)[:64]


def tracked_spec(track_line: str = TRACKED_INIT) -> str:
    """The sidecar example in dev, its keystore-init image tracked instead of pinned."""
    text = re.sub(r"\bprod\b", "dev", (EXAMPLES / "wso2-prod-sidecars.yaml").read_text())
    assert PINNED_INIT.search(text)
    return PINNED_INIT.sub(lambda _: track_line, text)


def push_event(repository: str, tag: str, event_id: str) -> EcrImageAction:
    return EcrImageAction.model_validate(
        {
            "version": "0", "id": event_id, "source": "aws.ecr", "detail-type": "ECR Image Action",
            "account": ACCOUNT, "time": "2026-11-29T00:00:00Z", "region": REGION,
            "resources": [],
            "detail": {"result": "SUCCESS", "action-type": "PUSH", "repository-name": repository,
                       "image-digest": digest(f"{repository}:{tag}"), "image-tag": tag},
        }
    )  # fmt: skip


def pushed(berth, repository: str, tag: str, after: timedelta = timedelta()) -> list:
    """Put the image in (fake) ECR, then deliver ECR's push event."""
    berth.ecr.push(repository, tag, digest(f"{repository}:{tag}"), PUSHED + after)
    return on_image_pushed(berth, push_event(repository, tag, f"push-{repository}-{tag}"))


def containers(berth, service: str = "apim") -> dict[str, str]:
    """The image of each container of the task definition the service runs now."""
    svc = berth.ecs.services[f"wso2-dev/{service}"]
    task = berth.ecs.task_definitions[svc["taskDefinition"]]
    return {c["name"]: c["image"].rsplit("@", 1)[1] for c in task["containerDefinitions"]}


@pytest.fixture
def running():
    """The sidecar example deployed in dev with keystore-init tracking 1.*, resolved to 1.0.0."""
    berth = in_memory_berth()
    berth.ecr.push("wso2mi", "4.4.0-1", digest("wso2mi:4.4.0-1"), PUSHED)
    berth.ecr.push("wso2am", "4.7.0-1", digest("wso2am:4.7.0-1"), PUSHED)
    berth.ecr.push("berth-keystore-init", "0.9.0", digest("berth-keystore-init:0.9.0"), PUSHED)
    berth.ecr.push("berth-keystore-init", "1.0.0", digest("berth-keystore-init:1.0.0"), PUSHED)
    return settled(berth, upload(berth, tracked_spec(), "v1"))


def test_a_spec_upload_pins_a_tracked_sidecar_to_its_newest_matching_tag(running):
    assert containers(running)["keystore-init"] == digest("berth-keystore-init:1.0.0")
    head = running.store.get_head("dev", "apim")
    assert {c: i.tag for c, i in head.sidecar_images.items()} == {"keystore-init": "1.0.0"}
    # An unchanged re-upload keeps the sidecar's image: nothing reaches ECS.
    assert [o.reason for o in upload(running, tracked_spec(), "v2")] == [
        "nothing changed: every service already runs what the spec renders"
    ]
    assert running.ecs.mutations == []


def test_a_tracked_sidecar_with_no_matching_tag_rejects_the_spec_and_deploys_nothing():
    berth = in_memory_berth()
    berth.ecr.push("wso2mi", "4.4.0-1", digest("wso2mi:4.4.0-1"), PUSHED)
    berth.ecr.push("wso2am", "4.7.0-1", digest("wso2am:4.7.0-1"), PUSHED)
    berth.ecr.push("berth-keystore-init", "0.9.0", digest("berth-keystore-init:0.9.0"), PUSHED)
    [outcome] = upload(berth, tracked_spec(), "v1")
    assert outcome.action == "rejected"
    [record] = berth.store.records.values()
    assert record.errors == [
        "services.apim.containers.keystore-init.image: no image in ECR repository "
        "'berth-keystore-init' has a tag that follows track '1.*'; push one first"
    ]
    assert berth.ecs.mutations == []


def test_a_push_to_a_sidecars_repository_redeploys_the_service_with_only_that_image(running):
    running.settings.notify_started = True  # its start names the container (BERTH_NOTIFY_STARTED)
    before = containers(running)
    # When keystore-init 1.0.1 is pushed
    outcomes = pushed(running, "berth-keystore-init", "1.0.1", timedelta(hours=1))
    # Then only apim is redeployed: a new task definition, the sidecar's digest the new one
    assert [(o.action, o.service) for o in outcomes] == [("started", "apim")]
    assert running.ecs.mutations == [("RegisterTaskDefinition", "dev-apim"), ("UpdateService", "apim")]
    after = containers(running)
    assert after == {**before, "keystore-init": digest("berth-keystore-init:1.0.1")}
    # The record keeps the product image and says which container changed.
    [note] = running.notifier.published
    assert note.subject == "[dev] apim keystore-init 1.0.1 deploying"
    assert (note.container, note.image.tag, note.image.repository) == (
        "keystore-init", "1.0.1", "berth-keystore-init"
    )
    assert "Image of container keystore-init: berth-keystore-init:1.0.1" in note.text()
    head = running.store.get_head("dev", "apim")
    assert head.image.tag == "4.7.0-1"
    assert head.sidecar_images["keystore-init"].tag == "1.0.1"
    completed(running, "apim")
    assert running.notifier.published[-1].subject == "[dev] apim keystore-init 1.0.1 deployed"
    assert running.notifier.published[-1].previous_image.tag == "1.0.0"


@pytest.mark.parametrize(
    ("tag", "reason"),
    [
        ("0.9.1", "tag 0.9.1 does not follow track '1.*'"),
        ("1.0.0", "1.0.0 ("),  # the running digest again
    ],
)
def test_a_sidecar_push_is_judged_against_what_that_sidecar_runs(running, tag, reason):
    if tag == "1.0.0":
        outcomes = on_image_pushed(running, push_event("berth-keystore-init", "1.0.0", "again"))
    else:
        outcomes = pushed(running, "berth-keystore-init", tag, timedelta(hours=1))
    assert [o.action for o in outcomes] == ["ignored"]
    assert reason in outcomes[0].reason
    assert running.ecs.mutations == []


def test_an_older_sidecar_tag_never_replaces_a_newer_one(running):
    pushed(running, "berth-keystore-init", "1.0.2", timedelta(hours=1))
    completed(running, "apim")
    running.ecs.mutations.clear()
    outcomes = pushed(running, "berth-keystore-init", "1.0.1", timedelta(hours=2))
    assert [o.reason for o in outcomes] == ["1.0.1 is older than the running 1.0.2"]
    assert running.ecs.mutations == []


def test_a_product_push_keeps_the_sidecars_tracked_image(running):
    pushed(running, "berth-keystore-init", "1.0.1", timedelta(hours=1))
    completed(running, "apim")
    outcomes = pushed(running, "wso2am", "4.7.0-2", timedelta(hours=2))
    assert [(o.action, o.service) for o in outcomes] == [("started", "apim")]
    assert containers(running)["apim"] == digest("wso2am:4.7.0-2")
    assert containers(running)["keystore-init"] == digest("berth-keystore-init:1.0.1")
    completed(running, "apim")
    assert running.notifier.published[-1].subject == "[dev] apim 4.7.0-2 deployed"
    assert running.notifier.published[-1].container is None


def test_a_failed_sidecar_deployment_leaves_the_head_on_the_previous_sidecar_image(running):
    from chalicelib.flows.runs.finish import fail

    pushed(running, "berth-keystore-init", "1.0.1", timedelta(hours=1))
    head = running.store.get_head("dev", "apim")
    record = running.store.get_record("dev", "apim", head.active_record_id)
    fail(running, record, reason="ECS rolled it back", errors=[], source="ecs")
    head = running.store.get_head("dev", "apim")
    assert head.sidecar_images["keystore-init"].tag == "1.0.0"
    assert head.image.tag == "4.7.0-1"


def test_a_tracked_sidecar_renders_the_image_it_is_given_or_a_placeholder():
    spec = parse_spec(tracked_spec().encode(), "s.yaml")
    assert isinstance(spec, Spec)
    product = ImageRef("wso2am", digest("wso2am:4.7.0-1"), "4.7.0-1")
    given = ImageRef("berth-keystore-init", digest("berth-keystore-init:1.0.0"), "1.0.0")

    def init(task: dict) -> dict:
        return next(c for c in task["containerDefinitions"] if c["name"] == "keystore-init")

    task = render_task_definition(
        spec, "apim", product, ACCOUNT, REGION, sidecars={"keystore-init": given}
    )
    assert init(task)["image"] == given.uri(ACCOUNT, REGION)
    assert init(task)["dockerLabels"]["berth.image.tag"] == "1.0.0"
    bare = render_task_definition(spec, "apim", product, ACCOUNT, REGION)
    assert init(bare)["image"].endswith(f"/berth-keystore-init@{PLACEHOLDER_DIGEST}")
