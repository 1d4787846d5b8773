"""A spec file version landed in the spec bucket: read it, validate it, plan it, deploy what
changed. Nothing reaches ECS until every service has an image and a rendered task definition,
so a bad spec or a missing image deploys nothing."""

from __future__ import annotations

import re

from ..context import Berth
from ..decisions.changes import classify_change, owned_settings
from ..decisions.preflight import missing_problems, references
from ..errors import AwsCallFailed, SpecError
from ..events import SpecObject
from ..notifications import removed_service_notification
from ..outcomes import Outcome, ignored, warned
from ..records import AcceptedSpec, Image, SpecVersion, Trigger
from ..render import render_service_settings, render_task_definition
from ..spec import MAX_FILE_READ, Spec, parse_spec
from ..strategies import rollout_roles
from ..tracks import newest_matching, tag_matches
from .runs import Step, adoptable, image_ref, reject, run_steps

SPEC_KEY = re.compile(r"^specs/(?P<env>[a-z][a-z0-9-]{0,30})/[^/]+\.(ya?ml|json)$")


class PlanRefused(Exception):
    """The change cannot be planned; nothing was deployed."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def on_spec_uploaded(berth: Berth, obj: SpecObject) -> list[Outcome]:
    """A spec file version was written: validate it, plan it, and deploy what changed."""
    if obj.bucket != berth.settings.spec_bucket:
        return [ignored(f"bucket {obj.bucket} is not the spec bucket {berth.settings.spec_bucket}")]
    match = SPEC_KEY.match(obj.key)
    if match is None:
        return [
            ignored(f"{obj.key} is not a spec key (specs/<environment>/<name>.yaml|.yml|.json)")
        ]
    environment = match.group("env")
    source = SpecVersion(bucket=obj.bucket, key=obj.key, version_id=obj.version_id)
    trigger = Trigger(kind="spec", event_id=obj.event_id, spec=source, requested_by=obj.requester)
    try:
        raw = berth.spec_objects.read(obj.bucket, obj.key, obj.version_id, MAX_FILE_READ)
    except AwsCallFailed as failure:
        return [reject(berth, environment, trigger, [str(failure)], "the spec could not be read")]
    if raw is None:
        where = f"s3://{obj.bucket}/{obj.key} version {obj.version_id}"
        return [ignored(f"{where} no longer exists", environment)]
    try:
        spec = parse_spec(raw, f"s3://{obj.bucket}/{obj.key}", berth.settings.fence)
    except SpecError as exc:
        errors = [str(p) for p in exc.problems]
        return [reject(berth, environment, trigger, errors, "the spec did not validate")]
    if spec.environment != environment:
        error = (
            f"s3://{obj.bucket}/{obj.key}: environment: {spec.environment!r} does not match the "
            f"folder it was uploaded to (specs/{environment}/)"
        )
        return [reject(berth, environment, trigger, [error], "the spec is in the wrong folder")]
    previous = berth.store.accepted_spec(environment)
    other_file = _another_spec_file(berth, previous, obj)
    if other_file is not None:
        error = (
            f"s3://{obj.bucket}/{obj.key}: specs/{environment}/ already holds {other_file}, this "
            f"environment's spec: one spec file per environment. Edit {other_file}, or delete "
            "it before uploading another (a rename is an upload and a delete)"
        )
        reason = "the environment already has a spec file"
        return [reject(berth, environment, trigger, [error], reason)]
    region = obj.region or berth.settings.region
    try:
        steps = plan(berth, spec, obj.account, region, previous)
    except PlanRefused as exc:
        return [reject(berth, environment, trigger, exc.errors, "the spec could not be planned")]
    except AwsCallFailed as failure:
        reason = "an AWS call failed while planning"
        return [reject(berth, environment, trigger, [str(failure)], reason)]
    accepted = AcceptedSpec(
        environment=environment,
        account=obj.account,
        region=region,
        source=source,
        sequencer=obj.sequencer or "",
        accepted_at=berth.clock(),
        document=spec.model_dump(by_alias=True, exclude_defaults=True),
    )
    if not berth.store.accept_spec(accepted):
        return [
            ignored("a later upload of this environment's spec is already accepted", environment)
        ]
    outcomes = _warn_removed(berth, previous, spec, source)
    if not steps:
        unchanged = "nothing changed: every service already runs what the spec renders"
        return [*outcomes, ignored(unchanged, environment)]
    return outcomes + run_steps(berth, spec, accepted, steps, trigger)


def _another_spec_file(
    berth: Berth, previous: AcceptedSpec | None, obj: SpecObject
) -> str | None:
    """The environment's accepted spec file when it is another file that still exists: two
    files would each replace the other's services. A renamed file (the old one deleted) is not
    in the way."""
    if previous is None or previous.source.key == obj.key:
        return None
    if berth.spec_objects.read(previous.source.bucket, previous.source.key, None, 1) is None:
        return None
    return previous.source.key.rsplit("/", 1)[-1]


def _warn_removed(
    berth: Berth, previous: AcceptedSpec | None, spec: Spec, source: SpecVersion
) -> list[Outcome]:
    """Services the previous spec had and this one does not keep running, untracked: say so,
    never abandon them silently."""
    before = previous.document.get("services") if previous is not None else None
    removed = sorted(set(before) - set(spec.services)) if isinstance(before, dict) else []
    outcomes = []
    for name in removed:
        note = removed_service_notification(
            spec.environment, name, spec.cluster, source, berth.clock()
        )
        berth.notifier.publish(note)
        reason = f"{name} left the spec; it keeps running on {spec.cluster}, untracked"
        outcomes.append(warned(spec.environment, name, reason))
    return outcomes


def plan(
    berth: Berth, spec: Spec, account: str, region: str, previous: AcceptedSpec | None
) -> list[Step]:
    """The services of `spec` whose rendered state differs from what ECS runs, in order."""
    before = Spec.model_validate(previous.document) if previous is not None else None
    errors = _twins(berth, spec, before)
    roles = rollout_roles(berth.settings.fence, spec.environment, account, region)
    steps: list[Step] = []
    for name in spec.deployment_order():
        source = spec.services[name].image
        wanted = spec.services[name].desired_count
        count_changed = (
            before is None
            or name not in before.services
            or before.services[name].desired_count != wanted
        )
        image = _image_for(berth, spec, name)
        if image is None:
            errors.append(
                f"services.{name}.image: no image in ECR repository {source.repository!r} has a "
                f"tag that follows track {source.track!r}; push one first"
            )
            continue
        live = berth.ecs.service(spec.cluster, name)
        change = classify_change(
            environment=spec.environment,
            rendered=render_task_definition(spec, name, image_ref(image), account, region),
            settings=owned_settings(
                render_service_settings(spec, name, roles), desired_count_changed=count_changed
            ),
            launch_type=spec.launch_type_of(name),
            live=live,
            adoptable=adoptable(berth, spec.environment),
            live_task_definition=berth.ecs.task_definition(live.task_definition_arn)
            if live is not None and live.task_definition_arn
            else None,
        )
        if change.kind == "refuse":
            errors.append(f"services.{name}.{change.field}: {change.reason}")
        elif change.deploys:
            steps.append(Step(name, image, wanted if count_changed else None))
    if steps:
        # Pre-flight: everything the changing services reference must exist, or nothing starts.
        wanted_resources = references(spec, [step.service for step in steps])
        errors += missing_problems(wanted_resources, berth.resources.missing(wanted_resources))
    if errors:
        raise PlanRefused(errors)
    return steps


def _twins(berth: Berth, spec: Spec, before: Spec | None) -> list[str]:
    """A service that takes over the target group of a service that left the spec while the old
    one still runs would serve beside it (a rename): refused until the old one is gone."""
    if before is None:
        return []
    errors = []
    for name, svc in spec.services.items():
        if svc.load_balancer is None or name in before.services:
            continue
        for old_name, old in before.services.items():
            same = old.load_balancer is not None and (
                old.load_balancer.target_group_arn == svc.load_balancer.target_group_arn
            )
            left = old_name not in spec.services
            if same and left and berth.ecs.service(before.cluster, old_name) is not None:
                errors.append(
                    f"services.{name}.loadBalancer.targetGroupArn: {old_name}, which left the "
                    f"spec, still serves this target group on {before.cluster}; delete the ECS "
                    f"service {old_name} first, or keep its name"
                )
    return errors


def _image_for(berth: Berth, spec: Spec, name: str) -> Image | None:
    """The image a service should run: what it runs now if still on track, else the newest match."""
    source = spec.services[name].image
    head = berth.store.get_head(spec.environment, name)
    if (
        head.image is not None
        and head.image.repository == source.repository
        and tag_matches(head.image.tag or "", source.track)
    ):
        return head.image
    found = newest_matching(berth.ecr.tagged_images(source.repository), source.track)
    if found is None:
        return None
    return Image(
        repository=source.repository, tag=found.tag, digest=found.digest, pushed_at=found.pushed_at
    )
