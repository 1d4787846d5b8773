"""Schema initialisation (issue 16), the part that is spec, rules and rendering: which of WSO2's
dbscripts run against which database, what is refused, and the one-off task's ECS requests."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.validate import ParamValidator

from berth.stages import stage_fence
from chalicelib.errors import SpecError
from chalicelib.flows.runs.steps import Step, with_schema_steps
from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.schema_init import (
    needs_schema_init,
    parse_schema_group,
    schema_group,
    schema_owner,
    schema_plan,
    schema_service,
    schema_task_outcome,
)
from chalicelib.rendering.schema_task import render_schema_task_definition, schema_run_task_request
from chalicelib.spec.parse import parse_spec
from chalicelib.values.events import EcsTaskStateChange, parse_event
from chalicelib.values.records import Image
from tests.unit.test_spec import VALID

CLIENT = "sql-client:16@sha256:" + "c" * 64
DIGEST = "sha256:" + "ab" * 32
INIT = f"    schemaInit: {{image: '{CLIENT}'}}\n"
APIM_IMAGE = "    image: {repository: wso2am, track: \"4.7.*\"}\n"
POSTGRES = "jdbc:postgresql://db.internal:5432/"


def with_apim(lines: str, text: str = VALID) -> str:
    return text.replace(APIM_IMAGE, APIM_IMAGE + lines)


def postgres(text: str) -> str:
    return text.replace("jdbc:mysql://db:3306/", POSTGRES)


def errors_of(text: str, fence=None) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(text.encode(), "s.yaml", fence)
    return [str(p) for p in caught.value.problems]


def at(text: str, needle: str) -> str:
    before = text[: text.index(needle)]
    return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"


def test_apim_runs_wso2s_scripts_for_its_two_databases_of_their_type():
    spec = parse_spec(postgres(with_apim(INIT)).encode(), "s.yaml")
    plan = schema_plan(spec.services["apim"])
    assert plan is not None
    assert plan.text == (
        "APIM_DB_URL=/berth/dbscripts/apimgt/postgresql.sql "
        "SHARED_DB_URL=/berth/dbscripts/postgresql.sql"
    )
    assert (plan.user_variable, plan.password_secret) == ("APIM_DB_USER", "DB_PASSWORD")
    mysql = parse_spec(with_apim(INIT).encode(), "s.yaml")
    assert schema_plan(mysql.services["apim"]).text == (  # type: ignore[union-attr]
        "APIM_DB_URL=/berth/dbscripts/apimgt/mysql.sql SHARED_DB_URL=/berth/dbscripts/mysql.sql"
    )


def test_mi_runs_the_coordination_script():
    text = VALID.replace(
        "    image: wso2ei\n",
        "    image: wso2ei\n" + INIT + "    environment: {MI_HOSTNAME: ei.internal, APIM_HOST: "
        f"apim.internal, MI_COORDINATION_DB_URL: '{POSTGRES}coord', MI_COORDINATION_DB_USER: mi}}\n",
    ).replace("    environment: {MI_HOSTNAME: ei.internal, APIM_HOST: apim.internal}\n", "")
    text = text.replace(
        "    secrets: {APIM_ADMIN_PASSWORD: \"arn:aws:ssm:us-east-1:123456789012:parameter/wso2/admin\"}\n",
        "    secrets: {APIM_ADMIN_PASSWORD: \"arn:aws:ssm:us-east-1:123456789012:parameter/wso2/admin\", "
        "MI_COORDINATION_DB_PASSWORD: \"arn:aws:ssm:us-east-1:123456789012:parameter/wso2/mi\"}\n",
    )
    plan = schema_plan(parse_spec(text.encode(), "s.yaml").services["ei"])
    assert plan is not None
    assert plan.text == "MI_COORDINATION_DB_URL=/berth/dbscripts/postgres/postgresql_cluster.sql"


def test_mi_without_its_coordination_database_has_nothing_to_initialise():
    text = VALID.replace("    image: wso2ei\n", "    image: wso2ei\n" + INIT)
    assert errors_of(text) == [
        f"s.yaml:{at(text, 'schemaInit')}: services.ei.schemaInit: needs MI_COORDINATION_DB_URL "
        "in environment: its tables are what it creates",
        f"s.yaml:{at(text, 'schemaInit')}: services.ei.schemaInit: needs MI_COORDINATION_DB_USER "
        "in environment: the scripts run as that user",
        f"s.yaml:{at(text, 'schemaInit')}: services.ei.schemaInit: needs "
        "MI_COORDINATION_DB_PASSWORD in secrets: the password of MI_COORDINATION_DB_USER",
    ]


def test_a_database_wso2_ships_no_script_for_is_refused_at_its_url():
    text = with_apim(INIT).replace(
        "jdbc:mysql://db:3306/WSO2AM_DB", "jdbc:oracle:thin:@db:1521/WSO2AM_DB"
    )
    assert errors_of(text) == [
        f"s.yaml:{at(text, 'APIM_DB_URL')}: services.apim.environment.APIM_DB_URL: schemaInit "
        "runs WSO2's scripts for MySQL or PostgreSQL only: give a jdbc:mysql: or "
        "jdbc:postgresql: URL, or create the tables yourself"
    ]


def test_databases_of_two_types_are_refused():
    text = with_apim(INIT).replace("jdbc:mysql://db:3306/WSO2AM_DB", f"{POSTGRES}wso2am")
    assert errors_of(text) == [
        f"s.yaml:{at(text, 'schemaInit')}: services.apim.schemaInit: the databases are of "
        "different types; one client runs both"
    ]


def test_a_product_without_dbscripts_cannot_have_it():
    text = VALID.replace("  ei:\n    product: wso2mi\n", "  ei:\n    product: generic\n    ports: [8080]\n")
    text = text.replace("    image: wso2ei\n", "    image: wso2ei\n" + INIT)
    found = [e for e in errors_of(text) if "schemaInit" in e]
    assert found == [
        f"s.yaml:{at(text, 'schemaInit')}: services.ei.schemaInit: runs WSO2's dbscripts, which "
        "generic does not ship: only wso2am and wso2mi services can have it"
    ]


def test_the_client_image_must_be_from_a_repository_of_the_stage():
    fence = stage_fence("prod", "us-east-1", overrides={"BERTH_ACCOUNT": "123456789012"})
    text = with_apim(INIT)
    found = [e for e in errors_of(text, fence) if "schemaInit" in e]
    assert found == [
        f"s.yaml:{at(text, 'image: ' + repr(CLIENT))}: services.apim.schemaInit.image.repository: "
        "'sql-client' is not a repository this stage deploys from (berth-keystore-init, wso2am, wso2ei, wso2mi)"
    ]


def test_the_schema_task_copies_the_builds_dbscripts_then_runs_the_client():
    spec = parse_spec(postgres(with_apim(INIT)).encode(), "s.yaml")
    task = render_schema_task_definition(
        spec, "apim", ImageRef("wso2am", DIGEST, "4.7.0-1"), "123456789012", "us-east-1"
    )
    copier, client = task["containerDefinitions"]
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert copier["image"] == f"{registry}/wso2am@{DIGEST}"
    assert copier["command"] == ["cp -R /home/wso2carbon/wso2am-4.7.0/dbscripts/. /berth/dbscripts/"]
    assert copier["essential"] is False
    assert client["image"] == f"{registry}/sql-client@sha256:{'c' * 64}"
    assert client["dependsOn"] == [{"containerName": "dbscripts", "condition": "SUCCESS"}]
    assert client["environment"] == [
        {"name": "APIM_DB_URL", "value": f"{POSTGRES}WSO2AM_DB"},
        {"name": "APIM_DB_USER", "value": "wso2am"},
        {"name": "BERTH_SCHEMA_PLAN", "value": "APIM_DB_URL=/berth/dbscripts/apimgt/postgresql.sql "
                                               "SHARED_DB_URL=/berth/dbscripts/postgresql.sql"},
        {"name": "SHARED_DB_URL", "value": f"{POSTGRES}WSO2AM_SHARED_DB"},
    ]  # fmt: skip
    assert client["secrets"] == [
        {"name": "DB_PASSWORD", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/wso2/db"}
    ]
    assert task["family"] == "prod-apim-schema"
    model = botocore.session.get_session().get_service_model("ecs")
    report = ParamValidator().validate(task, model.operation_model("RegisterTaskDefinition").input_shape)
    assert not report.has_errors(), report.generate_report()

    run = schema_run_task_request(spec, "apim", "arn:aws:ecs:us-east-1:1:task-definition/x:1", "t")
    assert run["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-1"]
    assert (run["cluster"], run["count"], run["startedBy"]) == ("wso2-prod", 1, "berth-schema")
    report = ParamValidator().validate(run, model.operation_model("RunTask").input_shape)
    assert not report.has_errors(), report.generate_report()


def test_a_service_without_schema_init_has_no_schema_task():
    spec = parse_spec(VALID.encode(), "s.yaml")
    with pytest.raises(ValueError, match="service apim has no schema initialisation"):
        render_schema_task_definition(spec, "apim", ImageRef("wso2am", DIGEST), "1", "us-east-1")


def test_the_schema_runs_only_before_the_first_deployment():
    svc = parse_spec(with_apim(INIT).encode(), "s.yaml").services["apim"]
    assert needs_schema_init(svc, live_service_exists=False)
    assert not needs_schema_init(svc, live_service_exists=True)
    off = parse_spec(
        with_apim(f"    schemaInit: {{image: '{CLIENT}', initialize: false}}\n").encode(), "s.yaml"
    ).services["apim"]
    assert not needs_schema_init(off, live_service_exists=False)


@pytest.mark.parametrize(
    ("task", "outcome"),
    [
        ({"lastStatus": "RUNNING", "containers": []}, None),
        ({"lastStatus": "STOPPED", "containers": [{"name": "dbscripts", "exitCode": 0},
                                                 {"name": "schema", "exitCode": 0}]},
         (True, "the schema task's client exited 0")),
        ({"lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited",
          "containers": [{"name": "schema", "exitCode": 3}]},
         (False, "the schema task's client exited 3: Essential container in task exited")),
        ({"lastStatus": "STOPPED", "stoppedReason": "CannotPullContainerError: not found",
          "containers": [{"name": "schema"}]},
         (False, "the schema task stopped before its client ran: CannotPullContainerError: "
                 "not found")),
    ],
)  # fmt: skip
def test_what_a_stopped_schema_task_says(task, outcome):
    assert schema_task_outcome(task, "schema") == outcome


def test_an_invalid_environment_is_reported_once_not_again_as_missing_database_settings():
    text = with_apim(INIT).replace("      APIM_DB_USER: wso2am\n", "      APIM_DB_USER: [wso2am]\n")
    assert [e for e in errors_of(text) if "schemaInit" in e] == []


# ---- the schema task as a record of the run ------------------------------------------------


def test_the_schema_task_is_a_pseudo_service_that_names_its_service():
    assert schema_service("apim") == "apim.schema"
    assert schema_owner("apim.schema") == "apim"
    assert schema_owner("apim") is None


def test_a_schema_tasks_group_carries_its_environment_and_service_back():
    assert schema_group("dev", "apim") == "berth-schema:dev:apim"
    assert parse_schema_group("berth-schema:dev:apim") == ("dev", "apim")
    assert parse_schema_group("service:apim") is None
    assert parse_schema_group("family:dev-apim-schema") is None
    assert parse_schema_group("berth-schema:dev") is None


def test_a_schema_step_runs_just_before_its_service():
    image = Image(repository="wso2am", tag="4.7.0-1", digest=DIGEST)
    steps = [Step("mi", image), Step("apim", image, schema=True)]
    assert [s.service for s in with_schema_steps(steps)] == ["mi", "apim.schema", "apim"]


def test_a_stopped_task_event_reads_as_describe_tasks_lists_the_task():
    """The detail of ECS's documented sample (ECS developer guide, "Amazon ECS task state change
    events"), trimmed to what Berth reads; schema_task_outcome reads it as a task."""
    raw = {
        "version": "0", "id": "e1", "source": "aws.ecs", "account": "123456789012",
        "time": "2026-12-06T07:00:00Z", "region": "us-east-1",
        "detail-type": "ECS Task State Change",
        "resources": ["arn:aws:ecs:us-east-1:123456789012:task/wso2-dev/0abc"],
        "detail": {
            "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/wso2-dev",
            "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/wso2-dev/0abc",
            "group": "berth-schema:dev:apim", "startedBy": "berth-schema",
            "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
            "stopCode": "EssentialContainerExited",
            "stoppedReason": "Essential container in task exited",
            "containers": [{"name": "dbscripts", "exitCode": 0},
                           {"name": "schema", "exitCode": 1, "lastStatus": "STOPPED"}],
        },
    }  # fmt: skip
    event = parse_event(raw, EcsTaskStateChange)
    assert event.detail.group == "berth-schema:dev:apim"
    assert schema_task_outcome(event.detail.as_task(), "schema") == (
        False, "the schema task's client exited 1: Essential container in task exited",
    )  # fmt: skip
