"""Wide runs: a push or spec that changes more services of an environment than one invocation
should deploy (BERTH_WIDE_RUN) is fanned out.

The invocation that meets it opens the run (a tally of its services' outcomes), tells its start
once, and puts one batch event per group of services on the bus (decisions.fanout.batches); each
batch is deployed by its own invocation (flows.batches) through the same judge-record-announce
path as a narrow run. Every record of the run carries `run_size`, so its outcome is counted in
the tally instead of being told alone, and the last one tells the run summary (Berth.announce).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from chalicelib.context import Berth
from chalicelib.decisions.fanout import batches
from chalicelib.spec.model import Spec
from chalicelib.values.notifications.runs import run_started_notification
from chalicelib.values.outcomes import Outcome
from chalicelib.values.records import RunTally, Trigger

# A run's tally outlives any rollout Berth follows (DynamoDB TTL on expires_at).
RUN_KEPT = timedelta(days=7)


def run_id_for(event_id: str, environment: str) -> str:
    """The same event makes the same run in an environment, so a redelivery reopens nothing."""
    return hashlib.sha256(f"{event_id}/{environment}".encode()).hexdigest()[:12]


def open_run(
    berth: Berth, environment: str, run_id: str, services: Sequence[str], trigger: Trigger
) -> None:
    """Start the run's tally and tell its start, once (a redelivery finds it open)."""
    tally = RunTally(
        run_id=run_id, environment=environment, total=len(services), remaining=len(services),
        trigger=trigger,
    )  # fmt: skip
    if berth.store.open_run(tally, berth.clock() + RUN_KEPT):
        berth.notifier.publish(
            run_started_notification(environment, run_id, services, trigger, berth.clock())
        )


def send_batches(
    berth: Berth,
    spec: Spec,
    services: Sequence[str],
    *,
    kind: str,
    run_id: str,
    run_size: int,
    trigger: Trigger,
    records: dict[str, str] | None = None,
    other_tags: Sequence[str] = (),
    container: str | None = None,
) -> list[Outcome]:
    """One batch event per group of `services` (kept in deployment order, dependencies with
    their dependents); `records` names the claimed record of each service for `start` batches,
    `container` the tracked sidecar an `image` batch's push is for (None: the product)."""
    # A schema task (`<service>.schema`, issue 16) depends on nothing.
    depends_on = {
        name: spec.services[name].depends_on if name in spec.services else [] for name in services
    }
    details: list[dict[str, Any]] = []
    outcomes: list[Outcome] = []
    for batch in batches(list(services), depends_on, berth.settings.wide_run):
        details.append(
            {
                "kind": kind,
                "bucket": berth.settings.spec_bucket,
                "environment": spec.environment,
                "run_id": run_id,
                "run_size": run_size,
                "services": batch,
                "records": [records[name] for name in batch] if records else [],
                "trigger": trigger.model_dump(mode="json"),
                "other_tags": list(other_tags),
                "container": container,
            }
        )
        reason = f"fanned out: batch {len(details)} of run {run_id}"
        outcomes += [
            Outcome(action="pending", environment=spec.environment, service=name, reason=reason)
            for name in batch
        ]
    berth.bus.send(details)
    return outcomes
