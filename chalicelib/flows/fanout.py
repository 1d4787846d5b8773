"""Wide runs: a push or spec that changes more services of an environment than one invocation
should deploy (BERTH_WIDE_RUN) is fanned out.

The invocation that meets it opens the run (a tally of its services' outcomes, with the trigger
as Berth verified it), tells its start once, keeps the run's plan in the run's record (one batch
per group of services, decisions.fanout.batches) and puts one reference per batch on the bus;
each batch is deployed by its own invocation (flows.batches), from the run's record, through the
same judge-record-announce path as a narrow run. Every record of the run carries `run_size`, so
its outcome is counted in the tally instead of being told alone, and the last one tells the run
summary (Berth.announce).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

from chalicelib.context import Berth
from chalicelib.decisions.fanout import batches
from chalicelib.spec.model import Spec
from chalicelib.values.notifications.runs import run_started_notification
from chalicelib.values.outcomes import Outcome, ignored
from chalicelib.values.records import RunBatch, RunOutcome, RunPlan, RunTally, Trigger

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
    kind: Literal["image", "start"],
    run_id: str,
    run_size: int,
    trigger: Trigger,
    records: dict[str, str] | None = None,
    other_tags: Sequence[str] = (),
    container: str | None = None,
) -> list[Outcome]:
    """One batch event per group of `services` (kept in deployment order, dependencies with
    their dependents); `records` names the claimed record of each service for `start` batches,
    `container` the tracked sidecar an `image` batch's push is for (None: the product).

    The plan (each batch's services and records, the spec version, the push's other tags and
    container) goes into the run's record first, beside the trigger `open_run` kept (the image
    as ECR confirmed it); each event is only a reference to one of its batches. Anyone allowed
    events:PutEvents on the default bus can put an event of Berth's source, so flows.batches
    deploys what this record says and refuses what it does not name (decisions.batches)."""
    # A schema task (`<service>.schema`, issue 16) depends on nothing.
    depends_on = {
        name: spec.services[name].depends_on if name in spec.services else [] for name in services
    }
    planned = [
        RunBatch(services=batch, records=[records[name] for name in batch] if records else [])
        for batch in batches(list(services), depends_on, berth.settings.wide_run)
    ]
    # The spec version the run is planned under: the environment's accepted spec, read here
    # rather than passed by each caller (the push flow holds only the parsed spec).
    accepted = berth.store.accepted_spec(spec.environment)
    if accepted is None:
        reason = "the environment has no accepted spec"
        for name in services:  # counted, so that the run is still summed up
            berth.count_in_run(run_id, RunOutcome(service=name, status="IGNORED", reason=reason))
        return [ignored(reason, spec.environment, name) for name in services]
    proposed = RunPlan(
        kind=kind, spec=accepted.source, batches=planned, other_tags=list(other_tags),
        container=container,
    )  # fmt: skip
    # A redelivery of the event that opened the run finds the first delivery's plan kept, and
    # sends references to that plan's batches again (their invocations judge and count once).
    plan = berth.store.plan_run(run_id, proposed)
    if plan is None:
        return [ignored(f"run {run_id} is not open", spec.environment, name) for name in services]
    references = [
        {"run_id": run_id, "batch": index, "spec": plan.spec.model_dump(mode="json")}
        for index in range(len(plan.batches))
    ]
    outcomes = [
        Outcome(
            action="pending", environment=spec.environment, service=name,
            reason=f"fanned out: batch {index + 1} of run {run_id}",
        )
        for index, batch in enumerate(plan.batches)
        for name in batch.services
    ]  # fmt: skip
    berth.bus.send(references)
    return outcomes
