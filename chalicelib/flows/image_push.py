"""A tagged image was pushed to ECR: judge it for every service that tracks its repository, and
deploy it where it is newer than what runs."""

from __future__ import annotations

from chalicelib.context import Berth
from chalicelib.decisions.push import RunningImage, Verdict, ecr_problem, judge_push, off_track
from chalicelib.decisions.redelivery import barred, barred_reason, same_push
from chalicelib.spec.model import Spec
from chalicelib.values.events import EcrImageAction
from chalicelib.values.live import EcrImage
from chalicelib.values.notifications.alerts import running_image_deleted_notification
from chalicelib.values.notifications.deployments import ignored_push_notification
from chalicelib.values.outcomes import Outcome, ignored, warned
from chalicelib.values.records import ACTIVE, AcceptedSpec, DeploymentRecord, Head, Image, Trigger

from .claims import claim_head, new_run_id, pending_outcome
from .fanout import open_run, run_id_for, send_batches
from .lease import ConcurrentChange
from .runs.start import start
from .runs.steps import reject
from .sidecars import tracked_sidecar_images


def on_image_pushed(berth: Berth, event: EcrImageAction) -> list[Outcome]:
    """An "ECR Image Action": a push deploys to every service that tracks the repository, once
    ECR confirms the image; a delete of a digest a service runs is warned about."""
    detail = event.detail
    if not (event.pushed or event.deleted):
        return [ignored(f"ECR {detail.action_type} {detail.result} of {detail.repository_name}")]
    tracking = _tracking(berth, event)
    if not tracking:
        return [
            ignored(
                f"no accepted spec tracks {detail.repository_name} "
                f"in account {event.account}, region {event.region}"
            )
        ]
    if event.deleted:
        return _deleted(berth, event, tracking)
    if not detail.image_tag:
        return [ignored(f"untagged push to {detail.repository_name}; Berth follows tags")]
    image = Image(
        repository=detail.repository_name, tag=detail.image_tag, digest=detail.image_digest
    )
    tracking, outcomes = _on_track(berth, tracking, image)
    if not tracking:
        return outcomes  # a tag no track follows costs no ECR call either
    held = berth.ecr.image(detail.repository_name, detail.image_digest)
    # ECR's own push time of the digest: a new tag on an old build keeps its age.
    image = image.model_copy(
        update={"pushed_at": held.pushed_at if held is not None else event.time}
    )
    trigger = Trigger(kind="image", event_id=event.id, image=image)
    problem = ecr_problem(image.repository, image.tag or "", image.digest, held)
    if problem is None:
        tracking, fanned = _fan_out_wide(berth, event, tracking, trigger, held)
        outcomes += fanned
    for spec, accepted, name, container in tracking:
        # The trigger names the container whose image the push is: notifications say so.
        pushed = trigger.model_copy(update={"container": container}) if container else trigger
        if problem is not None:
            reason = "ECR does not hold what the push event says; nothing was deployed"
            outcomes.append(
                reject(berth, spec.environment, pushed, [problem], reason, service=name)
            )
            continue
        other_tags = held.tags if held is not None else ()
        outcomes += deploy_image(
            berth, spec, accepted, name, image=image, trigger=pushed, other_tags=other_tags,
            container=container,
        )  # fmt: skip
    return outcomes


Tracking = tuple[Spec, AcceptedSpec, str, str | None]
"""(spec, accepted spec, service, container): None for the product container, else the name of
a sidecar that tracks the repository."""


def _on_track(
    berth: Berth, tracking: list[Tracking], image: Image
) -> tuple[list[Tracking], list[Outcome]]:
    """The containers whose track follows the pushed tag, and an ignored outcome (a log line)
    for each of the others, before anything is judged, claimed, fanned out or refused: a tag no
    track follows concerns no one, so no run opens ("deploying N services", "N ignored") and
    nothing is told, unless the stage asked to hear of every push that deploys nothing
    (BERTH_NOTIFY_IGNORED_PUSHES=true: an operator who turned it on expects the off-track push
    too, one notification per container, as the narrow path tells an older push)."""
    followed: list[Tracking] = []
    outcomes: list[Outcome] = []
    for entry in tracking:
        spec, _, name, container = entry
        svc = spec.services[name]
        track = (svc.containers[container].image.track if container else svc.image.track) or "*"
        reason = off_track(image.tag or "", track)
        if reason is None:
            followed.append(entry)
            continue
        _tell_ignored(berth, spec.environment, name, image, reason, container=container)
        outcomes.append(ignored(reason, spec.environment, name))
    return followed, outcomes


def _tell_ignored(
    berth: Berth,
    environment: str,
    name: str,
    image: Image,
    reason: str,
    *,
    container: str | None,
) -> None:
    """Announce a push that deploys nothing, where the stage asks for it."""
    if berth.settings.notify_ignored_pushes:
        berth.notifier.publish(
            ignored_push_notification(
                environment, name, image, reason, berth.clock(), container=container
            )
        )


def _fan_out_wide(
    berth: Berth,
    event: EcrImageAction,
    tracking: list[Tracking],
    trigger: Trigger,
    held: EcrImage | None,
) -> tuple[list[Tracking], list[Outcome]]:
    """Environments where the push feeds more services (of one container) than one invocation
    deploys are fanned out (flows.fanout); the rest is left to deploy here."""
    groups: dict[tuple[str, str | None], list[Tracking]] = {}
    for entry in tracking:
        groups.setdefault((entry[0].environment, entry[3]), []).append(entry)
    narrow: list[Tracking] = []
    outcomes: list[Outcome] = []
    for (environment, container), entries in groups.items():
        if len(entries) <= berth.settings.wide_run:
            narrow += entries
            continue
        spec = entries[0][0]
        services = [name for _, _, name, _ in entries]
        run_id = run_id_for(f"{event.id}/{container or ''}", environment)
        pushed = trigger.model_copy(update={"container": container}) if container else trigger
        open_run(berth, environment, run_id, services, pushed)
        outcomes += send_batches(
            berth, spec, services, kind="image", run_id=run_id, run_size=len(services),
            trigger=pushed, other_tags=held.tags if held is not None else (),
            container=container,
        )  # fmt: skip
    return narrow, outcomes


def _tracking(berth: Berth, event: EcrImageAction) -> list[Tracking]:
    """Every container that tracks the event's repository in the event's account and region:
    products first, then tracked sidecars, each in deployment order. A service whose product
    and sidecar both track the repository is judged once per container."""
    found: list[Tracking] = []
    repository = event.detail.repository_name
    for accepted in berth.store.accepted_specs():
        if (accepted.account, accepted.region) != (event.account, event.region):
            continue
        spec = Spec.model_validate(accepted.document)
        for name in spec.deployment_order():
            svc = spec.services[name]
            if svc.image.repository == repository:
                found.append((spec, accepted, name, None))
            for container in sorted(svc.containers):
                image = svc.containers[container].image
                if image.tracked and image.repository == repository:
                    found.append((spec, accepted, name, container))
    return found


def _deleted(berth: Berth, event: EcrImageAction, tracking: list[Tracking]) -> list[Outcome]:
    """A digest was deleted from ECR: warn for each service running it, before ECS next needs
    to pull it (a new task, a scale-out, a replaced host)."""
    detail = event.detail
    if berth.ecr.image(detail.repository_name, detail.image_digest) is not None:
        return [ignored(f"{detail.image_tag} was untagged; ECR still holds {detail.image_digest}")]
    outcomes: list[Outcome] = []
    for spec, _, name, container in tracking:
        head = berth.store.get_head(spec.environment, name)
        running = head.sidecar_images.get(container) if container else head.image
        if running is None or running.digest != detail.image_digest:
            continue
        berth.notifier.publish(
            running_image_deleted_notification(spec.environment, name, running, berth.clock())
        )
        reason = f"the running image {running.label} was deleted from ECR"
        outcomes.append(warned(spec.environment, name, reason))
    return outcomes or [ignored(f"no service runs the deleted {detail.image_digest}")]


def deploy_image(
    berth: Berth,
    spec: Spec,
    accepted: AcceptedSpec,
    name: str,
    *,
    image: Image,
    trigger: Trigger,
    other_tags: tuple[str, ...] = (),
    never_older: bool = True,
    run: tuple[str, int] | None = None,
    container: str | None = None,
) -> list[Outcome]:
    """Judge a pushed image for one service and start (or queue) its deployment.

    `never_older=False` is a person's explicit choice (a rollback, a promotion): the image
    replaces what runs whatever its age or track, unless it already runs; the trigger's note
    says what was overridden. `run` (id, size) places the deployment in a wide run. With
    `container`, the image is that tracked sidecar's, judged against what the sidecar runs; the
    product keeps its image."""
    svc = spec.services[name]
    track = (svc.containers[container].image.track if container else svc.image.track) or "*"
    for _ in range(5):
        head = berth.store.get_head(spec.environment, name)
        running = head.sidecar_images.get(container) if container else head.image
        resumable = _unstarted_claim(berth, head, running, image)
        if resumable is not None:
            return start(berth, resumable, spec, accepted)
        if container and head.image is None:
            reason = f"{name} has not been deployed yet: its spec deploys it, {container} too"
            return [ignored(reason, spec.environment, name)]
        # A person's rollback or promotion (`never_older=False`) passes the bar: their choice.
        refused = _failed_here(berth, head, image, container, told=run is None) if (
            never_older
        ) else None
        if refused is not None:
            return [refused]
        verdict = judge_push(
            track,
            image.tag or "",
            image.digest,
            image.pushed_at or berth.clock(),
            RunningImage(running.tag, running.digest, running.pushed_at) if running else None,
            other_tags=other_tags,
        )
        if not (verdict.deploy or never_older or _runs(running, image)):
            verdict = Verdict(True, f"overridden by the person who asked: {verdict.reason}")
        if not verdict.deploy:
            # The push that deployed what runs, delivered again, was told when it completed.
            if run is None and not same_push(running, image):
                _tell_ignored(
                    berth, spec.environment, name, image, verdict.reason, container=container
                )
            return [ignored(verdict.reason, spec.environment, name)]
        # What the tracked sidecars run (no AWS call unless the head lacks one); a push to a
        # sidecar's repository changes that sidecar only, the product keeps its image.
        sidecars, missing = tracked_sidecar_images(berth.ecr, spec, name, head)
        if missing:
            reason = "a tracked sidecar has no image; nothing was deployed"
            return [reject(berth, spec.environment, trigger, missing, reason, service=name)]
        product = image
        if container:
            assert head.image is not None
            product, sidecars = head.image, {**sidecars, container: image}
        waiting = _busy_dependencies(berth, spec, name)
        claimed = claim_head(
            berth, spec, name, image=product, run_id=run[0] if run else new_run_id(),
            trigger=trigger, waiting=waiting, head=head, lease=True, sidecar_images=sidecars,
            run_size=run[1] if run else None,
        )  # fmt: skip
        if claimed is None:
            continue  # another event moved the head: judge again against what it holds now
        record, leased = claimed
        if waiting:
            return [pending_outcome(record)]
        return start(berth, record, spec, accepted, leased)
    raise ConcurrentChange(f"{spec.environment}/{name}: the service head kept moving; retry")


def _failed_here(
    berth: Berth, head: Head, image: Image, container: str | None, *, told: bool
) -> Outcome | None:
    """Ignored, with the reason, when the pushed digest failed or was rolled back on the service
    (decisions.redelivery); None when it may be judged. Its outcome was told when it failed: a
    redelivery of that push tells nothing more; a new tag on the failed build is a new push,
    told (with `told`, outside a wide run) where the stage asks to hear of ignored pushes."""
    failure = barred(head.failed_images, container, image.digest)
    if failure is None:
        return None
    reason = barred_reason(failure)
    if told and not same_push(failure.image, image):
        _tell_ignored(berth, head.environment, head.service, image, reason, container=container)
    return ignored(reason, head.environment, head.service)


def _runs(running: Image | None, image: Image) -> bool:
    return running is not None and running.digest == image.digest


def _unstarted_claim(
    berth: Berth, head: Head, running: Image | None, image: Image
) -> DeploymentRecord | None:
    """A record an earlier delivery of this push claimed but never started (it died first);
    `running` is what the head says the pushed container runs."""
    if head.active_record_id is None or running is None or running.digest != image.digest:
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
