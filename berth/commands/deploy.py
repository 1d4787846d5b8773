"""`berth deploy`: put a validated spec where Berth reads it, and follow the run it causes through
Berth's own records (the upload's S3 version id is in every record's `trigger.spec.version_id`)."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from berth.commands import OperatorError
from chalicelib.adapters import aws_errors
from chalicelib.adapters.store import Store
from chalicelib.values.records import ACTIVE, SPEC_SERVICE, DeploymentRecord

# What the spec intake accepts as a key (chalicelib/flows/spec_upload.py SPEC_KEY).
SPEC_NAME = re.compile(r"^[^/]+\.(ya?ml|json)$")


@dataclass(frozen=True)
class Uploaded:
    bucket: str
    key: str
    version_id: str

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def spec_key(environment: str, path: str, current: str | None = None) -> str:
    """The key whose upload Berth deploys: the environment's spec file when it has one (Berth
    takes one spec file per environment), else `specs/<environment>/<file name>`."""
    if current is not None:
        return current
    name = os.path.basename(path)
    if not SPEC_NAME.match(name):
        raise OperatorError(
            f"{path}: Berth reads only .yaml, .yml and .json files under specs/<environment>/"
        )
    return f"specs/{environment}/{name}"


@aws_errors("PutObject")
def upload(s3: Any, bucket: str, key: str, body: bytes) -> Uploaded:
    """Put the spec's bytes as they are (so a rejection's line numbers are the file's)."""
    answer = s3.put_object(Bucket=bucket, Key=key, Body=body)
    version = answer.get("VersionId")
    if not version:
        raise OperatorError(
            f"s3://{bucket} is not versioned: Berth deploys exact spec versions, so its bucket "
            "must have versioning enabled"
        )
    return Uploaded(bucket, key, str(version))


def caused_by(records: Iterable[DeploymentRecord], version_id: str) -> list[DeploymentRecord]:
    """The records an upload caused, oldest first."""
    found = [
        r
        for r in records
        if r.trigger.kind == "spec"
        and r.trigger.spec is not None
        and r.trigger.spec.version_id == version_id
    ]
    return sorted(found, key=lambda r: r.record_id)


def records_of(
    store: Store, environment: str, services: Iterable[str], version_id: str
) -> list[DeploymentRecord]:
    """The records of the spec's services (and of the spec itself) caused by one upload."""
    names = [*services, SPEC_SERVICE]
    return caused_by((r for s in names for r in store.history(environment, s, 20)), version_id)


def progress_line(record: DeploymentRecord) -> str:
    """One line for a record that changed status: `apim: COMPLETED 4.7.0-9 (reason)`."""
    name = "spec" if record.service == SPEC_SERVICE else record.service
    text = f"{name}: {record.status}"
    if record.image is not None:
        text += f" {record.image.label}"
    if record.reason:
        text += f" ({record.reason})"
    details = [*record.causes, *record.errors]
    return "\n".join([text, *(f"  {d}" for d in details if d != record.reason)])


def succeeded(records: list[DeploymentRecord]) -> bool:
    return all(r.status == "COMPLETED" for r in records)


def summary(records: list[DeploymentRecord]) -> str:
    """The last line `deploy --wait` prints."""
    if not records:
        return "nothing to deploy: every service already runs what the spec renders"
    if succeeded(records):
        return f"deployed: {', '.join(r.service for r in records)}"
    failed = [f"{r.service} {r.status}" for r in records if r.status != "COMPLETED"]
    return f"not deployed: {', '.join(failed)}"


@dataclass
class Follower:
    """Polls the records of one upload until each has an outcome, printing what changes."""

    store: Store
    environment: str
    services: list[str]
    version_id: str
    echo: Callable[[str], None]
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def follow(self, timeout: float, interval: float) -> list[DeploymentRecord]:
        deadline = self.clock() + timeout
        shown: dict[str, str] = {}
        quiet_since: float | None = None
        while True:
            records = records_of(self.store, self.environment, self.services, self.version_id)
            for record in records:
                if shown.get(record.record_id) != record.status:
                    shown[record.record_id] = record.status
                    self.echo(progress_line(record))
            if records and not any(r.status in ACTIVE for r in records):
                return records
            if not records and self._accepted():
                # Accepted with no records: nothing changed (a run writes its records right
                # after accepting, so one more poll tells the two apart).
                if quiet_since is not None and self.clock() - quiet_since >= interval:
                    return []
                quiet_since = quiet_since if quiet_since is not None else self.clock()
            if self.clock() >= deadline:
                raise OperatorError(self._timeout_message(timeout, records))
            self.sleep(interval)

    def _accepted(self) -> bool:
        accepted = self.store.accepted_spec(self.environment)
        return accepted is not None and accepted.source.version_id == self.version_id

    def _timeout_message(self, timeout: float, records: list[DeploymentRecord]) -> str:
        waiting = [f"{r.service} {r.status}" for r in records if r.status in ACTIVE]
        where = f"still {', '.join(waiting)}" if waiting else "no record of the upload yet"
        return (
            f"gave up waiting after {timeout:g} s ({where}); the run goes on: "
            f"berth status {self.environment}"
        )
