"""A person asks for an image: one Berth recorded (`berth rollback`) or one another environment
runs (`berth promote`). It goes the way of a push (checked in ECR, recorded, announced,
dependencies respected), with "never older" overridden and the override said in the trigger."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from chalicelib.context import Berth
from chalicelib.decisions.promotion import unsettled_reason
from chalicelib.decisions.push import RunningImage, ecr_problem, judge_push
from chalicelib.errors import BerthError
from chalicelib.spec.model import Spec
from chalicelib.values.outcomes import Outcome
from chalicelib.values.records import AcceptedSpec, DeploymentRecord, Image, Trigger, TriggerKind
from chalicelib.values.tracks import tag_matches

from .image_push import deploy_image
from .runs.steps import reject

# How many of a service's records a rollback looks through for its image.
SEARCHED_RECORDS = 100


class NotRedeployable(BerthError):
    """A rollback or promotion that cannot be asked for as given; nothing was recorded."""


def matches(image: Image, wanted: str) -> bool:
    """`wanted` names the image: its tag, its digest, or the digest as `berth status` shortens
    it (at least 12 hex digits, with or without `sha256:`)."""
    short = wanted.removeprefix("sha256:")
    return wanted in (image.tag, image.digest) or (
        len(short) >= 12 and image.digest.removeprefix("sha256:").startswith(short)
    )


def rollback_image(
    records: Iterable[DeploymentRecord], running: Image | None, to: str | None
) -> Image:
    """The image a rollback deploys, from a service's records (newest first): the one `to`
    names, else the newest that deployed completely and is not what runs now."""
    images = [r.image for r in records if r.image is not None]
    if to is not None:
        found = next((i for i in images if matches(i, to)), None)
        if found is None:
            raise NotRedeployable(f"no deployment record of this service has the image {to!r}")
        return found
    completed = [
        r.image for r in records
        if r.image is not None and r.status == "COMPLETED"
        and (running is None or r.image.digest != running.digest)
    ]  # fmt: skip
    if not completed:
        now = f" than the running {running.label}" if running is not None else ""
        raise NotRedeployable(f"no other image{now} was ever deployed completely; use --to")
    return completed[0]


def rollback(
    berth: Berth, environment: str, service: str, *, to: str | None, requested_by: str
) -> list[Outcome]:
    """Redeploy an image from the service's records: the one before what runs, or `to`."""
    found = _accepted(berth, environment, service)
    running = berth.store.get_head(environment, service).image
    image = rollback_image(berth.store.history(environment, service, SEARCHED_RECORDS), running, to)
    note = f"rollback of {service} to {image.label} ({image.digest[:19]}) asked by {requested_by}"
    return _redeploy(berth, found, service, _asked("rollback", image, note, requested_by))


def promote(
    berth: Berth, service: str, *, source: str, target: str, requested_by: str,
    forced: str | None = None,
) -> list[Outcome]:  # fmt: skip
    """Deploy to `target` the exact image `source` runs (its head's, per Berth's records), once
    it settled there (decisions/promotion.py); `forced` is a person's reason to skip that."""
    if source == target:
        raise NotRedeployable(f"--from and --to are both {source!r}")
    _accepted(berth, source, service)
    head = berth.store.get_head(source, service)
    image = head.image
    if image is None:
        raise NotRedeployable(f"Berth has no record of what {service} runs in {source}")
    newest = next(iter(berth.store.history(source, service, limit=1)), None)
    unsettled = unsettled_reason(head, newest)
    if unsettled is not None and not forced:
        raise NotRedeployable(unsettled)
    found = _accepted(berth, target, service)
    note = (
        f"promotion of {service} {image.label} ({image.digest[:19]}) from {source} to {target} "
        f"asked by {requested_by}"
    )
    if unsettled is not None:
        note += f", forced ({forced}) although {unsettled.split(': promote')[0]}"
    trigger = _asked("promote", image, note, requested_by, source)
    return _redeploy(berth, found, service, trigger)


def _accepted(berth: Berth, environment: str, service: str) -> tuple[Spec, AcceptedSpec]:
    accepted = berth.store.accepted_spec(environment)
    if accepted is None:
        raise NotRedeployable(f"no accepted spec for environment {environment!r}")
    spec = Spec.model_validate(accepted.document)
    if service not in spec.services:
        known = ", ".join(spec.services)
        raise NotRedeployable(f"{service!r} is not a service of {environment} ({known})")
    return spec, accepted


def _asked(
    kind: TriggerKind, image: Image, note: str, requested_by: str, source: str | None = None
) -> Trigger:
    return Trigger(
        kind=kind, event_id=f"{kind}-{uuid.uuid4().hex[:12]}", image=image,
        requested_by=requested_by, from_environment=source, note=note,
    )  # fmt: skip


def _redeploy(
    berth: Berth, found: tuple[Spec, AcceptedSpec], service: str, trigger: Trigger
) -> list[Outcome]:
    """Check the image asked for, say what it overrides, and deploy it as a push would be."""
    spec, accepted = found
    environment = spec.environment
    assert trigger.image is not None
    image = trigger.image
    repository = spec.services[service].image.repository
    if image.repository != repository:
        raise NotRedeployable(
            f"{image.repository}:{image.label} is not from {repository}, the repository "
            f"{environment}'s {service} runs from"
        )
    running = berth.store.get_head(environment, service).image
    if running is not None and running.digest == image.digest:
        raise NotRedeployable(
            f"{service} already runs {image.label} ({image.digest[:19]}) in {environment}"
        )
    held = berth.ecr.image(image.repository, image.digest)
    tags = held.tags if held is not None else ()
    if held is not None:
        image = image.model_copy(update={"pushed_at": held.pushed_at})
    verdict = judge_push(
        spec.services[service].image.track, image.tag or "", image.digest,
        image.pushed_at or berth.clock(),
        RunningImage(running.tag, running.digest, running.pushed_at) if running else None,
        other_tags=tags,
    )  # fmt: skip
    note = trigger.note
    if not verdict.deploy:
        track = spec.services[service].image.track
        judged = "the track" if not tag_matches(image.tag or "", track) else '"never older"'
        note += f"; overrides {judged}: {verdict.reason}"
    trigger = trigger.model_copy(update={"image": image, "note": note})
    problem = ecr_problem(image.repository, image.tag or "", image.digest, held)
    if problem is not None:
        reason = "ECR does not hold the image asked for; nothing was deployed"
        return [reject(berth, environment, trigger, [problem], reason, service=service)]
    return deploy_image(
        berth, spec, accepted, service, image=image, trigger=trigger, other_tags=tags,
        never_older=False,
    )  # fmt: skip
