"""Issue 29: work decided under an older state never starts. A wide run's batches of spec
version V1, still waiting when V2 was accepted, end SUPERSEDED with the reason, and nothing of
them reaches ECS, though V2 itself claimed nothing ("nothing changed")."""

from __future__ import annotations

from typing import Any

from berth.sandbox import routing
from berth.sandbox.sandbox import Sandbox
from chalicelib import handlers
from tests.reliability.specs import SERVICES, chained_spec, small_spec


def deliver_spec_upload(box: Sandbox) -> None:
    """Deliver the spec uploads waiting, and nothing else (batch events stay queued)."""
    for event in routing.drain_queue(box.client("sqs"), box.queue_of("on_spec_uploaded")):
        box.deliver("on_spec_uploaded", event)


def held_batches(box: Sandbox) -> list[Any]:
    return routing.drain_queue(box.client("sqs"), box.queue_of("on_deploy_batch"))


def test_batches_of_a_spec_version_superseded_by_a_newer_one_never_start(sandbox):
    # Given 11 services running 4.4.0-1, and 4.4.0-2 in ECR
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.run_until_idle()
    sandbox.upload_spec(small_spec(sandbox, "4.4.0-1"))
    sandbox.run_until_idle()
    sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()
    # V1 moves them all to 4.4.0-2: a wide run, its records claimed, its batches still on the bus
    sandbox.upload_spec(small_spec(sandbox, "4.4.0-2"))
    deliver_spec_upload(sandbox)
    batches = held_batches(sandbox)
    assert batches
    # V2 pins them back to what runs: nothing changed, nothing claimed
    v2 = sandbox.upload_spec(small_spec(sandbox, "4.4.0-1"))
    deliver_spec_upload(sandbox)
    sandbox.collect_notifications()  # V1's run start, told when it fanned out
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)

    # When V1's batches are delivered (late, and twice)
    for event in [*batches, *batches]:
        sandbox.deliver("on_deploy_batch", event)
    sandbox.run_until_idle()

    # Then nothing reached ECS, every V1 record says why, and the heads name what runs
    assert sandbox.recorder.ecs_mutations(mark) == []
    store = handlers.berth().store
    for i in range(SERVICES):
        record = store.history("dev", f"mi-{i:02d}")[0]
        assert record.status == "SUPERSEDED", (record.status, record.reason)
        assert f"version {v2} was accepted since" in record.reason
        head = store.get_head("dev", f"mi-{i:02d}")
        assert head.image is not None and head.image.tag == "4.4.0-1"
        assert head.active_record_id is None
    told = [(n.subject, n.document["status"]) for n in sandbox.notifications[seen:]]
    assert [subject for subject, _ in told] == ["[dev] run of 11 services: 11 superseded"]


def test_a_claim_waiting_for_its_dependency_never_starts_after_a_newer_spec(sandbox):
    # Given front and back running 4.4.0-1, and 4.4.0-2 in ECR
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.run_until_idle()
    sandbox.upload_spec(chained_spec(sandbox, "4.4.0-1", "4.4.0-1"))
    sandbox.run_until_idle()
    sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()
    # V1 moves both to 4.4.0-2: front rolls out, back's claim waits for it
    sandbox.upload_spec(chained_spec(sandbox, "4.4.0-2", "4.4.0-2"))
    deliver_spec_upload(sandbox)
    store = handlers.berth().store
    assert store.history("dev", "back")[0].status == "PENDING"
    # V2 keeps front's new build and pins back to what runs: nothing changed, nothing claimed
    v2 = sandbox.upload_spec(chained_spec(sandbox, "4.4.0-2", "4.4.0-1"))
    deliver_spec_upload(sandbox)
    sandbox.collect_notifications()
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)

    # When front's rollout completes (which releases what waited for it)
    sandbox.run_until_idle()

    # Then back was never changed: its V1 claim ended SUPERSEDED, told once, with the reason
    assert [c.params.get("family") or c.params.get("service") for c in
            sandbox.recorder.ecs_mutations(mark)] == []  # fmt: skip
    record = store.history("dev", "back")[0]
    assert record.status == "SUPERSEDED", (record.status, record.reason)
    assert f"version {v2} was accepted since" in record.reason
    head = store.get_head("dev", "back")
    assert head.image is not None and head.image.tag == "4.4.0-1"
    told = [(n.document["service"], n.document["status"]) for n in sandbox.notifications[seen:]]
    assert told == [("front", "COMPLETED"), ("back", "SUPERSEDED")]
