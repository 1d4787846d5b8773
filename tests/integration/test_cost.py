"""What one image update costs in AWS calls, pinned call by call (issue 17).

Each remaining call is justified in bench/results.md; a change that adds one fails here first.
"""

from __future__ import annotations

from collections import Counter

from tests.integration.helpers import deploy_example, live_image, statuses
from tests.integration.test_rollout import SCHEDULED

# One push to a running service, followed to COMPLETED (APIM, which MI depends on).
IMAGE_UPDATE = Counter(
    {
        # push: the accepted specs (who tracks the repository), ECR's word on the digest
        "dynamodb:Scan": 1,
        "ecr:DescribeImages": 1,
        # push: the service head, to judge the image against what runs
        "dynamodb:GetItem": 1,  # (COMPLETED reads none: the head keeps a copy of the record)
        # push: the claim (record + head with the start lease), then the start (record
        # IN_PROGRESS + head with the task definition, the lease released); COMPLETED: the
        # record and the head handed back; each one call
        "dynamodb:TransactWriteItems": 3,
        "ecs:RegisterTaskDefinition": 1,
        "ecs:UpdateService": 1,
        # COMPLETED: the service's head, with its copy of the record, and who waits for APIM
        # (the stage binds the event's cluster to its environment)
        "dynamodb:Query": 1,
        # deployed (its start, 'deploying', only on a stage with BERTH_NOTIFY_STARTED=true)
        "sns:Publish": 1,
    }
)
# The same on a stage that opts into starts: one sns:Publish more, nothing else.
IMAGE_UPDATE_WITH_STARTED = IMAGE_UPDATE + Counter({"sns:Publish": 1})


def test_an_image_update_makes_two_ecs_calls_and_no_idempotency_writes(sandbox):
    deploy_example(sandbox)
    seen, mark = len(statuses(sandbox)), sandbox.recorder.mark()
    digest = sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    assert live_image(sandbox, "apim").endswith(f"/wso2am@{digest}")
    assert statuses(sandbox)[seen:] == [("apim", "COMPLETED")]
    assert sandbox.recorder.counts(mark) == IMAGE_UPDATE
    assert all(c.params.get("TableName") != "berth-idempotency-dev" for c in
               sandbox.recorder.since(mark))  # fmt: skip


def test_telling_the_start_costs_one_sns_publish_more(sandbox):
    deploy_example(sandbox)
    sandbox.renew_clients(BERTH_NOTIFY_STARTED="true")
    seen, mark = len(statuses(sandbox)), sandbox.recorder.mark()
    digest = sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    assert live_image(sandbox, "apim").endswith(f"/wso2am@{digest}")
    assert statuses(sandbox)[seen:] == [("apim", "STARTED"), ("apim", "COMPLETED")]
    assert sandbox.recorder.counts(mark) == IMAGE_UPDATE_WITH_STARTED


def test_a_push_sends_only_the_task_definition_to_ecs(sandbox):
    deploy_example(sandbox)
    mark = sandbox.recorder.mark()
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    [update] = [c for c in sandbox.recorder.ecs_mutations(mark) if c.operation == "UpdateService"]
    assert sorted(update.params) == ["cluster", "service", "taskDefinition"]


def test_a_push_to_a_service_deleted_behind_berths_back_creates_it_again(sandbox):
    deploy_example(sandbox)
    sandbox.client("ecs").delete_service(cluster="wso2-dev", service="apim", force=True)
    mark = sandbox.recorder.mark()
    digest = sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    operations = [c.operation for c in sandbox.recorder.ecs_mutations(mark)]
    assert operations[:2] == ["RegisterTaskDefinition", "UpdateService"]
    assert "CreateService" in operations
    assert live_image(sandbox, "apim").endswith(f"/wso2am@{digest}")
    assert statuses(sandbox)[-1] == ("apim", "COMPLETED")


def test_the_idle_sweep_makes_one_query(sandbox):
    deploy_example(sandbox)
    mark = sandbox.recorder.mark()
    swept = sandbox.deliver("sweep", SCHEDULED)

    assert swept.error is None
    assert [
        (c.operation, c.params.get("IndexName")) for c in sandbox.recorder.since(mark)
    ] == [("Query", "by-unsettled")]


def _waiter_keys(sandbox, dependency: str) -> list[str]:
    items = sandbox.client("dynamodb").query(
        TableName="berth-deployments-dev",
        KeyConditionExpression="pk = :pk AND begins_with(sk, :w)",
        ExpressionAttributeValues={":pk": {"S": f"dev#{dependency}"}, ":w": {"S": "WAITER#"}},
    )["Items"]
    return [item["sk"]["S"] for item in items]


def test_a_dependent_waits_as_an_entry_beside_its_dependencys_head(sandbox):
    # MI waits for APIM: its claim leaves an entry in APIM's partition, so APIM's outcome finds
    # its head and everyone waiting in one Query, and finds nothing to read when no one waits.
    import yaml

    from berth.sandbox.sandbox import example_spec

    deploy_example(sandbox)
    edited = yaml.safe_load(sandbox.adapt_spec(example_spec()))
    for service in ("apim", "mi"):  # both change: MI, which depends on APIM, waits for it
        edited["services"][service]["environment"]["EDITED_ON"] = "monday"
    seen = len(statuses(sandbox))
    sandbox.upload_spec(yaml.safe_dump(edited, sort_keys=False))
    sandbox.pump()  # the upload only: APIM starts, MI waits

    [waiter] = _waiter_keys(sandbox, "apim")
    assert waiter.startswith("WAITER#mi#D#")
    sandbox.run_until_idle()
    assert _waiter_keys(sandbox, "apim") == []
    assert statuses(sandbox)[seen:] == [("apim", "COMPLETED"), ("mi", "COMPLETED")]
