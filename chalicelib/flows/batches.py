"""One batch of a wide run (flows.fanout), in its own invocation: deploy a pushed image to the
batch's services, or start the claimed records of a spec's run. Batch events come at least once
and in any order, like every event: deploying is judged against the service head, and starting
moves only PENDING records, so a second delivery changes nothing."""

from __future__ import annotations

from chalicelib.context import Berth
from chalicelib.spec.model import Spec
from chalicelib.values.events import DeployBatch, DeployBatchDetail
from chalicelib.values.outcomes import Outcome, ignored
from chalicelib.values.records import AcceptedSpec, RunOutcome

from .claims import run_of
from .image_push import deploy_image
from .runs.start import start


def on_batch(berth: Berth, event: DeployBatch) -> list[Outcome]:
    detail = event.detail
    if detail.bucket != berth.settings.spec_bucket:
        return [ignored(f"a batch of another stage (bucket {detail.bucket})")]
    accepted = berth.store.accepted_spec(detail.environment)
    if accepted is None:
        return _not_deployed(berth, detail, detail.services, "the environment has no spec")
    spec = Spec.model_validate(accepted.document)
    if detail.kind == "start":
        return _start(berth, detail, spec, accepted)
    image = detail.trigger.image
    if image is None:
        return _not_deployed(berth, detail, detail.services, "the batch names no image")
    outcomes: list[Outcome] = []
    for name in detail.services:
        if not _tracks(spec, name, detail.container, image.repository):
            outcomes += _not_deployed(
                berth, detail, [name], "no longer tracks the repository in the accepted spec"
            )
            continue
        told = deploy_image(
            berth, spec, accepted, name, image=image, trigger=detail.trigger,
            other_tags=tuple(detail.other_tags), run=(detail.run_id, detail.run_size),
            container=detail.container,
        )  # fmt: skip
        outcomes += told
        if all(o.action == "ignored" for o in told) and not _in_run(berth, detail, name):
            # Judged not to deploy (older, off track, already running): no record will count it.
            reason = told[0].reason if told else "not deployed"
            berth.count_in_run(detail.run_id, RunOutcome(service=name, status="IGNORED",
                                                         reason=reason))  # fmt: skip
    return outcomes


def _start(
    berth: Berth, detail: DeployBatchDetail, spec: Spec, accepted: AcceptedSpec
) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for name, record_id in zip(detail.services, detail.records, strict=True):
        record = berth.store.get_record(detail.environment, name, record_id)
        if record is None or record.status != "PENDING" or record.waiting_for:
            reason = "already started, or no longer waiting to"
            outcomes.append(ignored(reason, detail.environment, name))
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


def _in_run(berth: Berth, detail: DeployBatchDetail, name: str) -> bool:
    """Does the service's head name a record of this run (this push already deployed it, in an
    earlier delivery of the batch)?"""
    head = berth.store.get_head(detail.environment, name)
    return bool(head.active_record_id and run_of(head.active_record_id) == detail.run_id)


def _not_deployed(
    berth: Berth, detail: DeployBatchDetail, services: list[str], reason: str
) -> list[Outcome]:
    for name in services:
        berth.count_in_run(detail.run_id, RunOutcome(service=name, status="IGNORED", reason=reason))
    return [ignored(reason, detail.environment, name) for name in services]
