"""Schema initialisation at most once per environment, database and version (issue 29): the
pure decision of a schema record's start, table by table."""

from __future__ import annotations

import pytest

from chalicelib.decisions.schema_runs import (
    STOP_REASON_LIMIT,
    schema_database,
    schema_start,
    schema_version,
    stop_reason,
    superseded_runs,
)
from chalicelib.values.records import Image
from chalicelib.values.schema_runs import SchemaRun

DB = "jdbc:mysql://db/A jdbc:mysql://db/S"


def run(**fields) -> SchemaRun:
    values = {"environment": "dev", "database": DB, "version": "wso2am 4.7.0",
              "service": "apim", "record_id": "R1"} | fields  # fmt: skip
    return SchemaRun(**values)


@pytest.mark.parametrize(
    ("found", "kind"),
    [
        (None, "run"),
        (run(status="FAILED"), "run"),
        (run(status="STOPPED"), "run"),
        (run(status="COMPLETED"), "done"),
        (run(record_id="R2"), "run"),  # its own retry, before its RunTask was recorded
        (run(record_id="R2", task_arn="t1"), "follow"),  # its own task, started earlier
        (run(task_arn="t1"), "follow"),
        (run(), "wait"),
    ],
)
def test_a_schema_start_runs_follows_ends_or_waits(found, kind):
    assert schema_start(found, "R2").kind == kind


def test_a_completed_run_says_who_initialised_it():
    assert schema_start(run(status="COMPLETED"), "R2").reason == (
        f"{DB} at wso2am 4.7.0 was already initialised by schema record R1; no schema task "
        "was run"
    )


def test_the_schema_version_is_the_release_the_builds_share():
    image = Image(repository="wso2am", digest="sha256:" + "a" * 64, tag="4.7.0-2")
    assert schema_version("wso2am", image) == "wso2am 4.7.0"
    untagged = Image(repository="wso2am", digest="sha256:" + "a" * 64)
    assert schema_version("wso2am", untagged) == f"wso2am {untagged.digest}"
    assert schema_database(["jdbc:mysql://db/S", "jdbc:mysql://db/A", "jdbc:mysql://db/S"]) == DB


def test_only_the_services_runs_of_another_database_or_version_are_superseded():
    runs = [
        run(record_id="same", task_arn="t0"),
        run(record_id="other-db", database="jdbc:mysql://db/B", task_arn="t1"),
        run(record_id="other-version", version="wso2am 4.6.0", task_arn="t2"),
        run(record_id="done", database="jdbc:mysql://db/B", status="COMPLETED", task_arn="t3"),
        run(record_id="other-service", service="mi", database="x", task_arn="t4"),
        run(record_id="no-task", database="jdbc:mysql://db/C"),
    ]
    found = superseded_runs(runs, "apim", DB, "wso2am 4.7.0")
    assert [r.record_id for r in found] == ["other-db", "other-version"]


def test_the_stop_reason_names_berth_and_the_newer_record_within_stoptasks_limit():
    reason = stop_reason(run(), "R2")
    assert reason == "Berth: schema record R1 was superseded by schema record R2 of dev/apim"
    assert len(stop_reason(run(record_id="x" * 300), "R2")) == STOP_REASON_LIMIT
