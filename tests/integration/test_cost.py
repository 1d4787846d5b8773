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
        # push: the accepted specs (who tracks the repository), ECR's word on the digest, the
        # service head; the claim (record + head, the head carrying the start lease)
        "dynamodb:Scan": 1,
        "ecr:DescribeImages": 1,
        # push: head; COMPLETED: head (to hand it back), MI's head (does MI wait for APIM?)
        "dynamodb:GetItem": 5,
        # push: claim (record, head), started (record, head); COMPLETED: record, head
        "dynamodb:PutItem": 6,
        # COMPLETED: the record by ECS deployment id
        "dynamodb:Query": 1,
        "ecs:RegisterTaskDefinition": 1,
        "ecs:UpdateService": 1,
        # deploying, deployed
        "sns:Publish": 2,
    }
)


def test_an_image_update_makes_two_ecs_calls_and_no_idempotency_writes(sandbox):
    deploy_example(sandbox)
    mark = sandbox.recorder.mark()
    digest = sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()

    assert live_image(sandbox, "apim").endswith(f"/wso2am@{digest}")
    assert statuses(sandbox)[-2:] == [("apim", "STARTED"), ("apim", "COMPLETED")]
    assert sandbox.recorder.counts(mark) == IMAGE_UPDATE
    assert all(c.params.get("TableName") != "berth-idempotency-dev" for c in
               sandbox.recorder.since(mark))  # fmt: skip


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
