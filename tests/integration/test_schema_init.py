"""The schema task in the sandbox (issue 16): as rendered it passes the strict
RegisterTaskDefinition, and the simulated ECS runs it to its end with the events ECS sends.
Berth runs it before a service's first deployment, as a record the service's record waits for."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import yaml

from berth.sandbox.ecs_sim.task_play import EXIT_CODE_MARKER
from berth.sandbox.sandbox import example_spec
from chalicelib import handlers
from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.schema_init import schema_task_outcome
from chalicelib.rendering.schema_task import render_schema_task_definition, schema_run_task_request
from chalicelib.spec.parse import parse_spec
from tests.integration.test_rollout import SCHEDULED
from tests.integration.test_sidecars import put_image
from tests.integration.test_strict_sandbox import refusal, register
from tests.unit.test_schema_init import DIGEST, INIT, postgres, with_apim


def test_the_strict_sandbox_registers_the_schema_task_definition(sandbox):
    text = re.sub(r"\bprod\b", "dev", postgres(with_apim(INIT)))
    spec = parse_spec(text.encode(), "s.yaml")
    task = render_schema_task_definition(
        spec, "apim", ImageRef("wso2am", DIGEST), "123456789012", "us-east-1"
    )
    ecs = sandbox.client("ecs")
    registered = ecs.register_task_definition(**task)["taskDefinition"]
    assert [c["name"] for c in registered["containerDefinitions"]] == ["dbscripts", "schema"]
    assert registered["family"] == "dev-apim-schema"


def _schema_document(sandbox, client_annotations: dict[str, str] | None = None) -> dict:
    """The dev example, images pushed, with schemaInit on apim: its SQL client put into the
    sandbox ECR with `client_annotations`."""
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    client = put_image(sandbox, "wso2mi", "sql-client-1", client_annotations or {})
    document = yaml.safe_load(sandbox.adapt_spec(example_spec()))
    document["services"]["apim"]["schemaInit"] = {"image": f"wso2mi@{client}"}
    return document


def _sweep_after_the_timeout(sandbox) -> list[tuple[str, str]]:
    """Run the sweep 31 minutes on (the rollout timeout is 30): (service, action) of each
    outcome."""
    berth = handlers.berth()
    later = berth.clock() + timedelta(minutes=31)
    berth.clock = lambda: later
    result = sandbox.deliver("sweep", SCHEDULED)
    return [(o["service"], o["action"]) for o in result.result["outcomes"]]


def _first_deployment(sandbox, client_annotations: dict[str, str]) -> tuple[dict, object]:
    """Upload the dev example with schemaInit on apim (its SQL client in the sandbox ECR with
    `client_annotations`) as the environment's first spec; run the sandbox until idle."""
    document = _schema_document(sandbox, client_annotations)
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    return document, mark


def _ecs_calls(sandbox, mark) -> list[tuple[str, str]]:
    return [
        (c.operation, str(c.params.get("serviceName") or c.params.get("family")
                          or c.params.get("group") or c.params.get("service")))
        for c in sandbox.recorder.ecs_mutations(mark)
    ]  # fmt: skip


def _told(sandbox) -> list[tuple[str, str]]:
    return [(n.document["service"], n.document["status"]) for n in sandbox.notifications
            if n.document.get("service") in ("apim", "apim.schema")]  # fmt: skip


@pytest.mark.parametrize(
    ("notify_started", "told"),
    [
        (None, [("apim.schema", "COMPLETED"), ("apim", "COMPLETED")]),
        ("true", [("apim.schema", "STARTED"), ("apim.schema", "COMPLETED"),
                  ("apim", "STARTED"), ("apim", "COMPLETED")]),
    ],
)  # fmt: skip
def test_a_first_deployment_runs_the_schema_task_then_deploys_the_service(
    sandbox, notify_started, told
):
    if notify_started:
        sandbox.renew_clients(BERTH_NOTIFY_STARTED=notify_started)
    document, mark = _first_deployment(sandbox, {})
    calls = _ecs_calls(sandbox, mark)
    assert calls[:4] == [
        ("RegisterTaskDefinition", "dev-apim-schema"),
        ("RunTask", "berth-schema:dev:apim"),
        ("RegisterTaskDefinition", "dev-apim"),
        ("CreateService", "apim"),
    ]
    [run] = [c for c in sandbox.recorder.ecs_mutations(mark) if c.operation == "RunTask"]
    assert run.params["startedBy"] == "berth-schema"
    assert _told(sandbox) == told
    [schema] = handlers.berth().store.history("dev", "apim.schema")
    assert (schema.status, schema.reason) == ("COMPLETED", "the schema task's client exited 0")
    assert schema.ecs_task_arn and schema.ecs_task_arn.startswith(
        "arn:aws:ecs:us-east-1:123456789012:task/wso2-dev/"
    )
    # A second deployment of the live service runs no schema task.
    document["services"]["apim"]["environment"]["JAVA_OPTS"] = "-Duser.timezone=UTC"
    again = sandbox.recorder.mark()
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    assert _ecs_calls(sandbox, again) == [
        ("RegisterTaskDefinition", "dev-apim"), ("UpdateService", "apim"),
    ]  # fmt: skip
    assert len(handlers.berth().store.history("dev", "apim.schema")) == 1


@pytest.mark.parametrize(
    ("notify_started", "told"),
    [
        (None, [("apim.schema", "FAILED"), ("apim", "SKIPPED")]),
        ("true", [("apim.schema", "STARTED"), ("apim.schema", "FAILED"), ("apim", "SKIPPED")]),
    ],
)
def test_a_failing_schema_task_skips_the_service_and_creates_nothing(
    sandbox, notify_started, told
):
    if notify_started:
        sandbox.renew_clients(BERTH_NOTIFY_STARTED=notify_started)
    _, mark = _first_deployment(sandbox, {EXIT_CODE_MARKER: "3"})
    calls = _ecs_calls(sandbox, mark)
    assert ("RunTask", "berth-schema:dev:apim") in calls
    assert [c for c in calls if c[0] == "CreateService"] == []
    assert _told(sandbox) == told
    [schema] = handlers.berth().store.history("dev", "apim.schema")
    assert schema.status == "FAILED"
    assert schema.causes == [
        "the schema task's client exited 3: Essential container in task exited"
    ]
    [apim] = handlers.berth().store.history("dev", "apim")
    assert (apim.status, apim.reason) == ("SKIPPED", "its dependency apim.schema 4.7.0-1 failed")


# ---- the simulated ECS runs the schema task to its end --------------------------------------


def _schema_run(sandbox, client_annotations: dict[str, str]) -> dict:
    """Render the dev example's APIM schema task (the client image in the sandbox ECR with
    `client_annotations`), RunTask it as Berth would, let the simulated ECS finish it; the
    ECS Task State Change event's detail."""
    product = sandbox.push("wso2am", "4.7.0-1")
    client = put_image(sandbox, "wso2mi", "sql-client-1", client_annotations)
    document = yaml.safe_load(sandbox.adapt_spec(example_spec()))
    document["services"]["apim"]["schemaInit"] = {"image": f"wso2mi@{client}"}
    spec = parse_spec(yaml.safe_dump(document).encode(), "s.yaml")
    sandbox.client("logs").create_log_group(logGroupName="/berth/dev")
    ecs = sandbox.client("ecs")
    task = render_schema_task_definition(
        spec, "apim", ImageRef("wso2am", product), "123456789012", "us-east-1"
    )
    arn = ecs.register_task_definition(**task)["taskDefinition"]["taskDefinitionArn"]
    [started] = ecs.run_task(**schema_run_task_request(spec, "apim", arn, "record-1"))["tasks"]
    assert started["lastStatus"] == "PROVISIONING"
    sandbox.run_until_idle()
    [event] = [e for e in sandbox.ecs_sim.emitted if e.detail_type == "ECS Task State Change"]
    assert event.resources == [started["taskArn"]]
    assert event.detail["startedBy"] == "berth-schema"
    described = ecs.describe_tasks(cluster="wso2-dev", tasks=[started["taskArn"]])["tasks"][0]
    assert described["lastStatus"] == "STOPPED"
    return event.detail


def test_the_simulated_ecs_runs_the_schema_task_to_completion(sandbox):
    detail = _schema_run(sandbox, {})
    assert (detail["lastStatus"], detail["stopCode"]) == ("STOPPED", "EssentialContainerExited")
    assert [(c["name"], c["exitCode"]) for c in detail["containers"]] == [
        ("dbscripts", 0), ("schema", 0),
    ]  # fmt: skip
    assert schema_task_outcome(detail, "schema") == (True, "the schema task's client exited 0")


def test_a_failing_schema_client_stops_the_task_with_its_exit_code(sandbox):
    detail = _schema_run(sandbox, {EXIT_CODE_MARKER: "3"})
    assert schema_task_outcome(detail, "schema") == (
        False, "the schema task's client exited 3: Essential container in task exited",
    )  # fmt: skip


def test_run_task_refuses_an_awsvpc_task_without_network_configuration(sandbox):
    ecs = sandbox.client("ecs")
    arn = register(ecs)["taskDefinition"]["taskDefinitionArn"]
    assert refusal(lambda: ecs.run_task(cluster="wso2-dev", taskDefinition=arn)) == (
        "InvalidParameterException",
        "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
    )


def test_a_redelivered_task_stopped_event_announces_nothing_again(sandbox):
    _first_deployment(sandbox, {})
    [delivery] = [d for d in sandbox.deliveries if d.function == "on_task_stopped"]
    told = len(sandbox.notifications)
    again = sandbox.deliver("on_task_stopped", delivery.event)
    sandbox.run_until_idle()
    [outcome] = again.result["outcomes"]
    assert outcome["action"] == "ignored"
    assert outcome["reason"].startswith("no schema run of apim waits for task ")
    assert len(sandbox.notifications) == told


def test_the_sweep_concludes_a_schema_task_whose_event_was_lost(sandbox):
    sandbox.upload_spec(yaml.safe_dump(_schema_document(sandbox), sort_keys=False))
    sandbox.pump()  # the schema task starts; its Task State Change is lost
    sandbox.advance_ecs(publish=False)
    assert _sweep_after_the_timeout(sandbox) == [
        ("apim.schema", "completed"), ("apim", "started"),
    ]  # fmt: skip
    [schema] = handlers.berth().store.history("dev", "apim.schema")
    assert (schema.status, schema.reason) == ("COMPLETED", "the schema task's client exited 0")


def test_a_wide_run_runs_the_schema_task_in_its_batches(sandbox):
    """More steps than BERTH_WIDE_RUN (10): the schema task is started by a batch like any
    record, and its outcome is in the run's summary."""
    document = _schema_document(sandbox)
    mi = {k: v for k, v in document["services"]["mi"].items()
          if k not in ("serviceConnect", "dependsOn")}  # fmt: skip
    apim = {k: v for k, v in document["services"]["apim"].items() if k != "dependsOn"}
    document["services"] = {"apim": apim, **{f"mi-{i:02d}": dict(mi) for i in range(10)}}
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    [summary] = [n for n in sandbox.notifications if "run of 12 services" in n.subject]
    outcomes = dict((o["service"], o["status"]) for o in summary.document["services"])
    assert outcomes["apim.schema"] == outcomes["apim"] == "COMPLETED"
    assert len(outcomes) == 12


def test_the_sweep_times_out_a_schema_task_that_has_not_stopped(sandbox):
    sandbox.upload_spec(yaml.safe_dump(_schema_document(sandbox), sort_keys=False))
    sandbox.pump()  # the schema task starts; ECS has not moved it on
    assert _sweep_after_the_timeout(sandbox)[:2] == [
        ("apim.schema", "timed-out"), ("apim", "skipped"),
    ]  # fmt: skip
    [schema] = handlers.berth().store.history("dev", "apim.schema")
    assert (schema.status, schema.reason) == (
        "TIMED_OUT",
        "no outcome of the schema task after 30 min; ECS says the task is PROVISIONING",
    )
    # The task's late stop finds no record waiting for it: nothing is created, nothing told twice.
    sandbox.collect_notifications()
    assert ("apim.schema", "TIMED_OUT") in _told(sandbox)
    told = len(sandbox.notifications)
    mark = sandbox.recorder.mark()
    sandbox.run_until_idle()
    assert [c.operation for c in sandbox.recorder.ecs_mutations(mark)] == []
    assert len(sandbox.notifications) == told


# ---- at most once per environment, database and schema version (issue 29) -------------------


def _schema_run_tasks(sandbox, mark) -> list[str]:
    return [c.params["group"] for c in sandbox.recorder.ecs_mutations(mark)
            if c.operation == "RunTask"]  # fmt: skip


def test_a_second_upload_while_the_schema_task_runs_follows_it_with_no_second_task(sandbox):
    """Two uploads change APIM before its first deployment concluded: the second one's schema
    record follows the task the first started; one RunTask, and the service deploys once."""
    document = _schema_document(sandbox)
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.pump()  # the first schema task starts and runs
    document["services"]["apim"]["environment"]["JAVA_OPTS"] = "-Duser.timezone=UTC"
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    assert _schema_run_tasks(sandbox, mark) == ["berth-schema:dev:apim"]
    assert [c.operation for c in sandbox.recorder.ecs_mutations(mark)].count("StopTask") == 0
    newest, first = handlers.berth().store.history("dev", "apim.schema")
    assert first.status == "SUPERSEDED"
    assert (newest.status, newest.reason) == ("COMPLETED", "the schema task's client exited 0")
    assert newest.ecs_task_arn == first.ecs_task_arn
    assert handlers.berth().store.history("dev", "apim")[0].status == "COMPLETED"


def test_a_schema_start_after_the_run_completed_runs_no_task(sandbox):
    """The schema ran; the service was deleted outside Berth, so the next upload plans a first
    deployment again: the database already holds the schema, no RunTask."""
    document, _ = _first_deployment(sandbox, {})
    ecs = sandbox.client("ecs")
    ecs.update_service(cluster="wso2-dev", service="apim", desiredCount=0)
    ecs.delete_service(cluster="wso2-dev", service="apim")
    document["services"]["apim"]["environment"]["JAVA_OPTS"] = "-Duser.timezone=UTC"
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    assert _schema_run_tasks(sandbox, mark) == []
    newest = handlers.berth().store.history("dev", "apim.schema")[0]
    assert newest.status == "COMPLETED"
    assert "was already initialised by schema record" in newest.reason
    assert ("CreateService", "apim") in _ecs_calls(sandbox, mark)


def test_a_superseded_schema_task_of_another_database_is_stopped(sandbox):
    """A newer spec points APIM at another database while the first schema task runs: that
    task is stopped (StopTask, its reason naming Berth and the newer record), recorded on the
    superseded record, and the new database's task runs."""
    document = _schema_document(sandbox)
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.pump()  # the first schema task starts and runs
    env = document["services"]["apim"]["environment"]
    for var in ("APIM_DB_URL", "SHARED_DB_URL"):
        if var in env:
            env[var] = env[var] + "_v2"
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    assert _schema_run_tasks(sandbox, mark) == ["berth-schema:dev:apim"] * 2
    [stop] = [c for c in sandbox.recorder.ecs_mutations(mark) if c.operation == "StopTask"]
    newest, first = handlers.berth().store.history("dev", "apim.schema")
    assert stop.params["task"] == first.ecs_task_arn
    assert stop.params["reason"].startswith("Berth: schema record ")
    assert newest.record_id in stop.params["reason"]
    assert first.status == "SUPERSEDED"
    assert any("was stopped (StopTask)" in cause for cause in first.causes)
    [stopped] = [e for e in sandbox.ecs_sim.emitted if e.detail_type == "ECS Task State Change"
                 and e.detail["taskArn"] == first.ecs_task_arn]  # fmt: skip
    assert stopped.detail["stopCode"] == "UserInitiated"
    assert stopped.detail["stoppedReason"] == stop.params["reason"]
    described = sandbox.client("ecs").describe_tasks(
        cluster="wso2-dev", tasks=[first.ecs_task_arn]
    )["tasks"][0]
    assert (described["lastStatus"], described["stoppedReason"]) == (
        "STOPPED", stop.params["reason"],
    )  # fmt: skip
    assert newest.status == "COMPLETED"
