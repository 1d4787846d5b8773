"""The flows against in-memory adapters: what reaches ECS, the store and the notifier, no moto."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.flows.image_push import on_image_pushed
from chalicelib.flows.rollout import on_deployment_event
from chalicelib.flows.spec_upload import on_spec_uploaded
from chalicelib.values.events import EcrImageAction, EcsDeploymentStateChange, SpecObject
from tests.conftest import EXAMPLES
from tests.fakes import in_memory_berth

SPEC = (EXAMPLES / "wso2-dev.yaml").read_text()
PUSHED = datetime(2026, 11, 28, tzinfo=UTC)
DIGEST = {tag: "sha256:" + f"{i:x}" * 64 for i, tag in enumerate(["4.4.0-1", "4.7.0-1", "4.7.0-2"], 1)}


def upload(berth, text: str, version: str):
    berth.spec_objects.objects[("specs", "specs/dev/wso2.yaml", version)] = text.encode()
    obj = SpecObject(
        event_id=f"ev-{version}", bucket="specs",
        key="specs/dev/wso2.yaml", version_id=version, sequencer=f"{int(version[1:]):04X}",
        time=PUSHED,
    )  # fmt: skip
    return on_spec_uploaded(berth, obj)


def completed(berth, service: str) -> list:
    """ECS reports the service's newest deployment COMPLETED."""
    svc = berth.ecs.services[f"wso2-dev/{service}"]
    deployment = svc["deployments"][0]
    deployment["rolloutState"] = "COMPLETED"
    event = EcsDeploymentStateChange.model_validate(
        {
            "version": "0", "id": f"done-{deployment['id']}", "source": "aws.ecs",
            "detail-type": "ECS Deployment State Change", "account": "123456789012",
            "time": "2026-11-29T00:00:00Z", "region": "us-east-1",
            "resources": [svc["serviceArn"]],
            "detail": {"eventType": "INFO", "eventName": "SERVICE_DEPLOYMENT_COMPLETED",
                       "deploymentId": deployment["id"], "reason": "done."},
        }
    )  # fmt: skip
    return on_deployment_event(berth, event)


@pytest.fixture
def deployed():
    """The dev example deployed, each service completing in dependency order."""
    berth = in_memory_berth()
    berth.ecr.push("wso2mi", "4.4.0-1", DIGEST["4.4.0-1"], PUSHED)
    berth.ecr.push("wso2am", "4.7.0-1", DIGEST["4.7.0-1"], PUSHED)
    return settled(berth, upload(berth, SPEC, "v1"))


def settled(berth, outcomes: list):
    """`berth` once every service `outcomes` started has completed, in dependency order, with
    the calls and notifications that took forgotten."""
    started = [o.service for o in outcomes if o.action == "started"]
    while started:
        started = [o.service for o in completed(berth, started[0]) if o.action == "started"]
    assert {r.status for r in berth.store.records.values()} == {"COMPLETED"}
    berth.ecs.mutations.clear()
    berth.notifier.published.clear()
    return berth


def test_a_settings_only_edit_is_applied_in_place_and_completes(deployed):
    # Issue 14, finding 1: scaling 2 -> 3 crashed after UpdateService (reason passed twice).
    outcomes = upload(deployed, SPEC.replace("desiredCount: 2", "desiredCount: 3", 1), "v2")
    assert [(o.action, o.service, o.reason) for o in outcomes] == [
        ("completed", "mi", "service settings updated in place")
    ]
    assert deployed.ecs.mutations == [("UpdateService", "mi")]
    assert deployed.ecs.services["wso2-dev/mi"]["desiredCount"] == 3
    assert [n.subject for n in deployed.notifier.published] == ["[dev] mi 4.4.0-1 deployed"]
    # Nothing is left owning the service: the next push is judged at once.
    assert deployed.store.get_head("dev", "mi").active_record_id is None


def test_moving_an_environment_to_another_cluster_is_refused_while_its_services_run(deployed):
    outcomes = upload(deployed, SPEC.replace("cluster: wso2-dev", "cluster: wso2-next", 1), "v2")
    assert [o.action for o in outcomes] == ["rejected"]
    assert deployed.ecs.mutations == []
    [note] = deployed.notifier.published
    assert note.errors == [
        "cluster: apim, mi of dev still run on wso2-dev, and ECS cannot move a service to "
        "wso2-next; keep cluster wso2-dev, or delete them there first (retire them with delete "
        "in a spec that keeps wso2-dev)"
    ]


def test_an_unchanged_reupload_changes_nothing(deployed):
    outcomes = upload(deployed, SPEC, "v2")
    assert [o.reason for o in outcomes] == [
        "nothing changed: every service already runs what the spec renders"
    ]
    assert deployed.ecs.mutations == []


def newer_push(berth: Any) -> EcrImageAction:
    """4.7.0-2 put into (fake) ECR, and the event ECR sends for it."""
    berth.ecr.push("wso2am", "4.7.0-2", DIGEST["4.7.0-2"], PUSHED)
    return EcrImageAction.model_validate(
        {
            "version": "0", "id": "push-2", "source": "aws.ecr", "detail-type": "ECR Image Action",
            "account": "123456789012", "time": "2026-11-29T00:00:00Z", "region": "us-east-1",
            "resources": [],
            "detail": {"result": "SUCCESS", "action-type": "PUSH", "repository-name": "wso2am",
                       "image-digest": DIGEST["4.7.0-2"], "image-tag": "4.7.0-2"},
        }
    )  # fmt: skip


def test_a_newer_push_registers_and_rolls_only_its_service(deployed):
    push = newer_push(deployed)
    assert [o.action for o in on_image_pushed(deployed, push)] == ["started"]
    assert deployed.ecs.mutations == [
        ("RegisterTaskDefinition", "dev-apim"),
        ("UpdateService", "apim"),
    ]
    # The same push again: already the image the head points at, nothing more reaches ECS.
    assert [o.reason for o in on_image_pushed(deployed, push)] == [
        f"4.7.0-2 ({DIGEST['4.7.0-2'][:19]}) is already the running image"
    ]
    assert len(deployed.ecs.mutations) == 2


def _retagged(push: EcrImageAction, tag: str) -> EcrImageAction:
    detail = push.detail.model_copy(update={"image_tag": tag})
    return push.model_copy(update={"id": f"push-{tag}", "detail": detail})


def test_a_digest_that_failed_is_not_deployed_again_but_by_a_persons_choice(deployed):
    # Issue 29, finding 1: a redelivery after the failure registered and updated again.
    from chalicelib.flows.image_push import deploy_image
    from chalicelib.flows.runs.finish import fail
    from chalicelib.spec.model import Spec

    push = newer_push(deployed)
    on_image_pushed(deployed, push)
    head = deployed.store.get_head("dev", "apim")
    started = deployed.store.get_record("dev", "apim", head.active_record_id)
    [outcome] = fail(deployed, started, "ECS deployment circuit breaker: tasks failed to start.",
                     [], "ecs")  # fmt: skip
    assert outcome.action == "failed"
    failed = deployed.store.get_record("dev", "apim", started.record_id)
    deployed.ecs.mutations.clear()
    deployed.notifier.published.clear()
    deployed.settings.notify_ignored_pushes = True

    barred = (
        f"{DIGEST['4.7.0-2']} failed here at {failed.finished_at.isoformat()} (record "
        f"{failed.record_id}): not deployed again automatically; push a new build or "
        "promote/rollback by hand"
    )
    assert [(o.action, o.reason) for o in on_image_pushed(deployed, push)] == [("ignored", barred)]
    assert deployed.ecs.mutations == [] and deployed.notifier.published == []
    # A new tag on the failed build is a person's new push: refused the same way, and told on a
    # stage that asks to hear of ignored pushes.
    deployed.ecr.push("wso2am", "4.7.0-9", DIGEST["4.7.0-2"], PUSHED)
    assert [o.reason for o in on_image_pushed(deployed, _retagged(push, "4.7.0-9"))] == [barred]
    assert [n.subject for n in deployed.notifier.published] == ["[dev] apim 4.7.0-9 ignored"]
    assert deployed.ecs.mutations == []
    # A person's rollback or promotion to it passes the bar.
    accepted = deployed.store.accepted_spec("dev")
    spec = Spec.model_validate(accepted.document)
    asked = failed.trigger.model_copy(update={"kind": "rollback", "event_id": "asked"})
    outcomes = deploy_image(
        deployed, spec, accepted, "apim", image=failed.image, trigger=asked, never_older=False
    )
    assert [o.action for o in outcomes] == ["started"]
    assert ("UpdateService", "apim") in deployed.ecs.mutations


# ---- one start at a time, and only by the head's owner ------------------------------------------


def _claim_push(berth, tag: str):
    from chalicelib.flows.claims import claim, new_run_id
    from chalicelib.spec.model import Spec
    from chalicelib.values.records import Image, Trigger

    accepted = berth.store.accepted_spec("dev")
    spec = Spec.model_validate(accepted.document)
    berth.ecr.push("wso2am", tag, "sha256:" + tag.replace(".", "").replace("-", "") * 8, PUSHED)
    image = Image(repository="wso2am", tag=tag, digest="sha256:" + "e" * 64, pushed_at=PUSHED)
    record = claim(
        berth, spec, "apim", image=image, run_id=new_run_id(),
        trigger=Trigger(kind="image", event_id=tag), waiting=[],
    )  # fmt: skip
    return spec, accepted, record


def test_a_claim_superseded_before_its_start_never_touches_ecs(deployed):
    from chalicelib.flows.runs.start import start

    spec, accepted, older = _claim_push(deployed, "4.7.0-2")
    _claim_push(deployed, "4.7.0-3")  # a newer push claims the service first
    outcomes = start(deployed, older, spec, accepted)
    assert [(o.action, o.reason) for o in outcomes] == [
        ("ignored", "superseded by a newer change before it started")
    ]
    assert deployed.ecs.mutations == []


def test_a_start_waits_while_another_start_holds_the_service(deployed):
    from chalicelib.flows.runs.start import start

    spec, accepted, record = _claim_push(deployed, "4.7.0-2")
    head = deployed.store.get_head("dev", "apim")
    deployed.store.put_head(
        head.model_copy(update={"starting_record_id": "D#other", "starting_since": deployed.clock()})
    )
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:  # the other start finishes and releases the service
            current = deployed.store.get_head("dev", "apim")
            deployed.store.put_head(
                current.model_copy(update={"starting_record_id": None, "starting_since": None})
            )

    deployed.sleep = sleep
    assert [o.action for o in start(deployed, record, spec, accepted)] == ["started"]
    assert len(waits) == 3 and deployed.ecs.mutations[-1] == ("UpdateService", "apim")
    assert deployed.store.get_head("dev", "apim").starting_record_id is None


def test_the_lease_of_a_start_that_died_is_taken_over(deployed):
    from datetime import timedelta

    from chalicelib.flows.lease import START_LEASE
    from chalicelib.flows.runs.start import start

    spec, accepted, record = _claim_push(deployed, "4.7.0-2")
    head = deployed.store.get_head("dev", "apim")
    died = deployed.clock() - START_LEASE - timedelta(seconds=1)
    deployed.store.put_head(
        head.model_copy(update={"starting_record_id": "D#dead", "starting_since": died})
    )
    deployed.sleep = lambda _: pytest.fail("waited for a dead start")
    assert [o.action for o in start(deployed, record, spec, accepted)] == ["started"]


def test_a_second_delivery_waits_for_the_start_lease_its_own_claim_holds(deployed):
    # Without an idempotency table, a redelivered push can find its own record's claim being
    # started by the first delivery: it must wait, not start the same record a second time.
    from chalicelib.flows.lease import lease_until_invocation_ends
    from chalicelib.flows.runs.start import start

    spec, accepted, record = _claim_push(deployed, "4.7.0-2")
    head = deployed.store.get_head("dev", "apim")
    deployed.store.put_head(
        head.model_copy(update=lease_until_invocation_ends(record, deployed.clock()))
    )
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the first delivery starts it meanwhile
        waits.append(seconds)
        if len(waits) == 2:
            from chalicelib.flows.lease import release_start_lease

            deployed.store.transition(record, {"PENDING"}, status="IN_PROGRESS")
            holder = deployed.store.get_head("dev", "apim").lease_token
            release_start_lease(deployed, record, holder)

    deployed.sleep = sleep
    outcomes = start(deployed, record, spec, accepted)
    assert [(o.action, o.reason) for o in outcomes] == [
        ("ignored", "another delivery started it")
    ]
    assert len(waits) == 2 and deployed.ecs.mutations == []


def test_a_start_lease_expires_with_its_holders_invocation(deployed):
    from datetime import timedelta

    from chalicelib.context import invocation_started
    from chalicelib.flows.lease import lease_free, lease_until_invocation_ends

    now = deployed.clock()
    _, _, record = _claim_push(deployed, "4.7.0-2")
    head = deployed.store.get_head("dev", "apim")
    invocation_started(now + timedelta(seconds=60))
    try:
        leased = head.model_copy(update=lease_until_invocation_ends(record, now))
    finally:
        invocation_started(None)
    assert leased.starting_until == now + timedelta(seconds=60)
    assert not lease_free(leased, now + timedelta(seconds=59))
    assert lease_free(leased, now + timedelta(seconds=60))


def test_a_push_claim_carries_the_start_lease_unless_another_start_holds_it(deployed):
    from chalicelib.flows.claims import claim_head, new_run_id
    from chalicelib.values.records import Image, Trigger

    spec, _, _ = _claim_push(deployed, "4.7.0-2")
    image = Image(repository="wso2am", tag="4.7.0-3", digest="sha256:" + "f" * 64, pushed_at=PUSHED)
    head = deployed.store.get_head("dev", "apim")
    busy = deployed.store.put_head(
        head.model_copy(update={"starting_record_id": "D#other", "starting_since": deployed.clock()})
    )
    claimed = claim_head(
        deployed, spec, "apim", image=image, run_id=new_run_id(), head=busy,
        trigger=Trigger(kind="image", event_id="4.7.0-3"), waiting=[], lease=True,
    )  # fmt: skip
    assert claimed is not None
    record, written = claimed
    assert written.active_record_id == record.record_id
    assert written.starting_record_id == "D#other"  # never taken from a start under way


# ---- the sweep measures from the rollout's start and lets dependents wait their turn -----------


def test_the_sweep_measures_a_rollout_from_its_start_not_its_record(deployed):
    from datetime import timedelta

    from chalicelib.flows.sweep import sweep

    deployed.settings.rollout_timeout_minutes = 30
    now = deployed.clock()
    apim = deployed.store.history("dev", "apim")[0]
    # APIM waited 25 minutes for its dependency, then rolled for 6: not due.
    deployed.store.records[(apim.target, apim.record_id)] = apim.model_copy(
        update={"status": "IN_PROGRESS", "created_at": now - timedelta(minutes=31),
                "started_at": now - timedelta(minutes=6)}
    )  # fmt: skip
    deployed.clock = lambda: now
    assert sweep(deployed) == []


def test_the_sweep_leaves_a_dependent_waiting_while_its_dependency_deploys(deployed):
    from datetime import timedelta

    from chalicelib.flows.claims import claim, new_run_id
    from chalicelib.flows.sweep import sweep
    from chalicelib.spec.model import Spec
    from chalicelib.values.records import Image, Trigger

    spec = Spec.model_validate(deployed.store.accepted_spec("dev").document)
    image = Image(repository="wso2mi", tag="4.4.0-9", digest="sha256:" + "9" * 64)
    mi = claim(deployed, spec, "mi", image=image, run_id=new_run_id(),
               trigger=Trigger(kind="image", event_id="e"), waiting=[])  # fmt: skip
    deployed.store.transition(mi, {"PENDING"}, status="IN_PROGRESS", started_at=deployed.clock())
    apim = claim(deployed, spec, "apim", image=Image(repository="wso2am", tag="4.7.0-9",
                 digest="sha256:" + "8" * 64), run_id=new_run_id(),
                 trigger=Trigger(kind="image", event_id="e"), waiting=["mi"])  # fmt: skip
    later = deployed.clock() + timedelta(minutes=31)
    deployed.clock = lambda: later
    # EI's rollout started 5 minutes ago (it waited for something else first): not due, live.
    mi_now = deployed.store.get_record("dev", "mi", mi.record_id)
    deployed.store.records[(mi.target, mi.record_id)] = mi_now.model_copy(
        update={"started_at": later - timedelta(minutes=5)}
    )
    assert sweep(deployed) == []
    assert deployed.store.get_record("dev", "apim", apim.record_id).status == "PENDING"


def test_an_event_before_berth_recorded_its_deployment_is_retried_not_called_external(deployed):
    # Issue 14, finding 3: the record is written after UpdateService returns; ECS's event can
    # come first (or the write failed and Lambda will retry it).
    from chalicelib.flows.rollout import EventBeforeItsRecord, on_deployment_event

    _claim_push(deployed, "4.7.0-2")  # PENDING, owns the head, no deployment id yet
    arn = deployed.ecs.services["wso2-dev/apim"]["serviceArn"]
    event = EcsDeploymentStateChange.model_validate(
        {
            "version": "0", "id": "early", "source": "aws.ecs",
            "detail-type": "ECS Deployment State Change", "account": "123456789012",
            "time": "2026-11-29T00:00:00Z", "region": "us-east-1", "resources": [arn],
            "detail": {"eventType": "INFO", "eventName": "SERVICE_DEPLOYMENT_COMPLETED",
                       "deploymentId": "ecs-svc/99", "reason": "done."},
        }
    )  # fmt: skip
    with pytest.raises(EventBeforeItsRecord):
        on_deployment_event(deployed, event)
    assert deployed.store.external == set()
    assert deployed.notifier.published == []
