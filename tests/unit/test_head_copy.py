"""ECS's outcome concluded from the copy of the active record its head keeps (issue 17: no read
of the record on COMPLETED), and never from a stale copy: a write of the record alone since the
copy makes the conditional write fail, and the record is read and the event decided again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from chalicelib.flows.image_push import on_image_pushed
from chalicelib.flows.rollout import on_deployment_event, on_service_action
from chalicelib.values.events import EcsDeploymentStateChange, EcsServiceAction
from chalicelib.values.records import Approval, DeploymentRecord
from tests.unit.test_flows import completed, deployed, newer_push  # noqa: F401 - fixture

SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/wso2-dev/apim"


@pytest.fixture
def pushed(deployed):  # noqa: F811 - the fixture imported above
    """4.7.0-2 pushed and started on APIM; the stage binds wso2-dev to dev, so ECS's events are
    found through APIM's head; get_record calls counted from here on."""
    berth = deployed
    push = newer_push(berth)
    assert [o.action for o in on_image_pushed(berth, push)] == ["started"]
    # Bound after the start: a fence of clusters alone would refuse the spec's roles at start.
    berth.settings.fence_variables = {"BERTH_ENVIRONMENT_CLUSTERS": "dev=wso2-dev"}
    berth.reads = []
    read = berth.store.get_record

    def counted(environment, service, record_id):
        berth.reads.append((service, record_id))
        return read(environment, service, record_id)

    berth.store.get_record = counted
    return berth


def active(berth) -> DeploymentRecord:
    head = berth.store.get_head("dev", "apim")
    return berth.store.records[(head.target, head.active_record_id)]


def test_the_start_leaves_a_copy_of_the_record_in_the_head(pushed):
    head = pushed.store.get_head("dev", "apim")
    assert head.active_record == active(pushed)
    assert head.active_record.status == "IN_PROGRESS" and head.active_record.stamp


def test_completed_is_concluded_from_the_copy_without_reading_the_record(pushed):
    record = active(pushed)
    outcomes = completed(pushed, "apim")

    assert [(o.action, o.service) for o in outcomes] == [("completed", "apim")]
    assert pushed.reads == []
    done = pushed.store.records[(record.target, record.record_id)]
    assert (done.status, done.stages) == ("COMPLETED", ["completed"])
    head = pushed.store.get_head("dev", "apim")
    assert (head.active_record_id, head.active_record) == (None, None)
    assert [n.subject for n in pushed.notifier.published] == ["[dev] apim 4.7.0-2 deployed"]


def _impaired(berth) -> None:
    """ECS reports trouble starting tasks: Berth keeps it as a cause, on the record alone."""
    event = EcsServiceAction.model_validate(
        {
            "version": "0", "id": "impaired-1", "source": "aws.ecs",
            "detail-type": "ECS Service Action", "account": "123456789012",
            "time": "2026-11-29T00:00:00Z", "region": "us-east-1", "resources": [SERVICE_ARN],
            "detail": {"eventType": "WARN", "eventName": "SERVICE_TASK_START_IMPAIRED",
                       "reason": "cannot pull"},
        }
    )  # fmt: skip
    assert [o.action for o in on_service_action(berth, event)] == ["recorded"]


def _approved(berth) -> None:
    """The approval gate: asked and approved, written on the record alone."""
    record = active(berth)
    now = berth.clock()
    asked = Approval(asked_at=now, deadline=now + timedelta(hours=1))
    waiting = berth.store.transition_approval(record, None, approval=asked)
    assert berth.store.transition_approval(
        waiting, "WAITING", approval=asked.model_copy(update={"approved_by": "me"})
    )


def _staged(berth) -> None:
    """A blue/green stage line (Berth's verification hook), on the record alone."""
    record = active(berth)
    assert berth.store.transition(record, {"IN_PROGRESS"}, stages=["verification passed"])


STALE_WRITES: dict[str, tuple[Callable[..., None], Callable[[DeploymentRecord], object]]] = {
    "a cause": (_impaired, lambda r: r.causes),
    "an approval": (_approved, lambda r: r.approval and r.approval.approved_by),
    "a stage line": (_staged, lambda r: r.stages[:1]),
}


@pytest.mark.parametrize("written", STALE_WRITES, ids=list(STALE_WRITES))
def test_a_copy_a_later_write_made_stale_is_read_again_and_nothing_is_lost(pushed, written):
    write, kept = STALE_WRITES[written]
    record = active(pushed)
    write(pushed)
    fresh = pushed.store.records[(record.target, record.record_id)]
    assert kept(fresh) and pushed.store.get_head("dev", "apim").active_record != fresh
    pushed.reads.clear()

    outcomes = completed(pushed, "apim")

    assert [(o.action, o.service) for o in outcomes] == [("completed", "apim")]
    assert pushed.reads == [("apim", record.record_id)]  # the fallback's one read
    done = pushed.store.records[(record.target, record.record_id)]
    assert done.status == "COMPLETED"
    assert kept(done) == kept(fresh)  # what the write of the record alone added is still there
    assert "completed" in done.stages
    assert [n.subject for n in pushed.notifier.published][-1] == "[dev] apim 4.7.0-2 deployed"


def _failed(berth) -> list:
    svc = berth.ecs.services["wso2-dev/apim"]
    event = EcsDeploymentStateChange.model_validate(
        {
            "version": "0", "id": "failed-1", "source": "aws.ecs",
            "detail-type": "ECS Deployment State Change", "account": "123456789012",
            "time": "2026-11-29T00:00:00Z", "region": "us-east-1",
            "resources": [svc["serviceArn"]],
            "detail": {"eventType": "ERROR", "eventName": "SERVICE_DEPLOYMENT_FAILED",
                       "deploymentId": svc["deployments"][0]["id"],
                       "reason": "ECS deployment circuit breaker: tasks failed to start."},
        }
    )  # fmt: skip
    return on_deployment_event(berth, event)


def test_a_rollback_start_from_a_stale_copy_keeps_the_cause_written_since(pushed):
    record = active(pushed)
    _impaired(pushed)
    pushed.reads.clear()

    assert [o.action for o in _failed(pushed)] == ["rolling-back"]

    assert pushed.reads == [("apim", record.record_id)]
    rolling = pushed.store.records[(record.target, record.record_id)]
    assert rolling.status == "ROLLING_BACK"
    assert "SERVICE_TASK_START_IMPAIRED: cannot pull" in rolling.causes


def test_a_head_written_before_copies_were_kept_still_concludes(pushed):
    head = pushed.store.get_head("dev", "apim")
    pushed.store.heads[head.target] = head.model_copy(update={"active_record": None})

    assert [o.action for o in completed(pushed, "apim")] == ["completed"]
    assert pushed.reads == [("apim", head.active_record_id)]
    assert active_or_none(pushed) is None


def active_or_none(berth) -> str | None:
    return berth.store.get_head("dev", "apim").active_record_id


def test_a_concurrent_delivery_holding_the_same_copy_concludes_and_tells_it_once(pushed):
    # Two deliveries of COMPLETED read the head (and its copy) before either writes.
    read_head = pushed.store.head_and_waiters
    before = read_head("dev", "apim")
    pushed.store.head_and_waiters = lambda environment, service: before
    first = completed(pushed, "apim")
    second = completed(pushed, "apim")

    assert [o.action for o in first] == ["completed"]
    assert [o.action for o in second] == ["completed"]  # follow-ups redone, safe to repeat
    assert [n.subject for n in pushed.notifier.published].count(
        "[dev] apim 4.7.0-2 deployed"
    ) == 1
    assert active_or_none(pushed) is None


def test_the_in_memory_store_refuses_a_write_based_on_a_stale_copy(pushed):
    copy = pushed.store.get_head("dev", "apim").active_record
    assert pushed.store.transition(copy, {"IN_PROGRESS"}, causes=["one"]) is not None
    assert pushed.store.transition(copy, {"IN_PROGRESS"}, unchanged=True, causes=["two"]) is None
    stored = pushed.store.records[(copy.target, copy.record_id)]
    assert stored.causes == ["one"]
