"""The schema task as rendered passes the strict sandbox's RegisterTaskDefinition (issue 16:
what is built of schema initialisation so far; running it is not wired yet, docs/wso2.md)."""

from __future__ import annotations

import re

import yaml

from berth.sandbox.sandbox import example_spec
from chalicelib.render import ImageRef, render_schema_task_definition
from chalicelib.spec import parse_spec
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
