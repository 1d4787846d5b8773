"""Issue 14: every spec edit and every event order ends in the truth, under real event semantics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import yaml

from berth.sandbox.sandbox import example_spec
from chalicelib import handlers
from tests.integration.helpers import deploy_example, history, live_image
from tests.integration.test_rollout import SCHEDULED


def edited(sandbox, change: Callable[[dict[str, Any]], None]) -> str:
    """The dev example, adapted to the sandbox, with `change` applied to its document."""
    document = yaml.safe_load(sandbox.adapt_spec(example_spec()))
    change(document)
    return yaml.safe_dump(document, sort_keys=False)


def _later(minutes: int) -> None:
    berth = handlers.berth()
    later = berth.clock() + timedelta(minutes=minutes)
    berth.clock = lambda: later


def test_a_rollout_ecs_is_still_running_is_timed_out_then_corrected_and_never_undone(sandbox):
    # Issue 14, finding 2: the sweep marked a rollout ECS was still running TIMED_OUT, reset the
    # head to the previous image, dropped the late COMPLETED, and the next unrelated edit
    # silently deployed the old image again.
    deploy_example(sandbox)
    sandbox.ecs_sim.rollout_seconds = 3600  # a long WSO2 rollout
    digest = sandbox.push("wso2am", "4.7.0-2")
    sandbox.pump()
    sandbox.advance_ecs()
    _later(31)
    sandbox.collect_notifications()
    seen = len(sandbox.notifications)
    swept = sandbox.deliver("sweep", SCHEDULED)
    assert [o["action"] for o in swept.result["outcomes"]] == ["timed-out"]
    head = handlers.berth().store.get_head("dev", "apim")
    assert (head.image.tag, head.active_record_id) == ("4.7.0-2", None)  # what ECS moves to

    sandbox.ecs_sim.rollout_seconds = 0.0  # ECS finishes after all
    sandbox.run_until_idle()
    sandbox.collect_notifications()
    assert [(n.document["status"], n.document["reason"].split(":")[0])
            for n in sandbox.notifications[seen:]] == [
        ("TIMED_OUT", "no outcome after 30 min; ECS says IN_PROGRESS"),
        ("COMPLETED", "ECS finished it after Berth had timed it out"),
    ]  # fmt: skip
    assert history("apim")[0].status == "COMPLETED"

    mark = sandbox.recorder.mark()
    sandbox.upload_spec(
        edited(sandbox, lambda d: d["services"]["mi"]["environment"].update(UNRELATED="edit"))
    )
    sandbox.run_until_idle()
    assert [c.params.get("service") for c in sandbox.recorder.ecs_mutations(mark)
            if c.operation == "UpdateService"] == ["mi"]  # fmt: skip
    assert live_image(sandbox, "apim").endswith(digest)


def test_berths_own_deployments_are_never_external_while_the_indexes_lag(sandbox):
    # Issue 14, finding 3: with an index not yet caught up, ECS's events for Berth's own
    # deployments were announced as "not started by Berth" and consumed for good, and dependents
    # (found through the status index) were never released.
    sandbox.index_lag.seconds = 3600  # every record Berth writes is missing from index queries
    deploy_example(sandbox)
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    sandbox.collect_notifications()
    statuses = [n.document["status"] for n in sandbox.notifications]
    assert "EXTERNAL" not in statuses
    assert statuses == ["COMPLETED"] * 3  # each deployment's outcome, once
    assert {r.status for r in history("apim") + history("mi")} == {"COMPLETED"}


def _drain(sandbox, function: str) -> list[dict]:
    import json

    queue = sandbox.queue_of(function)
    events = []
    sqs = sandbox.client("sqs")
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            events.append(dict(json.loads(message["Body"]), account="123456789012"))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return events


def broken_rollout_events(sandbox) -> list[dict]:
    """The dev example deployed, then a broken APIM build pushed: the ECS events of its rollout
    and circuit-breaker rollback, taken off the bus undelivered."""
    deploy_example(sandbox)
    sandbox.push("wso2am", "4.7.0-2", broken_health_check=True)
    sandbox.pump()
    for _ in range(3):
        sandbox.advance_ecs()
    return _drain(sandbox, "on_deployment_state_change")


def test_a_rollbacks_events_in_any_order_end_in_one_rolled_back(sandbox):
    # Issue 14, finding 3: the rollback's COMPLETED arriving before its FAILED was called
    # external, and the record sat in ROLLING_BACK until the sweep.
    events = broken_rollout_events(sandbox)
    assert [e["detail"]["eventName"] for e in events][-1] == "SERVICE_DEPLOYMENT_COMPLETED"
    sandbox.collect_notifications()
    seen = len(sandbox.notifications)
    for event in reversed(events):  # EventBridge does not order events
        sandbox.deliver("on_deployment_state_change", event)
    sandbox.run_until_idle()
    notes = sandbox.notifications[seen:]
    assert [n.document["status"] for n in notes] == ["ROLLED_BACK"]
    assert history("apim")[0].status == "ROLLED_BACK"
    assert handlers.berth().store.get_head("dev", "apim").image.tag == "4.7.0-1"


def _push_event(sandbox, repository: str, tag: str, digest: str, action: str = "PUSH") -> None:
    sandbox.put_event(
        "aws.ecr", "ECR Image Action",
        {"result": "SUCCESS", "repository-name": repository, "image-digest": digest,
         "action-type": action, "image-tag": tag},
        [],
    )  # fmt: skip


def test_a_push_ecr_does_not_hold_is_refused_with_a_notification(sandbox):
    # Issue 14, finding 4: a push event whose digest ECR does not hold was deployed.
    deploy_example(sandbox)
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)
    _push_event(sandbox, "wso2am", "4.7.0-9", "sha256:" + "f" * 64)
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = sandbox.notifications[seen:]
    assert (note.document["status"], note.document["service"]) == ("REJECTED", "apim")
    assert note.document["errors"] == [
        f"ECR holds no image sha256:{'f' * 64} in wso2am: it was deleted, or the event did not "
        "come from ECR"
    ]


def test_a_new_tag_on_an_old_build_neither_downgrades_nor_freezes_the_service(sandbox):
    # Issue 14, finding 4: 4.7.999-1 carrying the bits of 4.7.0-1 downgraded the service, then
    # froze it ("4.7.1-1 is older than the running 4.7.999-1").
    deploy_example(sandbox)
    ecr = sandbox.client("ecr")
    newer = sandbox.push("wso2am", "4.7.1-1")
    sandbox.run_until_idle()
    [old] = ecr.batch_get_image(repositoryName="wso2am", imageIds=[{"imageTag": "4.7.0-1"}])["images"]
    ecr.put_image(repositoryName="wso2am", imageManifest=old["imageManifest"], imageTag="4.7.999-1")
    mark = sandbox.recorder.mark()
    _push_event(sandbox, "wso2am", "4.7.999-1", old["imageId"]["imageDigest"])
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert live_image(sandbox, "apim").endswith(newer)
    latest = sandbox.push("wso2am", "4.7.2-1")
    sandbox.run_until_idle()
    assert live_image(sandbox, "apim").endswith(latest)


def test_a_push_event_whose_tag_ecr_gives_another_digest_is_refused(sandbox):
    deploy_example(sandbox)
    other = sandbox.push("wso2am", "4.7.1-1")
    sandbox.run_until_idle()
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)
    _push_event(sandbox, "wso2am", "4.7.5-1", other)  # ECR holds that digest as 4.7.1-1 only
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = sandbox.notifications[seen:]
    assert note.document["errors"] == [
        f"ECR's wso2am:4.7.5-1 is not {other[:19]} (that image carries 4.7.1-1)"
    ]


def test_deleting_the_digest_a_service_runs_sends_a_warning(sandbox):
    # Issue 14, finding 4: it went unnoticed until ECS next needed to pull it.
    deploy_example(sandbox)
    digest = sandbox.client("ecs").describe_task_definition(
        taskDefinition=sandbox.client("ecs").describe_services(
            cluster="wso2-dev", services=["apim"])["services"][0]["taskDefinition"]
    )["taskDefinition"]["containerDefinitions"][0]["image"].split("@")[1]  # fmt: skip
    sandbox.client("ecr").batch_delete_image(repositoryName="wso2am", imageIds=[{"imageDigest": digest}])
    seen = len(sandbox.notifications)
    _push_event(sandbox, "wso2am", "4.7.0-1", digest, action="DELETE")
    sandbox.run_until_idle()
    [note] = sandbox.notifications[seen:]
    assert (note.subject, note.attributes["status"]) == (
        "[dev] apim 4.7.0-1: running image deleted", "WARNING",
    )  # fmt: skip


def _spec_with_unknown_fields(count: int) -> str:
    """A spec with at least `count` unknown fields, spread over services (each a located
    problem; they are all that is reported, the file's shape being wrong)."""
    services = {}
    per_service = max(1, -(-count // 40))
    for s in range(40):
        fields = {f"unknownField{f:04d}": 1 for f in range(per_service)}
        services[f"svc{s:02d}"] = {"image": "wso2am", **fields}
    return yaml.safe_dump({"berth": 1, "environment": "dev", "cluster": "wso2-dev",
                           "services": services}, sort_keys=False)  # fmt: skip


def test_a_rejection_with_hundreds_of_errors_still_ends_in_a_record_and_a_notification(sandbox):
    # Issue 14, finding 7: 300 errors made an SNS message over 256 KB (the list embedded in
    # every protocol's copy), refused by SNS and only logged.
    sandbox.upload_spec(_spec_with_unknown_fields(300))
    sandbox.run_until_idle()
    [note] = sandbox.notifications
    [record] = history("(spec)")
    total = record.errors_total
    assert total >= 300 and len(record.errors) == 100
    assert note.document["status"] == "REJECTED"
    assert len(note.document["errors"]) == 21
    assert note.document["errors"][-1] == (
        f"… and {total - 20} more ({total} in all; the record lists the first 100); "
        "`berth validate FILE` lists every one"
    )
    # Issue 34, finding 3: the subject counts what was found, not the 100 the record kept.
    assert note.subject == f"[dev] spec rejected: specs/dev/wso2.yaml ({total} errors)"


def test_a_rejection_with_thousands_of_errors_still_fits_one_record(sandbox):
    # Issue 14, finding 7: 5,000 errors made the REJECTED record exceed DynamoDB's 400 KB item.
    sandbox.upload_spec(_spec_with_unknown_fields(5000))
    sandbox.run_until_idle()
    assert [d.error for d in sandbox.deliveries if d.error] == []
    [note] = sandbox.notifications
    [record] = history("(spec)")
    assert record.errors_total >= 5000
    assert note.document["errors"][-1].startswith(f"… and {record.errors_total - 20} more")


def test_a_small_spec_whose_aliases_expand_past_the_limit_is_rejected(sandbox):
    # Issue 14, finding 7: a 17 KB valid spec expanding to ~500 KB made the accepted-spec item
    # too large: no record, no notice.
    value = "x" * 1000
    lines = ["berth: 1", "environment: dev", "cluster: wso2-dev", f"big: &big {value}",
             "services:", "  apim:", "    image: wso2am", "    environment:"]  # fmt: skip
    lines += [f"      V{i}: *big" for i in range(500)]
    text = "\n".join(lines) + "\n"
    assert len(text) < 20_000
    sandbox.upload_spec(text)
    sandbox.run_until_idle()
    assert [d.error for d in sandbox.deliveries if d.error] == []
    [note] = sandbox.notifications
    assert note.document["errors"][0].startswith(
        "s3://berth-specs-123456789012-dev/specs/dev/wso2.yaml: document expands to "
    )


# ---- the spec file model (finding 5) and services that leave the spec (finding 6) ---------------


def test_a_second_spec_file_in_an_environment_is_refused_and_the_first_keeps_its_services(sandbox):
    # Issue 14, finding 5: the second file silently replaced the first; its services orphaned.
    deploy_example(sandbox)
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()
    other = edited(sandbox, lambda d: d["services"].pop("mi"))
    sandbox.upload_spec(other, name="apim-only.yaml")
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = sandbox.notifications[seen:]
    assert note.document["errors"] == [
        "s3://berth-specs-123456789012-dev/specs/dev/apim-only.yaml: specs/dev/ already holds "
        "wso2.yaml, this environment's spec: one spec file per environment. Edit wso2.yaml, or "
        "delete it before uploading another (a rename is an upload and a delete)"
    ]
    accepted = handlers.berth().store.accepted_spec("dev")
    assert accepted.source.key == "specs/dev/wso2.yaml"


def test_a_renamed_spec_file_is_accepted_whatever_s3s_sequencers_say(sandbox):
    # Issue 14, finding 5: sequencers were compared across keys (S3 orders them per key only),
    # so a renamed file could be ignored for ever.
    deploy_example(sandbox)
    s3 = sandbox.client("s3")
    s3.delete_object(Bucket="berth-specs-123456789012-dev", Key="specs/dev/wso2.yaml")
    renamed = edited(sandbox, lambda d: d["services"]["mi"]["environment"].update(RENAMED="yes"))
    for name in ("a.yaml", "zz.yaml"):  # two names, so one of them sorts below the old key's
        seen = len(sandbox.notifications)
        sandbox.upload_spec(renamed, name=name)
        sandbox.run_until_idle()
        if name == "a.yaml":
            assert handlers.berth().store.accepted_spec("dev").source.key == "specs/dev/a.yaml"
            assert [n.document["status"] for n in sandbox.notifications[seen:]] == ["COMPLETED"]
            s3.delete_object(Bucket="berth-specs-123456789012-dev", Key="specs/dev/a.yaml")
    assert handlers.berth().store.accepted_spec("dev").source.key == "specs/dev/zz.yaml"


def test_a_service_that_leaves_the_spec_is_announced_not_abandoned(sandbox):
    # Issue 14, finding 6: a removed service kept running, untracked, with no notice.
    deploy_example(sandbox)
    seen = len(sandbox.notifications)
    sandbox.upload_spec(edited(sandbox, lambda d: d["services"].pop("mi")))
    sandbox.run_until_idle()
    [note] = sandbox.notifications[seen:]
    assert (note.subject, note.attributes["status"]) == (
        "[dev] mi left the spec; still running", "WARNING",
    )  # fmt: skip
    assert sandbox.client("ecs").describe_services(cluster="wso2-dev", services=["mi"])[
        "services"
    ][0]["status"] == "ACTIVE"


def test_a_renamed_service_may_not_serve_beside_its_old_self(sandbox):
    # Issue 14, finding 6: a renamed service got a twin on the same target group while the old
    # one kept serving the old build.
    deploy_example(sandbox)
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)

    def rename(document):
        document["services"]["gateway"] = document["services"].pop("apim")
        for service in document["services"].values():
            service["dependsOn"] = ["gateway" if d == "apim" else d for d in service.get("dependsOn", [])]

    sandbox.upload_spec(edited(sandbox, rename))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = sandbox.notifications[seen:]
    # (the dev example's APIM serves two target groups since issue 31: gateway and portals)
    assert note.document["errors"] == [
        f"services.gateway.loadBalancers[{i}].targetGroupArn: apim, which left the spec, still "
        "serves this target group on wso2-dev; retire it in the same spec (retire: {apim: "
        "delete}), or keep its name"
        for i in (0, 1)
    ]


BUCKET = "berth-specs-123456789012-dev"
KEY = "specs/dev/wso2.yaml"


def _live_environment(sandbox, service: str) -> dict[str, str]:
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster="wso2-dev", services=[service])["services"][0][
        "taskDefinition"
    ]
    [container, *_] = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"][
        "containerDefinitions"
    ]
    return {e["name"]: e["value"] for e in container["environment"]}


def test_deleting_the_newest_spec_version_rolls_the_environment_back(sandbox):
    # Issue 14, finding 5: deleting the newest S3 version was ignored; Berth kept enforcing it.
    deploy_example(sandbox)
    first = handlers.berth().store.accepted_spec("dev").source.version_id
    newer = sandbox.upload_spec(
        edited(sandbox, lambda d: d["services"]["mi"]["environment"].update(EXPERIMENT="on"))
    )
    sandbox.run_until_idle()
    assert _live_environment(sandbox, "mi")["EXPERIMENT"] == "on"
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()

    sandbox.client("s3").delete_object(Bucket=BUCKET, Key=KEY, VersionId=newer)
    sandbox.run_until_idle()

    assert "EXPERIMENT" not in _live_environment(sandbox, "mi")
    assert handlers.berth().store.accepted_spec("dev").source.version_id == first
    notes = sandbox.notifications[seen:]
    assert [(n.document["service"], n.document["status"]) for n in notes] == [("mi", "COMPLETED")]
    assert notes[-1].document["request"] == (
        f"version {newer} of {KEY} was deleted; version {first} is the spec again"
    )
    assert [c.operation for c in sandbox.recorder.ecs_mutations(mark)] == [
        "RegisterTaskDefinition", "UpdateService",
    ]  # fmt: skip


def test_deleting_an_older_spec_version_changes_nothing(sandbox):
    deploy_example(sandbox)
    older = handlers.berth().store.accepted_spec("dev").source.version_id
    sandbox.upload_spec(
        edited(sandbox, lambda d: d["services"]["mi"]["environment"].update(EXPERIMENT="on"))
    )
    sandbox.run_until_idle()
    accepted = handlers.berth().store.accepted_spec("dev").source
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()

    sandbox.client("s3").delete_object(Bucket=BUCKET, Key=KEY, VersionId=older)
    sandbox.run_until_idle()

    assert sandbox.recorder.ecs_mutations(mark) == []
    assert sandbox.notifications[seen:] == []
    assert handlers.berth().store.accepted_spec("dev").source == accepted
    assert _live_environment(sandbox, "mi")["EXPERIMENT"] == "on"


def test_deleting_the_spec_file_leaves_everything_running_and_says_so(sandbox):
    deploy_example(sandbox)
    accepted = handlers.berth().store.accepted_spec("dev")
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()

    sandbox.client("s3").delete_object(Bucket=BUCKET, Key=KEY)  # a delete marker
    sandbox.run_until_idle()

    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = sandbox.notifications[seen:]
    assert (note.subject, note.document["status"]) == (
        "[dev] spec file deleted; services keep running", "WARNING",
    )  # fmt: skip
    assert note.document["action"] == (
        "nothing was changed. To stop a service, upload the spec with it under `retire:`; to "
        "roll back, restore the file or delete only its newest version"
    )
    assert handlers.berth().store.accepted_spec("dev") == accepted
    # Pushes keep deploying by the last accepted spec.
    digest = sandbox.push("wso2mi", "4.4.0-2")
    sandbox.run_until_idle()
    assert live_image(sandbox, "mi").endswith(f"/wso2mi@{digest}")


def test_a_rename_whose_upload_came_first_is_accepted_when_the_old_file_goes(sandbox):
    # `aws s3 mv` copies, then deletes: the new file's upload is refused while the old one stands;
    # the old file's deletion then makes the new one the spec, not a dead end.
    deploy_example(sandbox)
    renamed = edited(sandbox, lambda d: d["services"]["mi"]["environment"].update(RENAMED="yes"))
    seen = len(sandbox.notifications)
    sandbox.upload_spec(renamed, name="platform.yaml")
    sandbox.run_until_idle()
    assert [n.document["status"] for n in sandbox.notifications[seen:]] == ["REJECTED"]

    sandbox.client("s3").delete_object(Bucket=BUCKET, Key=KEY)
    sandbox.run_until_idle()

    assert handlers.berth().store.accepted_spec("dev").source.key == "specs/dev/platform.yaml"
    assert _live_environment(sandbox, "mi")["RENAMED"] == "yes"
    assert [n.document["status"] for n in sandbox.notifications[seen + 1 :]] == ["COMPLETED"]


def _retiring(how: str, service: str = "mi") -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        document["services"].pop(service)
        for other in document["services"].values():
            other["dependsOn"] = [d for d in other.get("dependsOn", []) if d != service]
        document["retire"] = {service: how}

    return change


def _ecs_status(sandbox, service: str) -> str:
    return str(
        sandbox.client("ecs").describe_services(cluster="wso2-dev", services=[service])[
            "services"
        ][0]["status"]
    )


def test_a_service_retired_with_delete_is_scaled_to_zero_and_deleted_once(sandbox):
    # Issue 14: "offer an explicit way to retire a service (scale to zero and delete, or leave
    # running) that a spec states".
    deploy_example(sandbox)
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()
    retiring = edited(sandbox, _retiring("delete"))
    sandbox.upload_spec(retiring)
    sandbox.run_until_idle()

    assert _ecs_status(sandbox, "mi") == "INACTIVE"
    assert [(c.operation, c.params.get("desiredCount")) for c in sandbox.recorder.ecs_mutations(mark)] == [
        ("UpdateService", 0), ("DeleteService", None),
    ]  # fmt: skip
    [note] = sandbox.notifications[seen:]
    assert (note.subject, note.document["status"], note.document["action"]) == (
        "[dev] mi retired: scaled to 0 and deleted", "RETIRED",
        "nothing more; add it back under services to deploy it again",
    )  # fmt: skip
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()
    sandbox.upload_spec(retiring + "\n# touched\n")
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert sandbox.notifications[seen:] == []


def test_a_service_retired_with_keep_runs_on_and_is_announced_once(sandbox):
    deploy_example(sandbox)
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()
    keeping = edited(sandbox, _retiring("keep"))
    sandbox.upload_spec(keeping)
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    assert _ecs_status(sandbox, "mi") == "ACTIVE"
    [note] = sandbox.notifications[seen:]
    assert (note.subject, note.document["status"]) == (
        "[dev] mi retired: left running, unmanaged", "RETIRED",
    )  # fmt: skip
    seen = len(sandbox.notifications)
    sandbox.upload_spec(keeping + "\n# touched\n")
    sandbox.run_until_idle()
    assert sandbox.notifications[seen:] == []


def test_a_renamed_service_takes_over_once_its_old_self_is_retired(sandbox):
    deploy_example(sandbox)

    def rename(document):
        document["services"]["gateway"] = document["services"].pop("apim")
        for service in document["services"].values():
            service["dependsOn"] = ["gateway" if d == "apim" else d for d in service.get("dependsOn", [])]
        document["retire"] = {"apim": "delete"}

    mark = sandbox.recorder.mark()
    sandbox.upload_spec(edited(sandbox, rename))
    sandbox.run_until_idle()
    operations = [(c.operation, c.params.get("service") or c.params.get("serviceName"))
                  for c in sandbox.recorder.ecs_mutations(mark)]  # fmt: skip
    assert operations[:2] == [("UpdateService", "apim"), ("DeleteService", "apim")]
    assert ("CreateService", "gateway") in operations
    assert _ecs_status(sandbox, "apim") == "INACTIVE"
    assert _ecs_status(sandbox, "gateway") == "ACTIVE"


def test_retiring_a_service_berth_did_not_create_is_refused(sandbox):
    deploy_example(sandbox)
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster="wso2-dev", services=["mi"])["services"][0]["taskDefinition"]
    ecs.create_service(
        cluster="wso2-dev", serviceName="legacy", taskDefinition=arn, desiredCount=0,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": sandbox.subnets,
                                                      "securityGroups": [sandbox.security_group]}},
    )  # fmt: skip
    seen, mark = len(sandbox.notifications), sandbox.recorder.mark()

    def retire_legacy(document):
        document["retire"] = {"legacy": "delete"}

    sandbox.upload_spec(edited(sandbox, retire_legacy))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [note] = sandbox.notifications[seen:]
    assert note.document["errors"] == [
        "retire.legacy: the live service wso2-dev/legacy was not created by Berth (no "
        "berth:environment tag), and Berth changes only services it created; choose another "
        "name, or tag the service berth:environment=dev to hand it over"
    ]


# ---- issue 29: a push delivered again after its deployment concluded ----------------------------


def _delivered_push(sandbox, since: int) -> dict:
    """The ECR event of the one push delivered since `since`, as EventBridge delivered it."""
    [event] = [d.event for d in sandbox.deliveries[since:] if d.function == "on_image_pushed"]
    return event


def _barred(digest: str, record) -> str:
    return (
        f"{digest} failed here at {record.finished_at.isoformat()} (record {record.record_id}): "
        "not deployed again automatically; push a new build or promote/rollback by hand"
    )


def _without_breaker_rollback(document: dict[str, Any]) -> None:
    document["services"]["apim"]["deployment"]["circuitBreaker"] = {"enable": True, "rollback": False}


@pytest.mark.parametrize("outcome", ["ROLLED_BACK", "FAILED"])
def test_a_push_delivered_again_after_its_deployment_failed_is_not_deployed_again(sandbox, outcome):
    # Issue 29, finding 1: the same ECR event delivered once more (an EventBridge retry, a
    # dead-letter queue redriven) registered and updated again and announced a second FAILED.
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(
        edited(sandbox, _without_breaker_rollback) if outcome == "FAILED"
        else sandbox.adapt_spec(example_spec())
    )  # fmt: skip
    sandbox.run_until_idle()
    since = len(sandbox.deliveries)
    broken = sandbox.push("wso2am", "4.7.0-2", broken_health_check=True)
    sandbox.run_until_idle()
    failed = history("apim")[0]
    assert failed.status == outcome
    handlers.berth().settings.notify_ignored_pushes = True  # a redelivery is not a new push
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)

    delivery = sandbox.deliver("on_image_pushed", _delivered_push(sandbox, since))
    sandbox.run_until_idle()

    assert sandbox.recorder.ecs_mutations(mark) == []
    assert sandbox.notifications[seen:] == []
    assert [(o["action"], o["reason"]) for o in delivery.result["outcomes"]] == [
        ("ignored", _barred(broken, failed))
    ]
    assert history("apim")[0].record_id == failed.record_id
    # A new build is deployed as ever.
    fixed = sandbox.push("wso2am", "4.7.0-3")
    sandbox.run_until_idle()
    assert live_image(sandbox, "apim").endswith(f"/wso2am@{fixed}")


def test_a_push_delivered_again_after_it_completed_changes_and_tells_nothing(sandbox):
    # Issue 29, finding 1: what runs is that push's image; on a stage that announces ignored
    # pushes, its redelivery was told as one ("[dev] apim 4.7.0-2 ignored").
    deploy_example(sandbox)
    since = len(sandbox.deliveries)
    sandbox.push("wso2am", "4.7.0-2")
    sandbox.run_until_idle()
    assert history("apim")[0].status == "COMPLETED"
    handlers.berth().settings.notify_ignored_pushes = True
    mark, seen = sandbox.recorder.mark(), len(sandbox.notifications)

    delivery = sandbox.deliver("on_image_pushed", _delivered_push(sandbox, since))
    sandbox.run_until_idle()

    assert sandbox.recorder.ecs_mutations(mark) == []
    assert sandbox.notifications[seen:] == []
    [outcome] = delivery.result["outcomes"]
    assert (outcome["action"], outcome["reason"].split(" (")[0]) == ("ignored", "4.7.0-2")
    assert outcome["reason"].endswith("is already the running image")
