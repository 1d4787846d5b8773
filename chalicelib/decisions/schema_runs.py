"""Schema initialisation at most once per environment, database and schema version (issue 29):
what a schema record's start does given the run the store holds for its database, and which
runs of the service a newer record supersedes.

Two starts of one service's schema task can meet: the same spec upload delivered twice, two
uploads before the first deployment concluded, a redriven batch. WSO2's scripts create tables
without `IF NOT EXISTS`, so a second task against the same database fails, or worse, races the
first one half-way. Pure: values in, values out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from chalicelib.values.records import Image
from chalicelib.values.schema_runs import SchemaRun

# StopTask's `reason` "Up to 255 characters are allowed" (ECS API reference, StopTask).
STOP_REASON_LIMIT = 255
_RELEASE = re.compile(r"\d+(?:\.\d+)*")


def schema_database(urls: list[str]) -> str:
    """The identity of what a plan initialises: its JDBC URLs, sorted and de-duplicated."""
    return " ".join(sorted(set(urls)))


def schema_version(product: str, image: Image) -> str:
    """The schema version of the scripts an image carries: WSO2 ships one schema per release,
    so the builds of one release (`4.7.0-1`, `4.7.0-2`) share it. An image without a release
    in its tag is its own version (its digest): nothing is assumed about it."""
    found = _RELEASE.match(image.tag or "")
    return f"{product} {found.group(0) if found else image.digest}"


StartKind = Literal["run", "follow", "done", "wait"]


@dataclass(frozen=True)
class SchemaStart:
    """What a schema record's start does: `run` its own task (it holds the run, or may take
    it), `follow` the task the run's holder already started, end as `done` (the database holds
    the schema already), or `wait` (another start is between taking the run and its RunTask:
    Lambda retries)."""

    kind: StartKind
    reason: str = ""


def schema_start(found: SchemaRun | None, record_id: str) -> SchemaStart:
    """The start of schema record `record_id`, given the run the store holds for its
    environment, database and version (None: never run)."""
    if found is None or found.status in ("FAILED", "STOPPED"):
        return SchemaStart("run")
    where = f"{found.database} at {found.version}"
    if found.status == "COMPLETED":
        return SchemaStart("done", f"{where} was already initialised by schema record "
                                   f"{found.record_id}; no schema task was run")  # fmt: skip
    if found.record_id == record_id and found.task_arn is None:
        return SchemaStart("run")  # its own retry: the same RunTask client token, one task
    if found.record_id == record_id:
        # An earlier delivery started the task and died before recording it on the record.
        return SchemaStart("follow", f"its schema task {found.task_arn} already runs")
    if found.task_arn is None:
        return SchemaStart("wait", f"schema record {found.record_id} is starting the task of "
                                   f"{where}")  # fmt: skip
    following = f"schema task {found.task_arn} of record {found.record_id}"
    return SchemaStart("follow", f"{following} already initialises {where}; no second task "
                                 "was run")  # fmt: skip


def superseded_runs(
    runs: list[SchemaRun], service: str, database: str, version: str
) -> list[SchemaRun]:
    """The service's runs still running against another database or version than the one its
    newest schema record initialises: their tasks serve a spec no longer wanted. The run of
    the same database and version is followed, never stopped (stopping it half-way would
    leave tables a second run cannot create again)."""
    return [
        run
        for run in runs
        if run.service == service
        and run.status == "RUNNING"
        and run.task_arn is not None
        and (run.database, run.version) != (database, version)
    ]


def stop_reason(superseded: SchemaRun, by_record_id: str) -> str:
    """StopTask's reason for a superseded run's task; DescribeTasks shows it as the task's
    stoppedReason (ECS API reference, StopTask: reason)."""
    text = (f"Berth: schema record {superseded.record_id} was superseded by schema record "
            f"{by_record_id} of {superseded.environment}/{superseded.service}")  # fmt: skip
    return text[:STOP_REASON_LIMIT]
