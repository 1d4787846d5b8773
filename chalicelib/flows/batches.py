"""One batch of a wide run (flows.fanout), in its own invocation: deploy a pushed image to the
batch's services, or start the claimed records of a spec's run.

The event is only a reference (run id, batch index, spec version); what the batch deploys is
read from the run's record, which Berth wrote when it opened and planned the run: the services
and records of each batch, and the image as ECR confirmed it then. A reference the record does
not vouch for, or a batch already done, does nothing (decisions.batches). Batch events come at
least once and in any order, like every event: deploying is judged against the service head,
and starting moves only PENDING records, so a second delivery while the batch is under way
changes nothing either."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from chalicelib.context import Berth
from chalicelib.decisions.batches import BatchRefusal, batch_refusal
from chalicelib.spec.model import Spec
from chalicelib.values.events import DeployBatch
from chalicelib.values.notifications.alerts import forged_batch_notification
from chalicelib.values.outcomes import Outcome, ignored
from chalicelib.values.records import AcceptedSpec, RunBatch, RunOutcome, RunPlan, RunTally

from .claims import run_of
from .image_push import deploy_image
from .runs.start import start

logger = Logger(service="berth")


def on_batch(berth: Berth, event: DeployBatch) -> list[Outcome]:
    reference = event.detail
    if reference.spec.bucket != berth.settings.spec_bucket:
        return [ignored(f"a batch of another stage (bucket {reference.spec.bucket})")]
    run = berth.store.get_run(reference.run_id)
    refusal = batch_refusal(
        reference.run_id, reference.batch, reference.spec, (reference.model_extra or {}), run
    )
    if refusal is not None:
        return [_refused(berth, event, refusal, run)]
    assert run is not None and run.plan is not None  # batch_refusal refuses a run without either
    outcomes = _deploy(berth, run, run.plan, reference.batch)
    # Only once the batch's work is done: a retried invocation (Lambda retries a failed one)
    # must still find the batch to do.
    berth.store.finish_batch(run.run_id, reference.batch)
    return outcomes


def _refused(
    berth: Berth, event: DeployBatch, refusal: BatchRefusal, run: RunTally | None
) -> Outcome:
    """A batch refused does nothing but say so: a log line, and for a forgery one security
    notification (someone who may put events on Berth's bus tried to make it deploy)."""
    environment = run.environment if run is not None else None
    logger.warning("batch refused", extra={
        "reason": refusal.reason, "forged": refusal.forged, "event_id": event.id,
        "run_id": event.detail.run_id, "batch": event.detail.batch,
    })  # fmt: skip
    if refusal.forged:
        berth.notifier.publish(
            forged_batch_notification(
                environment, event.id, event.detail.run_id, refusal.reason, berth.clock()
            )
        )
    return Outcome(action="ignored", environment=environment, reason=refusal.reason)


def _deploy(berth: Berth, run: RunTally, plan: RunPlan, index: int) -> list[Outcome]:
    """Deploy the plan's batch `index` as the run's record says."""
    batch = plan.batches[index]
    accepted = berth.store.accepted_spec(run.environment)
    if accepted is None:
        return _not_deployed(berth, run, batch.services, "the environment has no spec")
    spec = Spec.model_validate(accepted.document)
    if plan.kind == "start":
        return _start(berth, run, batch, spec, accepted)
    # The image as Berth verified it with ECR when it opened the run.
    image = run.trigger.image
    if image is None:
        return _not_deployed(berth, run, batch.services, "the run names no image")
    outcomes: list[Outcome] = []
    for name in batch.services:
        if not _tracks(spec, name, plan.container, image.repository):
            outcomes += _not_deployed(
                berth, run, [name], "no longer tracks the repository in the accepted spec"
            )
            continue
        told = deploy_image(
            berth, spec, accepted, name, image=image, trigger=run.trigger,
            other_tags=tuple(plan.other_tags), run=(run.run_id, run.total),
            container=plan.container,
        )  # fmt: skip
        outcomes += told
        if all(o.action == "ignored" for o in told) and not _in_run(berth, run, name):
            # Judged not to deploy (older, off track, already running): no record will count it.
            reason = told[0].reason if told else "not deployed"
            berth.count_in_run(run.run_id, RunOutcome(service=name, status="IGNORED",
                                                      reason=reason))  # fmt: skip
    return outcomes


def _start(
    berth: Berth, run: RunTally, batch: RunBatch, spec: Spec, accepted: AcceptedSpec
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for name, record_id in zip(batch.services, batch.records, strict=True):
        record = berth.store.get_record(run.environment, name, record_id)
        if record is None or record.status != "PENDING" or record.waiting_for:
            reason = "already started, or no longer waiting to"
            outcomes.append(ignored(reason, run.environment, name))
            continue
        outcomes += start(berth, record, spec, accepted)
    return outcomes


def _tracks(spec: Spec, name: str, container: str | None, repository: str) -> bool:
    """Does the accepted spec still have `name`'s container follow `repository`?"""
    service = spec.services.get(name)
    if service is None:
        return False
    if container is None:
        return service.image.repository == repository
    sidecar = service.containers.get(container)
    return sidecar is not None and sidecar.image.tracked and sidecar.image.repository == repository


def _in_run(berth: Berth, run: RunTally, name: str) -> bool:
    """Does the service's head name a record of this run (this push already deployed it, in an
    earlier delivery of the batch)?"""
    head = berth.store.get_head(run.environment, name)
    return bool(head.active_record_id and run_of(head.active_record_id) == run.run_id)


def _not_deployed(
    berth: Berth, run: RunTally, services: list[str], reason: str
) -> list[Outcome]:
    for name in services:
        berth.count_in_run(run.run_id, RunOutcome(service=name, status="IGNORED", reason=reason))
    return [ignored(reason, run.environment, name) for name in services]
