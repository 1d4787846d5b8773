"""A change's run: its steps (with each service's schema task before it), recorded and started
in order of their dependencies, or fanned out when wide; or a change rejected with its errors."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.context import Berth
from chalicelib.rendering.schema_init import schema_owner, schema_service
from chalicelib.spec.model import Spec
from chalicelib.values.notifications.envelope import RECORDED_ERRORS, shortened
from chalicelib.values.outcomes import Outcome, ignored
from chalicelib.values.records import (
    SPEC_SERVICE,
    AcceptedSpec,
    DeploymentRecord,
    Image,
    RunOutcome,
    Trigger,
)

from ..claims import claim, new_record, new_run_id, pending_outcome
from ..fanout import open_run, send_batches
from .start import start


@dataclass(frozen=True)
class Step:
    """One service of a run, the image it is to run, and the desired count to set (when the
    spec changed it)."""

    service: str
    image: Image
    desired_count: int | None = None
    sidecar_images: dict[str, Image] = field(default_factory=dict)
    """The tracked sidecars' images, by container."""
    schema: bool = False
    """Run the service's schema task first (its first deployment, issue 16): a record of the
    pseudo-service `<service>.schema` that this step's record waits for."""


def with_schema_steps(steps: list[Step]) -> list[Step]:
    """The steps of a run with each schema task as a step of its own, just before its service."""
    expanded: list[Step] = []
    for step in steps:
        if step.schema:
            expanded.append(Step(schema_service(step.service), step.image))
        expanded.append(step)
    return expanded


def reject(
    berth: Berth,
    environment: str,
    trigger: Trigger,
    errors: list[str],
    reason: str,
    *,
    service: str = SPEC_SERVICE,
) -> Outcome:
    """Record and announce a change that deploys nothing, with every error found (as many as
    one record holds)."""
    record = new_record(
        berth,
        environment,
        service,
        new_run_id(),
        trigger,
        status="REJECTED",
        errors=shortened(errors, RECORDED_ERRORS),
        errors_total=len(errors),
        reason=reason,
        finished_at=berth.clock(),
    )
    berth.store.put_record(record)
    berth.announce(record, "REJECTED", trigger.kind)
    return Outcome(
        action="rejected",
        environment=environment,
        service=None if service == SPEC_SERVICE else service,
        reason=reason,
        record_id=record.record_id,
    )


def run_steps(
    berth: Berth, spec: Spec, accepted: AcceptedSpec, steps: list[Step], trigger: Trigger
) -> list[Outcome]:
    """Record every step of a run, then start those whose dependencies are not part of it. A
    wide run (more steps than BERTH_WIDE_RUN) is told as one, and its starts are fanned out."""
    run_id = new_run_id()
    steps = with_schema_steps(steps)
    changing = {step.service for step in steps}
    run_size = len(steps) if len(steps) > berth.settings.wide_run else None
    if run_size:
        open_run(berth, spec.environment, run_id, [step.service for step in steps], trigger)
    outcomes: list[Outcome] = []
    ready: list[DeploymentRecord] = []
    for step in steps:
        waiting = (
            []
            if schema_owner(step.service) is not None
            else [d for d in spec.services[step.service].depends_on if d in changing]
        )
        if step.schema:
            waiting.append(schema_service(step.service))
        record = claim(
            berth, spec, step.service, image=step.image, run_id=run_id, trigger=trigger,
            waiting=waiting, desired_count=step.desired_count, run_size=run_size,
            sidecar_images=step.sidecar_images,
        )  # fmt: skip
        if record is None:
            reason = "superseded by a concurrent change"
            if run_size:
                berth.count_in_run(run_id, RunOutcome(service=step.service, status="SUPERSEDED",
                                                      reason=reason))  # fmt: skip
            outcomes.append(ignored(reason, spec.environment, step.service))
        elif waiting:
            outcomes.append(pending_outcome(record))
        else:
            ready.append(record)
    if run_size and ready:
        return outcomes + send_batches(
            berth, spec, [r.service for r in ready], kind="start", run_id=run_id,
            run_size=run_size, trigger=trigger, records={r.service: r.record_id for r in ready},
        )  # fmt: skip
    for record in ready:
        outcomes += start(berth, record, spec, accepted)
    return outcomes
