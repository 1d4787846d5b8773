"""Spec uploads and image pushes, as real event shapes, against the moto server."""

from __future__ import annotations

import json

import pytest

from berth.sandbox.sandbox import example_spec
from chalicelib import handlers
from chalicelib.spec.fence import FENCE_VARIABLES
from tests.conftest import sample_event
from tests.faults import Fault
from tests.integration.helpers import deploy_example, history, live_image, outcomes, statuses


def test_first_deploy_of_a_two_service_spec(sandbox):
    ei_digest = sandbox.push("wso2mi", "4.4.0-1")
    apim_digest = sandbox.push("wso2am", "4.7.0-1")
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()

    created = [
        c.params["serviceName"]
        for c in sandbox.recorder.ecs_mutations(mark)
        if c.operation == "CreateService"
    ]
    assert created == ["apim", "mi"]  # MI registers with APIM's service catalog: APIM first
    assert (
        live_image(sandbox, "mi")
        == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/wso2mi@{ei_digest}"
    )
    assert live_image(sandbox, "apim").endswith(f"/wso2am@{apim_digest}")
    assert statuses(sandbox) == [("apim", "COMPLETED"), ("mi", "COMPLETED")]  # outcomes alone
    [apim] = history("apim")
    [mi] = history("mi")
    assert mi.started_at is not None and apim.finished_at is not None
    assert mi.started_at >= apim.finished_at  # MI started once APIM had completed
    assert apim.status == "COMPLETED"
    assert apim.trigger.spec is not None and apim.trigger.spec.version_id
    assert apim.image is not None and apim.image.digest == apim_digest
    assert apim.ecs_deployment_id and apim.task_definition_arn.endswith(
        "task-definition/dev-apim:1"
    )
    service = sandbox.client("ecs").describe_services(cluster="wso2-dev", services=["apim"])[
        "services"
    ][0]
    assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert service["desiredCount"] == 1  # one APIM task until Berth renders WSO2's HA layout


def test_image_push_updates_only_the_service_that_tracks_it(sandbox):
    deploy_example(sandbox)
    mark = sandbox.recorder.mark()
    digest = sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    mutations = [
        (c.operation, c.params.get("family") or c.params.get("service"))
        for c in sandbox.recorder.ecs_mutations(mark)
    ]
    assert mutations == [("RegisterTaskDefinition", "dev-apim"), ("UpdateService", "apim")]
    assert live_image(sandbox, "apim").endswith(digest)
    latest = history("apim")[0]
    assert (latest.status, latest.trigger.kind, latest.previous_image.tag) == (
        "COMPLETED",
        "image",
        "4.7.0-1",
    )
    assert latest.previous_task_definition_arn.endswith("dev-apim:1")
    assert latest.task_definition_arn.endswith("dev-apim:2")


def test_identical_spec_reupload_registers_and_deploys_nothing(sandbox):
    deploy_example(sandbox)
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert outcomes(sandbox, "on_spec_uploaded")[-1]["reason"] == (
        "nothing changed: every service already runs what the spec renders"
    )


def test_changed_spec_redeploys_only_what_changed(sandbox):
    deploy_example(sandbox)
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(
        sandbox.adapt_spec(example_spec()).replace(
            "APIM_HOST: apim\n", "APIM_HOST: apim2\n"
        )
    )
    sandbox.run_until_idle()
    assert [
        (c.operation, c.params.get("service")) for c in sandbox.recorder.ecs_mutations(mark)
    ] == [("RegisterTaskDefinition", None), ("UpdateService", "mi")]


@pytest.mark.parametrize(
    ("notify_started", "told"),
    [
        (None, ["[dev] apim 4.7.0-2 deployed"]),
        ("true", ["[dev] apim 4.7.0-2 deploying", "[dev] apim 4.7.0-2 deployed"]),
    ],
)
def test_the_same_push_delivered_three_times_deploys_once(sandbox, notify_started, told):
    deploy_example(sandbox)
    if notify_started:
        sandbox.renew_clients(BERTH_NOTIFY_STARTED=notify_started)
    sandbox.push("wso2am", "4.7.0-2")
    queue = sandbox.queue_of("on_image_pushed")
    event = json.loads(sandbox.client("sqs").receive_message(QueueUrl=queue)["Messages"][0]["Body"])
    sandbox.client("sqs").purge_queue(QueueUrl=queue)
    event.setdefault("account", "123456789012")
    mark = sandbox.recorder.mark()
    seen = len(sandbox.notifications)
    results = [sandbox.deliver("on_image_pushed", event) for _ in range(3)]
    sandbox.run_until_idle()
    assert [c.operation for c in sandbox.recorder.ecs_mutations(mark)] == [
        "RegisterTaskDefinition",
        "UpdateService",
    ]
    # No idempotency table: the second and third deliveries lose to the first's claim of the head.
    assert [r.result["outcomes"][0]["action"] for r in results] == ["started", "ignored", "ignored"]
    assert results[1].result["outcomes"][0]["reason"].endswith("is already the running image")
    assert [n.subject for n in sandbox.notifications[seen:]] == told  # each once


def test_an_older_tag_after_a_newer_one_is_ignored(sandbox):
    deploy_example(sandbox, apim="4.7.0-5")
    mark = sandbox.recorder.mark()
    since = len(sandbox.deliveries)
    sandbox.push("wso2am", "4.7.0-4")
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert (
        outcomes(sandbox, "on_image_pushed", since)[0]["reason"]
        == "4.7.0-4 is older than the running 4.7.0-5"
    )


def test_a_push_to_an_untracked_repository_is_ignored(sandbox):
    deploy_example(sandbox)
    since = len(sandbox.deliveries)
    sandbox.push("wso2ei", "6.6.0-1")
    sandbox.run_until_idle()
    assert outcomes(sandbox, "on_image_pushed", since) == [
        {
            "action": "ignored",
            "environment": None,
            "service": None,
            "record_id": None,
            "ecs_deployment_id": None,
            "task_definition_arn": None,
            "reason": "no accepted spec tracks wso2ei in account 123456789012, region us-east-1",
        }
    ]


def test_a_tag_outside_the_track_is_ignored(sandbox):
    deploy_example(sandbox)
    since = len(sandbox.deliveries)
    sandbox.push("wso2am", "5.0.0-1")
    sandbox.run_until_idle()
    assert (
        outcomes(sandbox, "on_image_pushed", since)[0]["reason"]
        == "tag 5.0.0-1 does not follow track '~4.7'"
    )


def test_an_invalid_spec_is_rejected_and_the_accepted_one_stays(sandbox):
    deploy_example(sandbox)
    mark = sandbox.recorder.mark()
    seen = len(sandbox.notifications)
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()).replace("memory: 4096", "memory: 3000"))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = sandbox.notifications[seen:]
    assert note.document["status"] == "REJECTED"
    assert note.document["errors"] == [
        "s3://berth-specs-123456789012-dev/specs/dev/wso2.yaml:24:5: services.apim.memory: 3000 is not a valid "
        "Fargate memory for cpu 2048 (valid: 4096-16384 in steps of 1024)"
    ]
    assert note.attributes == {
        "environment": "dev",
        "service": "-",
        "status": "REJECTED",
        "trigger": "spec",
        "started_by": "spec",
    }
    [rejected] = history("(spec)")
    assert rejected.status == "REJECTED" and rejected.errors == note.document["errors"]
    accepted = handlers.berth().store.accepted_spec("dev")
    assert accepted.document["services"]["apim"]["memory"] == 4096


def test_a_spec_for_another_cluster_is_rejected_with_the_aws_error(sandbox):
    # Issue 15: without the fence, IAM answers first: the stage's policy grants the service
    # actions only on service/<cluster>/* of its environments' clusters (ECS service ARNs,
    # arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE; IAM evaluates before ECS looks).
    sandbox.renew_clients(BERTH_ENVIRONMENT_CLUSTERS="")  # no fence: AWS itself answers
    sandbox.client("ecs").create_cluster(clusterName="payments")
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(
        sandbox.adapt_spec(example_spec()).replace("cluster: wso2-dev", "cluster: payments")
    )
    sandbox.run_until_idle()
    [note] = [n for n in sandbox.notifications if n.document["status"] == "REJECTED"]
    assert note.document["errors"] == [
        "DescribeServices failed: AccessDeniedException: User: "
        "arn:aws:sts::123456789012:assumed-role/berth-dev-lambda/berth-dev-lambda is not "
        "authorized to perform: ecs:DescribeServices on resource: "
        "arn:aws:ecs:us-east-1:123456789012:service/payments/apim because no identity-based "
        "policy allows the ecs:DescribeServices action"
    ]
    assert sandbox.recorder.ecs_mutations() == []


def test_a_spec_whose_track_matches_no_image_deploys_nothing(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()
    [note] = sandbox.notifications
    assert note.document["errors"] == [
        "services.apim.image: no image in ECR repository 'wso2am' has a tag that follows track '~4.7'; push one first"
    ]
    assert sandbox.recorder.ecs_mutations() == []


def test_a_spec_in_the_wrong_folder_is_rejected(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()), environment_name="prod")
    sandbox.run_until_idle()
    [note] = sandbox.notifications
    assert note.document["errors"] == [
        "s3://berth-specs-123456789012-dev/specs/prod/wso2.yaml: environment: 'dev' does not match the folder "
        "it was uploaded to (specs/prod/)"
    ]


def test_a_key_with_spaces_resolves_in_both_notification_formats(sandbox):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    version = sandbox.upload_spec(sandbox.adapt_spec(example_spec()), name="red flower.yaml")
    sandbox.client("sqs").purge_queue(QueueUrl=sandbox.queue_of("on_spec_uploaded"))
    record = {
        "Records": [
            {
                "eventName": "ObjectCreated:Put",
                "eventTime": "2026-11-28T00:00:00Z",
                "awsRegion": "us-east-1",
                "s3": {
                    "bucket": {"name": "berth-specs-123456789012-dev"},
                    "object": {"key": "specs/dev/red+flower.yaml", "versionId": version},
                },
            }
        ]
    }
    delivery = sandbox.deliver("on_spec_uploaded", record)
    assert [o["action"] for o in delivery.result["outcomes"]] == ["pending", "started"]


def test_transient_throttling_on_update_service_is_retried(sandbox, no_retry_sleep):
    deploy_example(sandbox)
    fault = Fault("UpdateService", "ThrottlingException", times=2).attach(
        handlers.berth().clients.ecs
    )
    digest = sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    assert fault.injected == 2
    assert live_image(sandbox, "apim").endswith(digest)
    assert history("apim")[0].status == "COMPLETED"


def test_persistent_access_denied_fails_cleanly_and_leaves_the_service_alone(
    sandbox, no_retry_sleep
):
    deploy_example(sandbox)
    before = live_image(sandbox, "apim")
    Fault("UpdateService", "AccessDeniedException", times=None).attach(handlers.berth().clients.ecs)
    seen = len(sandbox.notifications)
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    assert live_image(sandbox, "apim") == before
    latest = history("apim")[0]
    assert latest.status == "FAILED"
    assert latest.errors == [
        "UpdateService failed: AccessDeniedException: injected AccessDeniedException"
    ]
    [note] = sandbox.notifications[seen:]
    assert note.subject == "[dev] apim 4.7.0-2 FAILED"
    # The service kept its image, so the same push may be retried later.
    head = handlers.berth().store.get_head("dev", "apim")
    assert head.image.tag == "4.7.0-1" and head.active_record_id is None


def test_the_sample_push_event_from_another_region_is_ignored(sandbox):
    deploy_example(sandbox)
    mark = sandbox.recorder.mark()
    delivery = sandbox.deliver("on_image_pushed", sample_event("ecr-image-push.json"))
    assert delivery.result["outcomes"][0]["action"] == "ignored"
    assert sandbox.recorder.ecs_mutations(mark) == []


def test_ignored_pushes_are_notified_only_when_configured(sandbox):
    deploy_example(sandbox, apim="4.7.0-5")
    sandbox.push("wso2am", "4.7.0-4")
    sandbox.run_until_idle()
    assert sandbox.notifications[-1].document["status"] == "COMPLETED"
    handlers.berth().settings.notify_ignored_pushes = True
    sandbox.push("wso2am", "4.7.0-3")
    sandbox.run_until_idle()
    note = sandbox.notifications[-1]
    assert (note.subject, note.document["reason"]) == (
        "[dev] apim 4.7.0-3 ignored",
        "4.7.0-3 is older than the running 4.7.0-5",
    )


def test_a_settings_only_edit_updates_in_place_and_leaves_nothing_pending(sandbox):
    # Issue 14, finding 1: scaling 2 -> 3 crashed after UpdateService had applied it, leaving a
    # PENDING record that owned the service and blocked every later push.
    deploy_example(sandbox)
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)
    sandbox.upload_spec(
        sandbox.adapt_spec(example_spec()).replace("desiredCount: 2", "desiredCount: 3", 1)
    )
    sandbox.run_until_idle()
    assert [d.error for d in sandbox.deliveries if d.error] == []
    assert [(c.operation, c.params.get("service")) for c in sandbox.recorder.ecs_mutations(mark)] == [
        ("UpdateService", "mi")
    ]
    ecs = sandbox.client("ecs")
    assert ecs.describe_services(cluster="wso2-dev", services=["mi"])["services"][0][
        "desiredCount"
    ] == 3
    [note] = sandbox.notifications[seen:]
    assert (note.subject, note.document["reason"]) == (
        "[dev] mi 4.4.0-1 deployed",
        "service settings updated in place",
    )
    assert handlers.berth().store.get_head("dev", "mi").active_record_id is None
    # The next push is judged at once, not held behind an orphan record.
    sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()
    assert history("mi")[0].status == "COMPLETED" and history("mi")[0].image.tag == "4.4.0-2"


def test_a_push_leaves_the_autoscaled_desired_count_alone(sandbox):
    # Issue 13, finding 4: every push sent desiredCount and reset Application Auto Scaling
    # (8 tasks scaled back to 2 during a peak).
    deploy_example(sandbox)
    ecs = sandbox.client("ecs")
    ecs.update_service(cluster="wso2-dev", service="apim", desiredCount=8)  # the scaler's doing
    mark = sandbox.recorder.mark()
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))  # the same spec again
    sandbox.run_until_idle()
    updates = [c.params for c in sandbox.recorder.ecs_mutations(mark) if c.operation == "UpdateService"]
    assert [u["service"] for u in updates] == ["apim"]
    assert "desiredCount" not in updates[0]
    assert ecs.describe_services(cluster="wso2-dev", services=["apim"])["services"][0][
        "desiredCount"
    ] == 8


def test_removing_the_load_balancer_from_the_spec_removes_it_from_the_service(sandbox):
    # Issue 13, finding 4: omitting the key is not `loadBalancers: []`, so removal never applied.
    deploy_example(sandbox)
    ecs = sandbox.client("ecs")
    assert ecs.describe_services(cluster="wso2-dev", services=["apim"])["services"][0][
        "loadBalancers"
    ]
    text = sandbox.adapt_spec(example_spec())
    start = text.index("    loadBalancers:")
    end = text.index("    deployment:", start)
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)
    sandbox.upload_spec(text[:start] + text[end:])
    sandbox.run_until_idle()
    [update] = [c.params for c in sandbox.recorder.ecs_mutations(mark) if c.operation == "UpdateService"]
    assert update["loadBalancers"] == []
    assert ecs.describe_services(cluster="wso2-dev", services=["apim"])["services"][0][
        "loadBalancers"
    ] == []
    # ECS runs a new deployment for it, which Berth follows to its end.
    assert [n.document["status"] for n in sandbox.notifications[seen:]] == ["COMPLETED"]


def test_a_scale_edit_sends_only_what_changed_and_starts_no_deployment(sandbox):
    deploy_example(sandbox)
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(
        sandbox.adapt_spec(example_spec()).replace("desiredCount: 2", "desiredCount: 3", 1)
    )
    sandbox.run_until_idle()
    [update] = [c.params for c in sandbox.recorder.ecs_mutations(mark)]
    # Load balancers and network configuration already hold: sending them would redeploy WSO2.
    assert "loadBalancers" not in update and "networkConfiguration" not in update
    assert update["desiredCount"] == 3


def test_create_service_carries_a_client_token_per_deployment_record(sandbox):
    deploy_example(sandbox)
    tokens = [
        c.params["clientToken"] for c in sandbox.recorder.ecs_mutations() if c.operation == "CreateService"
    ]
    assert len(tokens) == 2 and len(set(tokens)) == 2
    assert all(len(t) <= 36 for t in tokens)  # CreateService: "Up to 36 ASCII characters"


def test_a_launch_type_change_is_refused_before_anything_changes(sandbox):
    # Issue 13, finding 4: UpdateService cannot change a service's launch type; the spec edit
    # only changed requiresCompatibilities and every later push was refused by ECS.
    deploy_example(sandbox)
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)
    text = sandbox.adapt_spec(example_spec()).replace(
        "    product: wso2am", "    product: wso2am\n    launchType: EC2", 1
    )
    sandbox.upload_spec(text)
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = sandbox.notifications[seen:]
    assert note.document["errors"] == [
        "services.apim.launchType: the live service runs on FARGATE and ECS cannot move a "
        "service to EC2 in place; keep launchType FARGATE, or delete the service first"
    ]


def test_berth_creates_the_task_log_group_with_a_retention_before_the_first_task(sandbox):
    # Issue 13, finding 2: nothing created /berth/<env>, so first tasks could not start.
    deploy_example(sandbox)
    [group] = sandbox.client("logs").describe_log_groups(logGroupNamePrefix="/berth/")["logGroups"]
    assert (group["logGroupName"], group["retentionInDays"]) == ("/berth/dev", 90)
    assert statuses(sandbox) == [("apim", "COMPLETED"), ("mi", "COMPLETED")]
    # A push to a running service writes to the same group: no Logs call at all.
    mark = sandbox.recorder.mark()
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    assert not [c for c in sandbox.recorder.since(mark) if c.service == "logs"]


def test_a_role_the_stage_may_not_pass_is_refused_at_upload_with_its_location(sandbox):
    # Issue 13, finding 3: such a spec validated, then RegisterTaskDefinition was denied
    # iam:PassRole halfway through the deployment.
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(
        sandbox.adapt_spec(example_spec()).replace("role/berth-task-dev-dev", "role/admin", 1)
    )
    sandbox.run_until_idle()
    [note] = sandbox.notifications
    assert note.document["errors"] == [
        "s3://berth-specs-123456789012-dev/specs/dev/wso2.yaml:5:1: taskRoleArn: role admin is "
        "not one of environment dev's roles (berth-task-dev-dev, berth-task-execution-dev-dev): "
        "each environment's tasks run under its own roles (environments.dev.roles in chalicelib/environments/dev.yaml)"
    ]
    assert sandbox.recorder.ecs_mutations() == []


def test_without_the_fence_aws_itself_would_deny_the_pass_role(sandbox):
    # The sandbox runs Berth under the dev stage's IAM policy, as AWS would.
    sandbox.renew_clients(**dict.fromkeys(FENCE_VARIABLES, ""))  # no fence at all
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(
        sandbox.adapt_spec(example_spec()).replace("role/berth-task-dev-dev", "role/admin", 1)
    )
    sandbox.run_until_idle()
    failed = history("mi")[0]
    assert failed.status == "FAILED"
    assert failed.errors == [
        "RegisterTaskDefinition failed: AccessDeniedException: User: "
        "arn:aws:sts::123456789012:assumed-role/berth-dev-lambda/berth-dev-lambda is not "
        "authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/admin "
        "because no identity-based policy allows the iam:PassRole action"
    ]


# ---- each environment is a fence (issue 15) -----------------------------------------------------


def test_a_dev_spec_cannot_reach_a_prod_cluster(sandbox):
    # Issue 15: a specs/dev/ spec naming cluster wso2-prod replaced prod's APIM.
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()).replace("cluster: wso2-dev", "cluster: wso2-prod"))
    sandbox.run_until_idle()
    [note] = sandbox.notifications
    assert note.document["errors"] == [
        "s3://berth-specs-123456789012-dev/specs/dev/wso2.yaml:3:1: cluster: 'wso2-prod' is not a "
        "cluster of environment dev (wso2-dev): each environment deploys only to the clusters its "
        "stage declares"
    ]
    assert sandbox.recorder.ecs_mutations() == []


def test_a_service_berth_did_not_create_for_the_environment_is_left_alone(sandbox):
    # Issue 15: a spec adopted another team's `payments` service in a shared cluster and replaced
    # it; a dev spec took over a service of prod's.
    ecs = sandbox.client("ecs")
    arn = ecs.register_task_definition(
        family="payments", requiresCompatibilities=["EC2"], networkMode="bridge",
        containerDefinitions=[{"name": "payments", "image": "nginx", "memory": 256}],
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
    ecs.create_service(cluster="wso2-dev", serviceName="apim", taskDefinition=arn, desiredCount=4,
                       launchType="EC2")  # another team's service, with the name the spec uses
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = [n for n in sandbox.notifications if n.document["status"] == "REJECTED"]
    assert note.document["errors"] == [
        "services.apim.cluster: the live service wso2-dev/apim was not created by Berth (no "
        "berth:environment tag), and Berth changes only services it created; choose another "
        "name, or tag the service berth:environment=dev to hand it over"
    ]
    assert ecs.describe_services(cluster="wso2-dev", services=["apim"])["services"][0][
        "desiredCount"
    ] == 4


def hand_made_apim(sandbox) -> None:
    """An untagged Fargate service named apim in wso2-dev, made by hand, not by Berth."""
    ecs = sandbox.client("ecs")
    arn = ecs.register_task_definition(
        family="hand-made-apim", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
        cpu="1024", memory="2048",
        containerDefinitions=[{"name": "apim", "image": "nginx", "memory": 512}],
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
    ecs.create_service(
        cluster="wso2-dev", serviceName="apim", taskDefinition=arn, desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": sandbox.subnets, "securityGroups": [sandbox.security_group]}},
    )  # fmt: skip


def test_an_untagged_service_the_environment_lists_for_adoption_is_taken_over(sandbox):
    # Issue 15: BERTH_ENVIRONMENT_ADOPT lets the operator hand an existing service to Berth;
    # without it the same service is refused (test above).
    hand_made_apim(sandbox)
    sandbox.renew_clients(BERTH_ENVIRONMENT_ADOPT="dev=wso2-dev/apim")
    sandbox.push("wso2mi", "4.4.0-1")
    apim = sandbox.push("wso2am", "4.7.0-1")
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(sandbox.adapt_spec(example_spec()))
    sandbox.run_until_idle()

    calls = [(c.operation, c.params.get("service") or c.params.get("serviceName"))
             for c in sandbox.recorder.ecs_mutations(mark) if c.operation != "RegisterTaskDefinition"]
    assert calls == [("UpdateService", "apim"), ("CreateService", "mi")]  # fmt: skip
    assert live_image(sandbox, "apim").endswith(f"/wso2am@{apim}")
    assert statuses(sandbox) == [("apim", "COMPLETED"), ("mi", "COMPLETED")]
