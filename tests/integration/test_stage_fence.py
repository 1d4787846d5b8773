"""Issue 28: stages are fenced from each other. Two stages of Berth may bind the same cluster
and environment; what one deploys is tagged berth:stage, and the other never changes, retires
or takes it over (its own check, and the stage's IAM policy conditioned on the same tag)."""

from __future__ import annotations

from typing import Any

from tests.integration.helpers import deploy_example, history
from tests.integration.test_lifecycle import _ecs_status, _retiring, edited


def _tags(sandbox: Any, service: str) -> dict[str, str]:
    described = sandbox.client("ecs").describe_services(
        cluster="wso2-dev", services=[service], include=["TAGS"]
    )["services"][0]
    return {t["key"]: t["value"] for t in described.get("tags", [])}




def test_services_berth_creates_are_tagged_with_the_stage(sandbox):
    deploy_example(sandbox)
    assert _tags(sandbox, "mi") == {
        "berth:environment": "dev", "berth:service": "mi", "berth:stage": "dev",
    }  # fmt: skip


def test_a_stage_cannot_retire_another_stages_service(sandbox):
    # Given mi deployed, then owned by the prod stage of Berth (same cluster and environment)
    deploy_example(sandbox)
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster="wso2-dev", services=["mi"])["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": "berth:stage", "value": "prod"}])
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()

    # When the dev stage's spec retires it
    sandbox.upload_spec(edited(sandbox, _retiring("delete")))
    sandbox.run_until_idle()

    # Then nothing was scaled or deleted, and the refusal names the owner
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert _ecs_status(sandbox, "mi") == "ACTIVE"
    told = " ".join(str(n.document) for n in sandbox.notifications[seen:])
    assert (
        "the live service wso2-dev/mi belongs to Berth's stage prod (berth:stage); stage dev "
        "cannot change or retire it" in told
    )


def test_a_service_recreated_outside_berth_is_not_changed_by_the_next_push(sandbox):
    # Given Berth's mi deleted outside Berth and another team's untagged mi in its place
    deploy_example(sandbox)
    ecs = sandbox.client("ecs")
    live = ecs.describe_services(cluster="wso2-dev", services=["mi"])["services"][0]
    ecs.update_service(cluster="wso2-dev", service="mi", desiredCount=0)
    ecs.delete_service(cluster="wso2-dev", service="mi")
    theirs = ecs.register_task_definition(
        family="their-mi", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="512", memory="1024",
        containerDefinitions=[{"name": "mi", "image": "nginx", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
    ecs.create_service(
        cluster="wso2-dev", serviceName="mi", taskDefinition=theirs, desiredCount=1,
        launchType="FARGATE", networkConfiguration=live["networkConfiguration"],
    )  # fmt: skip

    # When a new MI build is pushed (the push path trusts the head: no describe first)
    sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()

    # Then their service still runs their task definition, and the record says why
    now = ecs.describe_services(cluster="wso2-dev", services=["mi"])["services"][0]
    assert now["taskDefinition"] == theirs
    record = history("mi")[0]
    assert record.status == "FAILED"
    assert "ecs:UpdateService" in " ".join(record.errors)


def test_a_fence_narrowed_after_acceptance_stops_the_next_start(sandbox):
    # Issue 29: a spec accepted under a wider fence kept deploying after the stage narrowed it.
    deploy_example(sandbox)
    sandbox.renew_clients(BERTH_ENVIRONMENT_SECURITY_GROUPS="dev=sg-0000000000000narrow")
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()

    sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()

    assert sandbox.recorder.ecs_mutations(mark) == []
    record = history("mi")[0]
    assert record.status == "FAILED"
    assert record.reason.startswith("the stage's fence no longer allows this spec")
    assert any("is not a security group of environment dev" in e for e in record.errors)
    assert [n.document["status"] for n in sandbox.notifications[seen:]] == ["FAILED"]
