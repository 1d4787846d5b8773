"""A schema run: the one initialisation of a database at a schema version in an environment.

WSO2's dbscripts create tables without `IF NOT EXISTS` (chalicelib.rendering.schema_init), so a
database is initialised at most once per schema version: the store keeps one item per
(environment, database, version), written only under a condition, and the schema task is run
only by the record that wrote it (chalicelib.decisions.schema_runs).
"""

from __future__ import annotations

from typing import Literal

from chalicelib.model import Model

SchemaRunStatus = Literal["RUNNING", "COMPLETED", "FAILED", "STOPPED"]
"""RUNNING: a task is (or is being) started; COMPLETED: the database holds the schema; FAILED
or STOPPED: the run ended without it (a later start may run again, after a person looked)."""


class SchemaRun(Model):
    environment: str
    database: str
    """What the scripts run against: the service's JDBC URLs, sorted, space-separated."""
    version: str
    """The schema's version: the product and the WSO2 release of the image whose scripts run."""
    service: str
    """The service whose schema task runs it (not the `.schema` pseudo-service)."""
    record_id: str
    """The schema record that holds the run: it alone starts the task."""
    status: SchemaRunStatus = "RUNNING"
    cluster: str = ""
    task_arn: str | None = None
    reason: str = ""
    revision: int = 0
    """The store writes a run only from the revision it read (a conditional put)."""
