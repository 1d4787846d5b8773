"""A tagged image was pushed to ECR: judge it for every service that tracks its repository, and
deploy it where it is newer than what runs."""

from __future__ import annotations

from ..context import Berth
from ..decisions.push import RunningImage, judge_push
from ..events import EcrImageAction
from ..notifications import ignored_push_notification
from ..outcomes import Outcome, ignored
from ..records import ACTIVE, AcceptedSpec, DeploymentRecord, Head, Image, Trigger
from ..spec import Spec
from .runs import ConcurrentChange, claim, new_run_id, pending_outcome, start


def on_image_pushed(berth: Berth, event: EcrImageAction) -> list[Outcome]:
    """An image was pushed: deploy it to every service of every accepted spec that tracks it."""
    detail = event.detail
    if not event.pushed:
        return [ignored(f"ECR {detail.action_type} {detail.result} of {detail.repository_name}")]
    if not detail.image_tag:
        return [ignored(f"untagged push to {detail.repository_name}; Berth follows tags")]
    image = Image(
        repository=detail.repository_name,
        tag=detail.image_tag,
        digest=detail.image_digest,
        pushed_at=event.time,
    )
    trigger = Trigger(kind="image", event_id=event.id, image=image)
    outcomes: list[Outcome] = []
    for accepted in berth.store.accepted_specs():
        if (accepted.account, accepted.region) != (event.account, event.region):
            continue
        spec = Spec.model_validate(accepted.document)
        for name in spec.deployment_order():
            if spec.services[name].image.repository == image.repository:
                outcomes += deploy_image(berth, spec, accepted, name, image=image, trigger=trigger)
    if not outcomes:
        return [
            ignored(
                f"no accepted spec tracks {image.repository} "
                f"in account {event.account}, region {event.region}"
            )
        ]
    return outcomes


def deploy_image(
    berth: Berth, spec: Spec, accepted: AcceptedSpec, name: str, *, image: Image, trigger: Trigger
) -> list[Outcome]:
    """Judge a pushed image for one service and start (or queue) its deployment."""
    track = spec.services[name].image.track
    for _ in range(5):
        head = berth.store.get_head(spec.environment, name)
        resumable = _unstarted_claim(berth, head, image)
        if resumable is not None:
            return start(berth, resumable, spec, accepted)
        running = head.image
        verdict = judge_push(
            track,
            image.tag or "",
            image.digest,
            image.pushed_at or berth.clock(),
            RunningImage(running.tag, running.digest, running.pushed_at) if running else None,
        )
        if not verdict.deploy:
            if berth.settings.notify_ignored_pushes:
                berth.notifier.publish(
                    ignored_push_notification(
                        spec.environment, name, image, verdict.reason, berth.clock()
                    )
                )
            return [ignored(verdict.reason, spec.environment, name)]
        waiting = _busy_dependencies(berth, spec, name)
        record = claim(
            berth, spec, name, image=image, run_id=new_run_id(), trigger=trigger,
            waiting=waiting, head=head,
        )  # fmt: skip
        if record is None:
            continue  # another event moved the head: judge again against what it holds now
        if waiting:
            return [pending_outcome(record)]
        return start(berth, record, spec, accepted)
    raise ConcurrentChange(f"{spec.environment}/{name}: the service head kept moving; retry")


def _unstarted_claim(berth: Berth, head: Head, image: Image) -> DeploymentRecord | None:
    """A record an earlier delivery of this push claimed but never started (it died first)."""
    if head.active_record_id is None or head.image is None or head.image.digest != image.digest:
        return None
    record = berth.store.get_record(head.environment, head.service, head.active_record_id)
    if record is None or record.status != "PENDING" or record.waiting_for:
        return None
    return record


def _busy_dependencies(berth: Berth, spec: Spec, name: str) -> list[str]:
    """Dependencies of `name` that have a deployment under way: it waits for them."""
    busy = []
    for dependency in spec.services[name].depends_on:
        head = berth.store.get_head(spec.environment, dependency)
        if head.active_record_id:
            record = berth.store.get_record(spec.environment, dependency, head.active_record_id)
            if record is not None and record.status in ACTIVE:
                busy.append(dependency)
    return busy
