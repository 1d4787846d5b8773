"""Issue 14, finding 9: one push feeding many services was hundreds of sequential AWS calls in one
invocation and two notifications per service. A wide run is now fanned out in batches, each its
own invocation, and told in one start and one summary notification."""

from __future__ import annotations

import random

import yaml

from berth.sandbox.sandbox import Sandbox, example_spec
from chalicelib import handlers
from tests.integration.helpers import live_image

SERVICES = 12  # BERTH_WIDE_RUN is 10: two batches, of 10 and 2


def wide_spec(sandbox: Sandbox, count: int = SERVICES) -> str:
    """The dev example's MI service, `count` times, independent of each other."""
    base = yaml.safe_load(sandbox.adapt_spec(example_spec()))
    template = {k: v for k, v in base["services"]["mi"].items() if k not in ("serviceConnect", "dependsOn")}
    base["services"] = {f"mi-{i:02d}": dict(template) for i in range(count)}
    return yaml.safe_dump(base, sort_keys=False)


def _batches(sandbox: Sandbox, since: int = 0) -> list[list[str]]:
    """The services of each batch delivered: a batch event names its batch in the run's plan."""
    store = handlers.berth().store
    found = []
    for d in sandbox.deliveries[since:]:
        if d.function == "on_deploy_batch":
            run = store.get_run(d.event["detail"]["run_id"])
            assert run is not None and run.plan is not None
            found.append(run.plan.batches[d.event["detail"]["batch"]].services)
    return found


def test_a_wide_spec_is_started_in_batches_and_told_in_one_summary(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.run_until_idle()
    seen = len(sandbox.notifications)
    sandbox.upload_spec(wide_spec(sandbox))
    sandbox.run_until_idle()

    names = [f"mi-{i:02d}" for i in range(SERVICES)]
    assert sorted(name for batch in _batches(sandbox) for name in batch) == names
    assert [len(b) for b in _batches(sandbox)] == [10, 2]
    started, finished = sandbox.notifications[seen:]
    assert (started.subject, started.document["status"]) == (
        "[dev] deploying 12 services: spec s3://berth-specs-123456789012-dev/specs/dev/wso2.yaml "
        "uploaded", "STARTED",
    )  # fmt: skip
    assert (finished.subject, finished.document["status"]) == (
        "[dev] run of 12 services: 12 completed", "COMPLETED",
    )  # fmt: skip
    assert [(o["service"], o["status"]) for o in finished.document["services"]] == [
        (name, "COMPLETED") for name in names
    ]
    assert started.document["run_id"] == finished.document["run_id"]
    ecs = sandbox.client("ecs")
    for name in names:
        [service] = ecs.describe_services(cluster="wso2-dev", services=[name])["services"]
        assert service["status"] == "ACTIVE"


def test_a_push_feeding_many_services_fans_out_and_is_told_once(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.upload_spec(wide_spec(sandbox))
    sandbox.run_until_idle()
    seen, since = len(sandbox.notifications), len(sandbox.deliveries)

    digest = sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()

    [push] = [d for d in sandbox.deliveries[since:] if d.function == "on_image_pushed"]
    # The push's own invocation judges nothing and touches no ECS service: it fans out.
    assert [o["action"] for o in push.result["outcomes"]] == ["pending"] * SERVICES
    assert [len(b) for b in _batches(sandbox, since)] == [10, 2]
    started, finished = sandbox.notifications[seen:]
    assert started.subject == "[dev] deploying 12 services: wso2mi:4.4.0-2 pushed"
    assert finished.subject == "[dev] run of 12 services: 12 completed"
    for i in range(SERVICES):
        assert live_image(sandbox, f"mi-{i:02d}").endswith(f"/wso2mi@{digest}")
        [record, *_] = handlers.berth().store.history("dev", f"mi-{i:02d}")
        assert (record.status, record.run_size) == ("COMPLETED", SERVICES)


def test_a_wide_push_delivered_many_times_in_any_order_is_told_once():
    with Sandbox(rollout_seconds=0.0) as box:
        box.push("wso2mi", "4.4.0-1")
        box.upload_spec(wide_spec(box))
        box.run_until_idle()
        seen = len(box.notifications)
        box.chaos = random.Random(7)  # every event, batches too, delivered 1-3 times, shuffled
        digest = box.push("wso2mi", "4.4.0-2")
        box.run_until_idle()
        box.collect_notifications()
        assert [n.subject for n in box.notifications[seen:]] == [
            "[dev] deploying 12 services: wso2mi:4.4.0-2 pushed",
            "[dev] run of 12 services: 12 completed",
        ]
        for i in range(SERVICES):
            assert live_image(box, f"mi-{i:02d}").endswith(f"/wso2mi@{digest}")


def test_an_older_build_pushed_to_a_wide_run_is_summed_up_as_ignored(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2mi", "4.4.0-3")
    sandbox.upload_spec(wide_spec(sandbox))
    sandbox.run_until_idle()
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()

    sandbox.push("wso2mi", "4.4.0-2")  # older than the 4.4.0-3 that runs
    sandbox.run_until_idle()

    assert sandbox.recorder.ecs_mutations(mark) == []
    started, finished = sandbox.notifications[seen:]
    assert started.subject == "[dev] deploying 12 services: wso2mi:4.4.0-2 pushed"
    assert finished.subject == "[dev] run of 12 services: 12 ignored"
    assert finished.document["status"] == "COMPLETED"


def test_a_tag_no_track_follows_opens_no_run_and_tells_nothing(sandbox):
    # Issue 29, finding 2: a push off every service's track was told as "deploying 12 services"
    # and then "12 ignored".
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.upload_spec(wide_spec(sandbox))
    sandbox.run_until_idle()
    seen, since, mark = len(sandbox.notifications), len(sandbox.deliveries), sandbox.recorder.mark()

    sandbox.push("wso2mi", "4.5.0-1")  # the services follow 4.4.*
    sandbox.run_until_idle()

    assert sandbox.notifications[seen:] == []
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert _batches(sandbox, since) == []
    [push] = [d for d in sandbox.deliveries[since:] if d.function == "on_image_pushed"]
    assert {(o["action"], o["reason"]) for o in push.result["outcomes"]} == {
        ("ignored", "tag 4.5.0-1 does not follow track '4.4.*'")
    }
    # A stage that asked to hear of every push that deploys nothing hears of it, per service,
    # as of an older build on the narrow path; still no run is opened for it.
    handlers.berth().settings.notify_ignored_pushes = True
    sandbox.push("wso2mi", "4.5.0-2")
    sandbox.run_until_idle()
    told = sandbox.notifications[seen:]
    assert sorted(n.subject for n in told) == [
        f"[dev] mi-{i:02d} 4.5.0-2 ignored" for i in range(SERVICES)
    ]
    assert {n.document["reason"] for n in told} == {"tag 4.5.0-2 does not follow track '4.4.*'"}
