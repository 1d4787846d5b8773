"""Steps the integration tests share: what a user does, against the sandbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from berth.sandbox.sandbox import Sandbox, example_spec
from chalicelib import handlers
from chalicelib.values.records import ACTIVE, SPEC_SERVICE, Head


def deploy_example(sandbox: Sandbox, mi: str = "4.4.0-1", apim: str = "4.7.0-1") -> None:
    """Push the first images, upload the dev example spec, let the rollouts finish."""
    sandbox.push("wso2mi", mi)
    sandbox.push("wso2am", apim)
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()


def statuses(sandbox: Sandbox) -> list[tuple[str | None, str]]:
    sandbox.collect_notifications()
    return [(n.document["service"], n.document["status"]) for n in sandbox.notifications]


def outcomes(sandbox: Sandbox, function: str, since: int = 0) -> list[dict[str, Any]]:
    return [
        o
        for d in sandbox.deliveries[since:]
        if d.function == function
        for o in (d.result or {}).get("outcomes", [])
    ]


def live_image(sandbox: Sandbox, service: str, cluster: str = "wso2-dev") -> str:
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster=cluster, services=[service])["services"][0][
        "taskDefinition"
    ]
    return str(
        ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]["containerDefinitions"][
            0
        ]["image"]
    )


def history(service: str, environment: str = "dev") -> list[Any]:
    return handlers.berth().store.history(environment, service)


OUTCOME_STATUSES = frozenset(
    {"COMPLETED", "FAILED", "ROLLED_BACK", "TIMED_OUT", "SKIPPED", "REJECTED", "SUPERSEDED"}
)
CORRECTED = "ECS finished it after Berth had timed it out"
"""The reason a record carries when ECS's late outcome corrected Berth's TIMED_OUT."""


def shift_clock(minutes: int) -> None:
    """Move Berth's clock `minutes` ahead, and keep it running (the sweep's simulated time)."""
    berth = handlers.berth()
    before, delta = berth.clock, timedelta(minutes=minutes)
    berth.clock = lambda: before() + delta


def heads(sandbox: Sandbox, environment: str = "dev") -> dict[str, Head]:
    """Every service head Berth keeps for `environment`, by service."""
    table = handlers.berth().settings.deployments_table
    found: dict[str, Head] = {}
    for page in sandbox.client("dynamodb").get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            if item["sk"]["S"] == "HEAD" and item["pk"]["S"].startswith(f"{environment}#"):
                head = Head.model_validate_json(item["body"]["S"])
                found[head.service] = head
    return found


def assert_truth(sandbox: Sandbox, environment: str = "dev", cluster: str = "wso2-dev") -> None:
    """Once idle, Berth's records are what runs, and it told each outcome once and truly.

    - every service head names the live task definition and its image (DescribeServices, then
      DescribeTaskDefinition), and owns no record; a head whose service is gone (retired with
      `delete`) is only checked to own nothing;
    - no record is left PENDING, IN_PROGRESS or ROLLING_BACK;
    - each record's outcome notifications are exactly [its status], or [TIMED_OUT, its status]
      when ECS's late outcome corrected a timeout; STARTED at most once, and never on a stage
      that tells no starts (BERTH_NOTIFY_STARTED, the default); every notification names a
      record Berth kept (or none); nothing of Berth's own called EXTERNAL;
    - no invocation ended in an error (Lambda's dead-letter queue).
    """
    sandbox.collect_notifications()
    assert [d.error for d in sandbox.deliveries if d.error] == []
    ecs, store = sandbox.client("ecs"), handlers.berth().store
    records = {}
    for service, head in heads(sandbox, environment).items():
        assert (service, head.active_record_id, head.starting_record_id) == (service, None, None)
        for record in store.history(environment, service, limit=500):
            records[record.record_id] = record
        [live] = ecs.describe_services(cluster=cluster, services=[service])["services"] or [None]
        if live is None or live["status"] != "ACTIVE":
            continue
        definition = ecs.describe_task_definition(taskDefinition=live["taskDefinition"])
        image = definition["taskDefinition"]["containerDefinitions"][0]["image"]
        assert head.image is not None, service
        assert (service, head.task_definition_arn, image.rsplit("@", 1)[-1]) == (
            service, live["taskDefinition"], head.image.digest,
        )  # fmt: skip
    for record in store.history(environment, SPEC_SERVICE, limit=500):
        records[record.record_id] = record
    assert [(r.service, r.status) for r in records.values() if r.status in ACTIVE] == []

    told: dict[str, list[str]] = {}
    for note in sandbox.notifications:
        assert note.document["status"] != "EXTERNAL", note.subject
        if note.document.get("record_id"):
            told.setdefault(note.document["record_id"], []).append(note.document["status"])
    assert sorted(set(told) - set(records)) == []
    starts = 1 if handlers.berth().settings.notify_started else 0
    for record_id, record in records.items():
        said = told.get(record_id, [])
        assert said.count("STARTED") <= starts, (record.service, said)
        outcomes = [s for s in said if s in OUTCOME_STATUSES]
        truth = [record.status]
        if record.reason.startswith(CORRECTED):
            truth = ["TIMED_OUT", record.status]
        assert (record.service, record.image and record.image.tag, outcomes) == (
            record.service, record.image and record.image.tag, truth,
        ), record.reason  # fmt: skip


def refused_untouched(sandbox: Sandbox, text: str) -> list[str]:
    """Upload `text`, let it settle, check nothing reached ECS, and return the errors of the one
    REJECTED notification."""
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(text)
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [rejected] = [n for n in sandbox.notifications if n.document["status"] == "REJECTED"]
    return list(rejected.document["errors"])
