"""`berth rollback` and `berth promote`: what the flow started, said in lines, and the record it
wrote followed to its outcome (the deployed Lambdas handle the ECS events, as for a push)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from berth.commands import OperatorError
from berth.commands.deploy import progress_line
from chalicelib.adapters.store import Store
from chalicelib.values.outcomes import Outcome
from chalicelib.values.records import ACTIVE, DeploymentRecord

# Outcomes of a request that leave the service as it was.
REFUSED = frozenset({"rejected", "ignored", "failed", "skipped", "superseded"})


def outcome_lines(outcomes: list[Outcome], record: DeploymentRecord | None) -> list[str]:
    """`dev/apim: started 4.7.0-1 (record D#…)`, then what was asked and overridden."""
    lines: list[str] = []
    for outcome in outcomes:
        image = f" {record.image.label}" if record and record.image else ""
        text = f"{outcome.environment}/{outcome.service}: {outcome.action}{image}"
        if outcome.record_id:
            text += f" (record {outcome.record_id})"
        if outcome.reason:
            text += f": {outcome.reason}"
        lines.append(text)
    if record is not None:
        lines.append(f"  {record.trigger.note}")
        lines += [f"  {e}" for e in record.errors]
    return lines


def record_of(store: Store, outcomes: list[Outcome]) -> DeploymentRecord | None:
    """The record the request wrote, if it wrote one."""
    for outcome in outcomes:
        if outcome.record_id and outcome.environment and outcome.service:
            return store.get_record(outcome.environment, outcome.service, outcome.record_id)
    return None


def refused(outcomes: list[Outcome]) -> bool:
    return not outcomes or any(o.action in REFUSED for o in outcomes)


@dataclass
class RecordFollower:
    """Polls one record until it has an outcome, printing each status it reaches."""

    store: Store
    record: DeploymentRecord
    echo: Callable[[str], None]
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def follow(self, timeout: float, interval: float) -> DeploymentRecord:
        deadline = self.clock() + timeout
        shown = ""
        r = self.record
        while True:
            current = self.store.get_record(r.environment, r.service, r.record_id) or self.record
            if current.status != shown:
                shown = current.status
                self.echo(progress_line(current))
            if current.status not in ACTIVE:
                return current
            if self.clock() >= deadline:
                raise OperatorError(
                    f"gave up waiting after {timeout:g} s (still {current.status}); the "
                    f"deployment goes on: berth history {r.environment} {r.service}"
                )
            self.sleep(interval)
