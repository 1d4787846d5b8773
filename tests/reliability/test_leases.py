"""Issue 29: a start lease cannot split a start. A holder slow enough for its lease to run out
(a fake clock jumps while it calls ECS) never makes its ECS mutation once another start took the
service, and the start that takes over a lease nobody released reads ECS before acting."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from berth.sandbox import routing
from berth.sandbox.sandbox import Sandbox
from chalicelib import handlers
from tests.integration.helpers import history, live_image
from tests.reliability.specs import small_spec

SLOW = timedelta(minutes=10)
"""How long the slow holder takes: longer than any lease (an invocation's, or START_LEASE)."""


@pytest.fixture
def box(no_retry_sleep: None) -> Iterator[Sandbox]:
    with Sandbox(rollout_seconds=0.0) as sandbox:
        sandbox.push("wso2mi", "4.4.0-1")
        sandbox.run_until_idle()
        sandbox.upload_spec(small_spec(sandbox, "4.4.*", count=1))
        sandbox.run_until_idle()
        yield sandbox


def fake_clock() -> Callable[[timedelta], None]:
    """Berth's clock, moved on by the returned function (the real one underneath)."""
    berth = handlers.berth()
    real, offset = berth.clock, [timedelta(0)]

    def now() -> datetime:
        return real() + offset[0]

    def jump(by: timedelta) -> None:
        offset[0] += by

    berth.clock = now
    return jump


def push_events(box: Sandbox, tag: str) -> list[Any]:
    """Push `tag` and take ECR's event off the bus, undelivered."""
    box.push("wso2mi", tag)
    return routing.drain_queue(box.client("sqs"), box.queue_of("on_image_pushed"))


def on_ecs_call(operation: str, when: str, act: Callable[[dict[str, Any]], None]) -> None:
    """Run `act` once, around Berth's first `operation` call to ECS from now on."""
    done: list[bool] = []

    def hook(params: dict[str, Any] | None = None, **_: Any) -> None:
        if not done:
            done.append(True)
            act(params or {})

    handlers.berth().clients.ecs.meta.events.register(f"{when}.ecs.{operation}", hook)


def tags_updated(box: Sandbox, mark: int) -> list[str]:
    ecs = box.client("ecs")
    tags = []
    for call in box.recorder.ecs_mutations(mark):
        if call.operation == "UpdateService":
            definition = ecs.describe_task_definition(
                taskDefinition=call.params["taskDefinition"]
            )["taskDefinition"]
            tags.append(definition["containerDefinitions"][0]["dockerLabels"]["berth.image.tag"])
    return tags


def test_a_holder_whose_lease_ran_out_never_updates_after_the_next_holder(box):
    # Given a push of 4.4.0-2 whose start is slow: while it registers, its lease runs out and a
    # newer push, 4.4.0-3, takes the service over and updates it
    jump = fake_clock()
    older, newer = push_events(box, "4.4.0-2"), push_events(box, "4.4.0-3")

    def meanwhile(_: dict[str, Any]) -> None:
        jump(SLOW)
        for event in newer:
            box.deliver("on_image_pushed", event)

    on_ecs_call("RegisterTaskDefinition", "before-call", meanwhile)
    mark = box.recorder.mark()

    # When the slow start goes on
    for event in older:
        box.deliver("on_image_pushed", event)
    box.run_until_idle()

    # Then it never updated the service: ECS runs the newer build, as the head says
    assert tags_updated(box, mark) == ["4.4.0-3"]
    head = handlers.berth().store.get_head("dev", "mi-00")
    assert head.image is not None and head.image.tag == "4.4.0-3"
    assert live_image(box, "mi-00").endswith(head.image.digest)
    statuses = [(r.image.tag, r.status) for r in history("mi-00")[:2]]
    assert statuses == [("4.4.0-3", "COMPLETED"), ("4.4.0-2", "SUPERSEDED")]


def test_the_start_that_takes_over_an_unreleased_lease_reads_ecs_and_says_so(box):
    # Given a push whose UpdateService went through while its lease ran out (a slow Lambda),
    # and the same push delivered again meanwhile
    jump = fake_clock()
    events = push_events(box, "4.4.0-2")
    seen = len(box.notifications)

    def meanwhile(_: dict[str, Any]) -> None:
        jump(SLOW)
        for event in events:
            box.deliver("on_image_pushed", event)

    on_ecs_call("UpdateService", "after-call", meanwhile)

    # When both go on
    for event in events:
        box.deliver("on_image_pushed", event)
    box.run_until_idle()

    # Then the delivery that took over describes the service and records why; one outcome
    [record] = [r for r in history("mi-00") if r.image and r.image.tag == "4.4.0-2"]
    assert record.status == "COMPLETED"
    assert any("was never released" in cause for cause in record.causes), record.causes
    head = handlers.berth().store.get_head("dev", "mi-00")
    assert head.starting_record_id is None and head.active_record_id is None
    assert live_image(box, "mi-00").endswith(record.image.digest)
    assert [n.document["status"] for n in box.notifications[seen:]] == ["COMPLETED"]


def test_a_holder_whose_lease_ran_out_during_its_call_never_releases_the_next_holders(box):
    # Given a push whose UpdateService went through while its lease ran out, and another
    # start of the same record that took the lease meanwhile and is still at work
    from chalicelib.flows.lease import take_start_lease

    jump = fake_clock()
    events = push_events(box, "4.4.0-2")
    taken: list[Any] = []

    def meanwhile(_: dict[str, Any]) -> None:
        jump(SLOW)
        store = handlers.berth().store
        head = store.get_head("dev", "mi-00")
        record = store.get_record("dev", "mi-00", str(head.active_record_id))
        taken.append(take_start_lease(handlers.berth(), record))

    on_ecs_call("UpdateService", "after-call", meanwhile)

    # When the slow start records what ECS did
    for event in events:
        box.deliver("on_image_pushed", event)

    # Then the record says the call came after the lease, and the other holder keeps its lease
    head = handlers.berth().store.get_head("dev", "mi-00")
    assert head.starting_record_id == head.active_record_id
    assert head.lease_token == taken[0].lease_token
    record = history("mi-00")[0]
    assert record.status == "IN_PROGRESS"
    assert any("after its start lease had run out" in cause for cause in record.causes)
