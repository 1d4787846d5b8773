"""Issue 14, "Done when": a working week of operator edits, under EventBridge's delivery.

One scenario, one day per phase, every event delivered one to three times in a seeded shuffle
(`Sandbox(chaos=...)`), in one variant with DynamoDB's index reads lagging behind every write
Berth makes, in one on a stage that tells each deployment's start (BERTH_NOTIFY_STARTED=true;
the others run the default, outcomes only), and one push handled by two invocations at once. After each day `assert_truth` checks that what Berth records as running is what ECS
runs, that nothing is left in flight, and that each record's outcome was told once, truly.

- Monday: the first deploy, APIM before the two MI services that depend on it.
- Tuesday: two quick uploads (scale `mi`, then also a settings-only edit of `apim`), a push,
  and a late push of an older build, which is ignored.
- Wednesday: a broken build, rolled back by the circuit breaker, then the fix.
- Thursday: `apim` renamed to `gateway` (refused; accepted with `retire: {apim: delete}`),
  `reports` removed (warned), `mi` retired with `keep`; a new MI build then deploys nowhere.
- Friday: an experiment, rolled back by deleting the newest spec version; a WSO2 rollout longer
  than the sweep's timeout, timed out while ECS still rolls, corrected by the late COMPLETED,
  and not undone by the next edit.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
import yaml

from berth.sandbox.lambdas import _app_module
from berth.sandbox.sandbox import Sandbox, example_spec
from chalicelib import handlers
from tests.conftest import ROOT
from tests.integration.helpers import (
    assert_truth,
    heads,
    live_image,
    shift_clock,
)
from tests.integration.test_lifecycle import broken_rollout_events
from tests.integration.test_rollout import SCHEDULED
from tests.reliability.test_concurrency import _invoke_together

BUCKET = "berth-specs-123456789012-dev"
KEY = "specs/dev/wso2.yaml"
Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(
    params=[(1, False, False), (3, False, True), (11, True, False)],
    ids=["seed1", "seed3-started", "seed11-index-lag"],
)  # fmt: skip
def week(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    seed, lagging, starts = request.param
    with Sandbox(rollout_seconds=0.0, chaos=random.Random(seed)) as box:
        if lagging:
            box.index_lag.seconds = 3600  # no index query sees what Berth wrote this week
        if starts:
            box.renew_clients(BERTH_NOTIFY_STARTED="true")
        assert handlers.berth().settings.notify_started is starts
        yield box
        box.collect_notifications()
    schema = json.loads((ROOT / "docs" / "notification.schema.json").read_text())
    for note in box.notifications:
        jsonschema.validate(note.document, schema)


class Operator:
    """The spec file as the operator edits it through the week: each edit is kept."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        document = yaml.safe_load(box.adapt_spec(example_spec()))
        reports = copy.deepcopy(document["services"]["mi"])
        reports["environment"]["MI_HOSTNAME"] = "reports"
        reports["serviceConnect"]["offers"] = [{"port": 8253, "name": "reports"}]
        document["services"]["reports"] = reports
        self.document: dict[str, Any] = document

    @property
    def starts(self) -> bool:
        """Whether the stage tells each deployment's start (BERTH_NOTIFY_STARTED)."""
        return handlers.berth().settings.notify_started

    def told(self, service: str, *outcomes: str) -> list[tuple[str | None, str]]:
        """What a deployment of `service` tells: its start on a stage that tells starts, then
        its outcomes."""
        return [(service, "STARTED")] * self.starts + [(service, o) for o in outcomes]

    def upload(self, *edits: Edit) -> str:
        for edit in edits:
            edit(self.document)
        return self.box.upload_spec(yaml.safe_dump(self.document, sort_keys=False))

    def draft(self, *edits: Edit) -> str:
        """The spec with `edits`, not kept (a version the operator throws away)."""
        document = copy.deepcopy(self.document)
        for edit in edits:
            edit(document)
        return yaml.safe_dump(document, sort_keys=False)


def _drain(box: Sandbox, function: str) -> list[dict[str, Any]]:
    queue, sqs = box.queue_of(function), box.client("sqs")
    events = []
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            events.append(dict(json.loads(message["Body"]), account="123456789012"))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return events


def _told(box: Sandbox, since: int) -> list[tuple[str | None, str]]:
    box.collect_notifications()
    return [(n.document["service"], n.document["status"]) for n in box.notifications[since:]]


def _service(box: Sandbox, name: str) -> dict[str, Any]:
    [service] = box.client("ecs").describe_services(cluster="wso2-dev", services=[name])["services"]
    return dict(service)


def _tag(box: Sandbox, name: str) -> str:
    ecs = box.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=_service(box, name)["taskDefinition"])
    return str(
        definition["taskDefinition"]["containerDefinitions"][0]["dockerLabels"]["berth.image.tag"]
    )


def _environment_of(box: Sandbox, name: str) -> dict[str, str]:
    ecs = box.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=_service(box, name)["taskDefinition"])
    [container, *_] = definition["taskDefinition"]["containerDefinitions"]
    return {e["name"]: e["value"] for e in container["environment"]}


def _rename_apim(document: dict[str, Any]) -> None:
    document["services"]["gateway"] = document["services"].pop("apim")
    for service in document["services"].values():
        service["dependsOn"] = [
            "gateway" if d == "apim" else d for d in service.get("dependsOn", [])
        ]


def monday(box: Sandbox, operator: Operator) -> None:
    box.push("wso2mi", "4.4.0-1")
    box.push("wso2am", "4.7.0-1")
    operator.upload()
    box.run_until_idle()
    assert_truth(box)
    told = _told(box, 0)
    assert sorted(told) == sorted(
        [t for s in ("apim", "mi", "reports") for t in operator.told(s, "COMPLETED")]
    )
    # MI registers with APIM at start: neither MI service starts before APIM is deployed.
    assert told.index(("apim", "COMPLETED")) < told.index(("mi", "COMPLETED"))
    assert told.index(("apim", "COMPLETED")) < told.index(("reports", "COMPLETED"))
    if operator.starts:
        assert told.index(("apim", "COMPLETED")) < told.index(("mi", "STARTED"))
        assert told.index(("apim", "COMPLETED")) < told.index(("reports", "STARTED"))
    store = handlers.berth().store
    [apim] = store.history("dev", "apim")
    assert apim.finished_at is not None
    for mi in ("mi", "reports"):
        [record] = store.history("dev", mi)
        assert record.started_at is not None and record.started_at >= apim.finished_at, mi
    assert set(heads(box)) == {"apim", "mi", "reports"}
    assert {s: _tag(box, s) for s in ("apim", "mi", "reports")} == {
        "apim": "4.7.0-1", "mi": "4.4.0-1", "reports": "4.4.0-1",
    }  # fmt: skip


def tuesday(box: Sandbox, operator: Operator) -> None:
    seen = len(box.notifications)

    def scale_ei(document: dict[str, Any]) -> None:
        document["services"]["mi"]["desiredCount"] = 3

    def gentler_apim(document: dict[str, Any]) -> None:
        document["services"]["apim"]["deployment"]["minimumHealthyPercent"] = 50

    # Two uploads in quick succession: whichever S3 event comes first, the newer version wins.
    operator.upload(scale_ei)
    operator.upload(gentler_apim)
    box.run_until_idle()
    assert_truth(box)
    assert _service(box, "mi")["desiredCount"] == 3
    assert _service(box, "apim")["deploymentConfiguration"]["minimumHealthyPercent"] == 50
    assert (_tag(box, "apim"), _tag(box, "mi")) == ("4.7.0-1", "4.4.0-1")  # settings only
    assert {status for _, status in _told(box, seen)} == {"COMPLETED"}

    # A push, its event delivered to two invocations running at once (at-least-once delivery).
    seen = len(box.notifications)
    digest = box.push("wso2am", "4.7.0-3")
    [pushed] = _drain(box, "on_image_pushed")
    results = _invoke_together(_app_module().on_image_pushed, [pushed, pushed], "tuesday")
    assert [r for r in results if isinstance(r, Exception)] == []
    box.run_until_idle()
    assert_truth(box)
    assert _told(box, seen) == operator.told("apim", "COMPLETED")
    # An older build's CI job finishes late: its push must not downgrade APIM.
    seen, mark = len(box.notifications), box.recorder.mark()
    box.push("wso2am", "4.7.0-2")
    box.run_until_idle()
    assert_truth(box)
    assert box.recorder.ecs_mutations(mark) == []
    assert _told(box, seen) == []
    assert live_image(box, "apim").endswith(f"/wso2am@{digest}")
    assert _service(box, "mi")["desiredCount"] == 3  # a push never resets the spec's count


def wednesday(box: Sandbox, operator: Operator) -> None:
    good = live_image(box, "apim")
    seen = len(box.notifications)
    box.push("wso2am", "4.7.0-4", broken_health_check=True)
    box.run_until_idle()
    assert_truth(box)
    assert _told(box, seen) == operator.told("apim", "ROLLED_BACK")
    assert live_image(box, "apim") == good
    assert handlers.berth().store.get_head("dev", "apim").image.tag == "4.7.0-3"  # type: ignore[union-attr]

    seen = len(box.notifications)
    box.push("wso2am", "4.7.0-5")
    box.run_until_idle()
    assert_truth(box)
    assert _told(box, seen) == operator.told("apim", "COMPLETED")
    assert _tag(box, "apim") == "4.7.0-5"


def thursday(box: Sandbox, operator: Operator) -> None:
    # The rename alone would put a twin on APIM's target group: refused, nothing changed.
    seen, mark = len(box.notifications), box.recorder.mark()
    box.upload_spec(operator.draft(_rename_apim))
    box.run_until_idle()
    assert_truth(box)
    assert box.recorder.ecs_mutations(mark) == []
    assert _told(box, seen) == [(None, "REJECTED")]

    # With the old name retired (deleted first), the rename goes through.
    seen = len(box.notifications)

    def retire_apim(document: dict[str, Any]) -> None:
        document["retire"] = {"apim": "delete"}

    operator.upload(_rename_apim, retire_apim)
    box.run_until_idle()
    assert_truth(box)
    assert _service(box, "apim")["status"] == "INACTIVE"
    assert (_service(box, "gateway")["status"], _tag(box, "gateway")) == ("ACTIVE", "4.7.0-5")
    told = _told(box, seen)
    assert sorted(told) == sorted([("apim", "RETIRED"), *operator.told("gateway", "COMPLETED")])

    # `reports` leaves the spec: it keeps running, and Berth says so once.
    seen = len(box.notifications)
    operator.upload(lambda d: d["services"].pop("reports"))
    box.run_until_idle()
    assert_truth(box)
    assert _told(box, seen) == [("reports", "WARNING")]
    assert _service(box, "reports")["status"] == "ACTIVE"

    # `mi` is retired but left running, unmanaged: no ECS call.
    seen, mark = len(box.notifications), box.recorder.mark()

    def retire_ei(document: dict[str, Any]) -> None:
        document["services"].pop("mi")
        document["retire"]["mi"] = "keep"

    operator.upload(retire_ei)
    box.run_until_idle()
    assert_truth(box)
    assert box.recorder.ecs_mutations(mark) == []
    assert _told(box, seen) == [("mi", "RETIRED")]

    # A new MI build now deploys nowhere: neither service is Berth's to change any more.
    before = {s: live_image(box, s) for s in ("mi", "reports")}
    seen, mark = len(box.notifications), box.recorder.mark()
    box.push("wso2mi", "4.4.0-2")
    box.run_until_idle()
    assert_truth(box)
    assert box.recorder.ecs_mutations(mark) == []
    assert _told(box, seen) == []
    assert {s: live_image(box, s) for s in ("mi", "reports")} == before


def friday(box: Sandbox, operator: Operator) -> None:
    store = handlers.berth().store
    accepted = store.accepted_spec("dev")
    assert accepted is not None
    # An experiment goes out, and is rolled back by deleting the newest version of the file.
    seen = len(box.notifications)
    experiment = box.upload_spec(
        operator.draft(lambda d: d["services"]["gateway"]["environment"].update(EXPERIMENT="on"))
    )
    box.run_until_idle()
    assert_truth(box)
    assert _environment_of(box, "gateway")["EXPERIMENT"] == "on"
    seen = len(box.notifications)
    box.client("s3").delete_object(Bucket=BUCKET, Key=KEY, VersionId=experiment)
    box.run_until_idle()
    assert_truth(box)
    assert "EXPERIMENT" not in _environment_of(box, "gateway")
    assert store.accepted_spec("dev").source.version_id == accepted.source.version_id  # type: ignore[union-attr]
    assert _told(box, seen) == operator.told("gateway", "COMPLETED")

    # A WSO2 rollout outlives the sweep's 30 minutes: timed out while ECS still rolls it, the head
    # kept on what ECS moves to, then corrected by ECS's late COMPLETED.
    assert box.ecs_sim is not None
    box.ecs_sim.rollout_seconds = 3600
    seen = len(box.notifications)
    digest = box.push("wso2am", "4.7.0-6")
    box.pump()
    box.advance_ecs()
    box.pump()
    box.index_lag.seconds = 0  # half an hour later the indexes have caught up
    shift_clock(31)
    swept = box.deliver("sweep", SCHEDULED)
    assert [o["action"] for o in swept.result["outcomes"]] == ["timed-out"]
    head = store.get_head("dev", "gateway")
    assert (head.image and head.image.tag, head.active_record_id) == ("4.7.0-6", None)
    box.ecs_sim.rollout_seconds = 0.0
    box.run_until_idle()
    assert_truth(box)
    notes = box.notifications[seen:]
    assert [(n.document["status"], n.document["reason"].split(":")[0]) for n in notes] == [
        ("STARTED", ""),
    ] * operator.starts + [
        ("TIMED_OUT", "no outcome after 30 min; ECS says IN_PROGRESS"),
        ("COMPLETED", "ECS finished it after Berth had timed it out"),
    ]
    # The next, unrelated edit keeps the image ECS finished rolling out.
    seen = len(box.notifications)
    operator.upload(lambda d: d["services"]["gateway"]["environment"].update(WEEKEND="yes"))
    box.run_until_idle()
    assert_truth(box)
    assert _told(box, seen) == operator.told("gateway", "COMPLETED")
    assert live_image(box, "gateway").endswith(f"/wso2am@{digest}")
    assert _environment_of(box, "gateway")["WEEKEND"] == "yes"
    assert set(heads(box)) == {"apim", "mi", "reports", "gateway"}


def test_a_week_of_operator_edits_ends_in_the_truth(week: Sandbox) -> None:
    operator = Operator(week)
    for day in (monday, tuesday, wednesday, thursday, friday):
        day(week, operator)


# ---- what the week found, each on its own -------------------------------------------------------


def test_a_rollbacks_completed_delivered_again_after_the_outcome_is_not_external(sandbox):
    # Found by the week (Wednesday, under duplicated delivery): the rollback's COMPLETED carries
    # the rollback deployment's own id, which no record holds; once its first delivery concluded
    # the record ROLLED_BACK, no head pointed at the record and no record was ROLLING_BACK, so
    # the second delivery was announced "[wso2-dev] apim deployment not started by Berth".
    events = broken_rollout_events(sandbox)
    completed = events[-1]
    assert completed["detail"]["eventName"] == "SERVICE_DEPLOYMENT_COMPLETED"
    sandbox.collect_notifications()
    seen = len(sandbox.notifications)
    for event in [*events, completed]:
        sandbox.deliver("on_deployment_state_change", event)
    again = sandbox.deliver("on_deployment_state_change", dict(completed, id="redelivered"))
    # The follow-ups are redone, as for any repeated event; nothing is announced again.
    assert [o["action"] for o in again.result["outcomes"]] == ["rolled-back"]
    assert _told(sandbox, seen) == [("apim", "ROLLED_BACK")]
    assert_truth(sandbox)
