"""The schema task in the sandbox (issue 16): as rendered it passes the strict
RegisterTaskDefinition, and the simulated ECS runs it to its end with the events ECS sends.
Berth itself does not start it yet (docs/wso2.md): a first deployment asking for it is refused."""

from __future__ import annotations

import re

import yaml

from berth.sandbox.ecs_sim import EXIT_CODE_MARKER
from berth.sandbox.sandbox import example_spec
from chalicelib.render import ImageRef, render_schema_task_definition, schema_run_task_request
from chalicelib.schema_init import schema_task_outcome
from chalicelib.spec import parse_spec
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


def test_a_first_deployment_asking_for_schema_initialisation_is_refused_until_berth_runs_it(
    sandbox,
):
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    document = yaml.safe_load(sandbox.adapt_spec(example_spec()))
    document["services"]["apim"]["schemaInit"] = {"image": f"wso2am@{DIGEST}"}
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [rejected] = [n for n in sandbox.notifications if n.document["status"] == "REJECTED"]
    assert rejected.document["errors"] == [
        "services.apim.schemaInit: this is the service's first deployment and Berth does not run "
        "schema initialisation yet: create the tables with WSO2's dbscripts (docs/wso2.md, "
        "Databases), set schemaInit.initialize to false, and upload again"
    ]
    # With initialize: false the same spec deploys.
    document["services"]["apim"]["schemaInit"]["initialize"] = False
    sandbox.upload_spec(yaml.safe_dump(document, sort_keys=False))
    sandbox.run_until_idle()
    created = [c.params["serviceName"] for c in sandbox.recorder.ecs_mutations(mark)
               if c.operation == "CreateService"]  # fmt: skip
    assert created == ["apim", "ei"]


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
