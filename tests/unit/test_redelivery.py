"""Issue 29, finding 1: what a head remembers of the digests that failed on a service, and
whether a push of one may deploy it again (chalicelib.decisions.redelivery)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.decisions.redelivery import (
    FAILURES_KEPT,
    barred,
    barred_reason,
    failure_of,
    failures_after,
    same_push,
)
from chalicelib.values.records import DeploymentRecord, FailedImage, Image, Trigger

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def image(tag: str, digest: str | None = None) -> Image:
    return Image(repository="wso2am", tag=tag, digest=digest or f"sha256:{tag}")


def record(tag: str, *, deployed: bool = True, container: str | None = None) -> DeploymentRecord:
    pushed = image(tag)
    return DeploymentRecord(
        environment="dev", service="apim", record_id=f"D#{tag}", run_id="r", status="ROLLED_BACK",
        trigger=Trigger(kind="image", event_id=f"push-{tag}", image=pushed, container=container),
        image=image("4.7.0-1") if container else pushed,
        sidecar_images={container: pushed} if container else {},
        ecs_deployment_id="ecs-svc/1" if deployed else None,
        created_at=NOW, updated_at=NOW, finished_at=NOW + timedelta(minutes=5),
    )  # fmt: skip


@pytest.mark.parametrize("status", ["FAILED", "ROLLED_BACK"])
def test_a_deployment_ecs_failed_or_rolled_back_bars_its_digest(status):
    kept = failures_after([], record("4.7.0-2"), status)
    assert kept == [
        FailedImage(image=image("4.7.0-2"), record_id="D#4.7.0-2", status=status,
                    failed_at=NOW + timedelta(minutes=5)),
    ]  # fmt: skip
    assert barred(kept, None, "sha256:4.7.0-2") == kept[0]
    assert barred_reason(kept[0]) == (
        "sha256:4.7.0-2 failed here at 2026-11-29T00:05:00+00:00 (record D#4.7.0-2): not "
        "deployed again automatically; push a new build or promote/rollback by hand"
    )


def test_another_digest_or_another_container_is_not_barred():
    kept = failures_after([], record("4.7.0-2"), "FAILED")
    assert barred(kept, None, "sha256:4.7.0-3") is None
    assert barred(kept, "log-router", "sha256:4.7.0-2") is None


def test_a_start_refused_before_ecs_had_a_deployment_bars_nothing():
    # An AWS call failed (throttled, denied) or the service was not this environment's: the
    # image never ran, so the same push delivered again may still deploy it.
    assert failure_of(record("4.7.0-2", deployed=False), "FAILED") is None
    assert failures_after([], record("4.7.0-2", deployed=False), "FAILED") == []


@pytest.mark.parametrize("status", ["TIMED_OUT", "SUPERSEDED", "SKIPPED"])
def test_other_conclusions_keep_what_was_remembered(status):
    kept = failures_after([], record("4.7.0-2"), "FAILED")
    assert failures_after(kept, record("4.7.0-3"), status) == kept


def test_a_digest_that_completed_here_is_no_longer_barred():
    # A person rolled back or promoted to it and it ran: what runs is not barred.
    kept = failures_after([], record("4.7.0-2"), "FAILED")
    kept = failures_after(kept, record("4.7.0-3"), "ROLLED_BACK")
    after = failures_after(kept, record("4.7.0-2"), "COMPLETED")
    assert [f.image.tag for f in after] == ["4.7.0-3"]


def test_a_sidecars_failure_bars_the_sidecars_digest_only():
    kept = failures_after([], record("2.32.5", container="log-router"), "ROLLED_BACK")
    assert barred(kept, "log-router", "sha256:2.32.5") is not None
    assert barred(kept, None, "sha256:2.32.5") is None


def test_the_newest_failures_are_kept_newest_first_once_each():
    kept: list[FailedImage] = []
    for n in range(FAILURES_KEPT + 3):
        kept = failures_after(kept, record(f"4.7.0-{n}"), "FAILED")
    kept = failures_after(kept, record("4.7.0-5"), "ROLLED_BACK")  # failed again, by hand
    assert len(kept) == FAILURES_KEPT
    assert [f.image.tag for f in kept[:3]] == ["4.7.0-5", "4.7.0-12", "4.7.0-11"]
    assert [f.status for f in kept if f.image.tag == "4.7.0-5"] == ["ROLLED_BACK"]


def test_a_redelivery_is_the_same_tag_on_the_same_digest():
    assert same_push(image("4.7.0-2"), image("4.7.0-2"))
    assert not same_push(image("4.7.0-2"), image("4.7.0-2-retag", "sha256:4.7.0-2"))
    assert not same_push(None, image("4.7.0-2"))
