"""A push delivered again after its deployment concluded (an EventBridge retry, a dead-letter
queue redriven days later): what a service's head remembers of the digests that failed there,
and whether a push of one of them may deploy it again.

EventBridge delivers an event at least once (EventBridge user guide, "Event retry policy and
using dead-letter queues"); a redriven dead-letter queue delivers it again much later. The
de-duplication of a delivery holds while its record is active; once the record concluded, what
the head remembers here is what keeps the past from deploying again."""

from __future__ import annotations

from chalicelib.values.records import DeploymentRecord, FailedImage, Image, TerminalStatus

FAILURES_KEPT = 10
"""How many failed digests a head remembers: a redrive of a dead-letter queue brings back every
push that failed, so one is not enough; the head item stays small (DynamoDB items hold 400 KB)."""


def failure_of(record: DeploymentRecord, status: TerminalStatus) -> FailedImage | None:
    """The failure a concluded record leaves for its digest: ECS ran the digest's deployment
    and it failed or was rolled back. A start refused before ECS had a deployment (an AWS call
    failed, the service was not this environment's) says nothing about the image: the same push
    may be delivered again and deploy."""
    if status not in ("FAILED", "ROLLED_BACK") or record.ecs_deployment_id is None:
        return None
    container, image, _ = record.changed
    if image is None:
        return None
    return FailedImage(
        container=container,
        image=image,
        record_id=record.record_id,
        status=status,
        failed_at=record.finished_at or record.updated_at,
    )


def failures_after(
    kept: list[FailedImage], record: DeploymentRecord, status: TerminalStatus
) -> list[FailedImage]:
    """What the head remembers once `record` concluded in `status`: its failure first (the
    newest FAILURES_KEPT); once its digest completed here (a person rolled back or promoted to
    it), nothing of that digest, which now runs; else what it remembered."""
    container, image, _ = record.changed
    if image is None:
        return kept
    others = [f for f in kept if (f.container, f.image.digest) != (container, image.digest)]
    failure = failure_of(record, status)
    if failure is not None:
        return [failure, *others][:FAILURES_KEPT]
    return others if status == "COMPLETED" else kept


def barred(kept: list[FailedImage], container: str | None, digest: str) -> FailedImage | None:
    """The failure that keeps `digest` from being deployed automatically to the container
    (None: the product), if any. Only a person's `berth rollback`/`promote` (which passes no
    bar) or a push of another digest deploys there next."""
    return next(
        (f for f in kept if f.container == container and f.image.digest == digest), None
    )


def barred_reason(failure: FailedImage) -> str:
    return (
        f"{failure.image.digest} failed here at {failure.failed_at.isoformat()} "
        f"(record {failure.record_id}): not deployed again automatically; push a new build or "
        "promote/rollback by hand"
    )


def same_push(concluded: Image | None, pushed: Image) -> bool:
    """Is `pushed` the push that `concluded` came from (the same tag on the same digest): a
    redelivery, whose outcome was told when it concluded? A new tag on the same digest is a
    person's new push, not a redelivery."""
    return (
        concluded is not None
        and concluded.digest == pushed.digest
        and concluded.tag == pushed.tag
    )
