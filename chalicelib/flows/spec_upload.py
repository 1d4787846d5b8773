"""A spec file version landed in the spec bucket: read it, validate it, plan it, deploy what
changed. Nothing reaches ECS until every service has an image and a rendered task definition,
so a bad spec or a missing image deploys nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from chalicelib.context import Berth
from chalicelib.decisions.changes import classify_change, owned_settings
from chalicelib.decisions.preflight import missing_problems, references
from chalicelib.decisions.retire import retirement
from chalicelib.errors import AwsCallFailed, SpecError
from chalicelib.rendering.schema_init import needs_schema_init
from chalicelib.rendering.service_request import render_service_settings
from chalicelib.rendering.strategies import rollout_roles
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.located import path_text
from chalicelib.spec.model import Spec
from chalicelib.spec.parse import MAX_FILE_READ, parse_spec
from chalicelib.values.events import SpecObject
from chalicelib.values.notifications.alerts import (
    removed_service_notification,
    retired_notification,
    spec_file_deleted_notification,
)
from chalicelib.values.outcomes import Outcome, ignored, retired, warned
from chalicelib.values.records import AcceptedSpec, Head, Image, SpecVersion, Trigger
from chalicelib.values.tracks import newest_matching, tag_matches

from .runs.shared import adoptable, image_ref
from .runs.steps import Step, reject, run_steps
from .sidecars import sidecar_refs, tracked_sidecar_images

SPEC_KEY = re.compile(r"^specs/(?P<env>[a-z][a-z0-9-]{0,30})/[^/]+\.(ya?ml|json)$")


class PlanRefused(Exception):
    """The change cannot be planned; nothing was deployed."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


def on_spec_uploaded(berth: Berth, obj: SpecObject) -> list[Outcome]:
    """A spec file version was written (validate it, plan it, deploy what changed) or deleted."""
    if obj.bucket != berth.settings.spec_bucket:
        return [ignored(f"bucket {obj.bucket} is not the spec bucket {berth.settings.spec_bucket}")]
    match = SPEC_KEY.match(obj.key)
    if match is None:
        return [
            ignored(f"{obj.key} is not a spec key (specs/<environment>/<name>.yaml|.yml|.json)")
        ]
    environment = match.group("env")
    if obj.deletion is not None:
        return _on_spec_deleted(berth, environment, obj)
    source = SpecVersion(bucket=obj.bucket, key=obj.key, version_id=obj.version_id)
    trigger = Trigger(kind="spec", event_id=obj.event_id, spec=source, requested_by=obj.requester)
    try:
        raw = berth.spec_objects.read(obj.bucket, obj.key, obj.version_id, MAX_FILE_READ)
    except AwsCallFailed as failure:
        return [reject(berth, environment, trigger, [str(failure)], "the spec could not be read")]
    if raw is None:
        where = f"s3://{obj.bucket}/{obj.key} version {obj.version_id}"
        return [ignored(f"{where} no longer exists", environment)]
    return _apply(berth, environment, obj, trigger, raw)


def _on_spec_deleted(berth: Berth, environment: str, obj: SpecObject) -> list[Outcome]:
    """Something of the environment's spec file was deleted. Whatever it was, the file's current
    version is what S3 now says the spec is: deleting the version Berth enforces rolls back to
    the one before it; deleting the file leaves everything running as last deployed, said so.
    Deleting an older version, or another file, changes nothing."""
    previous = berth.store.accepted_spec(environment)
    deleted = f"s3://{obj.bucket}/{obj.key}"
    if previous is None or previous.source.key != obj.key:
        return [ignored(f"{deleted} is not {environment}'s accepted spec file", environment)]
    try:
        current = berth.spec_objects.current(obj.bucket, obj.key, MAX_FILE_READ)
    except AwsCallFailed as failure:
        source = SpecVersion(bucket=obj.bucket, key=obj.key, version_id=None)
        trigger = Trigger(
            kind="spec", event_id=obj.event_id, spec=source, requested_by=obj.requester
        )
        return [reject(berth, environment, trigger, [str(failure)], "the spec could not be read")]
    if current is None:
        return _on_spec_file_gone(berth, environment, previous, obj)
    version_id, raw = current
    if version_id == previous.source.version_id:
        return [ignored(f"{deleted}: the accepted version is still the current one", environment)]
    source = SpecVersion(bucket=obj.bucket, key=obj.key, version_id=version_id)
    gone = obj.version_id if obj.deletion == "Permanently Deleted" else None
    note = (
        f"version {gone} of {obj.key} was deleted; version {version_id} is the spec again"
        if gone
        else f"{obj.key} changed by a deletion; version {version_id} is the spec again"
    )
    trigger = Trigger(
        kind="spec", event_id=obj.event_id, spec=source, requested_by=obj.requester, note=note
    )
    # The deletion is the key's newest event: its sequencer orders it after the deleted version.
    restored = obj.model_copy(update={"version_id": version_id})
    return _apply(berth, environment, restored, trigger, raw)


def _on_spec_file_gone(
    berth: Berth, environment: str, previous: AcceptedSpec, obj: SpecObject
) -> list[Outcome]:
    """The accepted file is gone. Another spec file in the folder is a rename (an upload and a
    delete, in either order): it becomes the spec now, even if its upload was refused while the
    old file still stood. Without one, everything keeps running as last deployed, said so."""
    folder = f"specs/{environment}/"
    others = [
        key
        for key in berth.spec_objects.keys(obj.bucket, folder)
        if key != obj.key and SPEC_KEY.match(key)
    ]
    if len(others) == 1:
        current = berth.spec_objects.current(obj.bucket, others[0], MAX_FILE_READ)
        if current is not None:
            version_id, raw = current
            source = SpecVersion(bucket=obj.bucket, key=others[0], version_id=version_id)
            note = f"{obj.key} was deleted; {others[0]} is {environment}'s spec file now"
            trigger = Trigger(
                kind="spec", event_id=obj.event_id, spec=source, requested_by=obj.requester,
                note=note,
            )  # fmt: skip
            # Sequencers order events of one key only: the renamed file has none to compare yet.
            renamed = obj.model_copy(
                update={"key": others[0], "version_id": version_id, "sequencer": ""}
            )
            return _apply(berth, environment, renamed, trigger, raw)
    berth.notifier.publish(
        spec_file_deleted_notification(environment, previous, obj.requester, berth.clock())
    )
    reason = f"s3://{obj.bucket}/{obj.key} was deleted; {environment} keeps its last accepted spec"
    if others:
        reason += f" ({len(others)} other spec files in {folder}: upload the one to use again)"
    return [warned(environment, None, reason)]


def _apply(
    berth: Berth, environment: str, obj: SpecObject, trigger: Trigger, raw: bytes
) -> list[Outcome]:
    """Validate `raw` (the file's version `obj.version_id`), plan it against what runs, accept
    it as the environment's spec and deploy what changed."""
    source = SpecVersion(bucket=obj.bucket, key=obj.key, version_id=obj.version_id)
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
    # The stage's own registry, never the event's account or region (the Records[] format has
    # no account): every image ECS is given is `<account>.dkr.ecr.<region>.amazonaws.com/...`.
    account, region = berth.settings.account, berth.settings.region
    if account is None:
        error = "Berth does not know its own account: set BERTH_ACCOUNT (the stack sets it)"
        return [reject(berth, environment, trigger, [error], "the stage's account is unknown")]
    try:
        steps, retirements = plan(berth, spec, account, region, previous)
    except PlanRefused as exc:
        return [reject(berth, environment, trigger, exc.errors, "the spec could not be planned")]
    except AwsCallFailed as failure:
        reason = "an AWS call failed while planning"
        return [reject(berth, environment, trigger, [str(failure)], reason)]
    accepted = AcceptedSpec(
        environment=environment,
        account=account,
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
    outcomes += _retire(berth, spec, retirements, source, trigger)
    if not steps:
        unchanged = "nothing changed: every service already runs what the spec renders"
        return [*outcomes, ignored(unchanged, environment)]
    return outcomes + run_steps(berth, spec, accepted, steps, trigger)


def _another_spec_file(berth: Berth, previous: AcceptedSpec | None, obj: SpecObject) -> str | None:
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
    removed = (
        sorted(set(before) - set(spec.services) - set(spec.retire))
        if isinstance(before, dict)
        else []
    )
    outcomes = []
    for name in removed:
        note = removed_service_notification(
            spec.environment, name, spec.cluster, source, berth.clock()
        )
        berth.notifier.publish(note)
        reason = f"{name} left the spec; it keeps running on {spec.cluster}, untracked"
        outcomes.append(warned(spec.environment, name, reason))
    return outcomes


@dataclass(frozen=True)
class Retire:
    """A retired service that still runs: delete it, or announce that it is left running."""

    service: str
    kind: Literal["delete", "keep"]


def plan(
    berth: Berth, spec: Spec, account: str, region: str, previous: AcceptedSpec | None
) -> tuple[list[Step], list[Retire]]:
    """The services of `spec` whose rendered state differs from what ECS runs, in order, and
    the retired services that still run."""
    before = Spec.model_validate(previous.document) if previous is not None else None
    retirements, errors = _plan_retirements(berth, spec, before)
    errors += _cluster_move(berth, spec, before)
    errors += _twins(berth, spec, before)
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
        head = berth.store.get_head(spec.environment, name)
        image = _image_for(berth, spec, name, head)
        sidecars, missing = tracked_sidecar_images(berth.ecr, spec, name, head)
        if image is None:
            errors.append(
                f"services.{name}.image: no image in ECR repository {source.repository!r} has a "
                f"tag that follows track {source.track!r}; push one first"
            )
        errors += missing
        if image is None or missing:
            continue
        live = berth.ecs.service(spec.cluster, name)
        rendered = render_task_definition(
            spec, name, image_ref(image), account, region, sidecars=sidecar_refs(sidecars)
        )
        change = classify_change(
            environment=spec.environment,
            rendered=rendered,
            settings=owned_settings(
                render_service_settings(spec, name, roles), desired_count_changed=count_changed
            ),
            launch_type=spec.launch_type_of(name),
            live=live,
            adoptable=adoptable(berth, spec.environment),
            stage=berth.settings.stage,
            live_task_definition=berth.ecs.task_definition(live.task_definition_arn)
            if live is not None and live.task_definition_arn
            else None,
        )
        if change.kind == "refuse":
            errors.append(f"services.{name}.{change.field}: {change.reason}")
        elif change.deploys:
            # A first deployment with schemaInit runs WSO2's dbscripts first (issue 16).
            schema = needs_schema_init(spec.services[name], live is not None)
            steps.append(Step(name, image, wanted if count_changed else None, sidecars, schema))
    if steps:
        # Pre-flight: everything the changing services reference must exist, or nothing starts.
        wanted_resources = references(spec, [step.service for step in steps])
        errors += missing_problems(wanted_resources, berth.resources.missing(wanted_resources))
    if errors:
        raise PlanRefused(errors)
    return steps, retirements


def _plan_retirements(
    berth: Berth, spec: Spec, before: Spec | None
) -> tuple[list[Retire], list[str]]:
    retirements: list[Retire] = []
    errors: list[str] = []
    for name, how in sorted(spec.retire.items()):
        action = retirement(
            environment=spec.environment,
            name=name,
            how=how,
            live=berth.ecs.service(spec.cluster, name),
            retired_before=before.retire.get(name) if before is not None else None,
            adoptable=adoptable(berth, spec.environment),
            stage=berth.settings.stage,
        )
        if action.kind == "refuse":
            errors.append(f"retire.{name}: {action.reason}")
        elif action.kind in ("delete", "keep"):
            retirements.append(Retire(name, "delete" if action.kind == "delete" else "keep"))
    return retirements, errors


def _retire(
    berth: Berth, spec: Spec, retirements: list[Retire], source: SpecVersion, trigger: Trigger
) -> list[Outcome]:
    """Carry out the spec's retirements, before any service deploys (a renamed service then
    never serves beside its old self), and announce each."""
    outcomes = []
    for retire in retirements:
        if retire.kind == "delete":
            try:
                berth.ecs.scale_to_zero(spec.cluster, retire.service)
                berth.ecs.delete_service(spec.cluster, retire.service)
            except AwsCallFailed as failure:
                reason = f"{retire.service} could not be retired: {failure}"
                outcomes.append(reject(berth, spec.environment, trigger, [reason], reason))
                continue
        berth.notifier.publish(
            retired_notification(
                spec.environment, retire.service, spec.cluster, retire.kind, spec=source,
                requester=trigger.requested_by, now=berth.clock(),
            )
        )  # fmt: skip
        how = "scaled to 0 and deleted" if retire.kind == "delete" else "left running, unmanaged"
        outcomes.append(retired(spec.environment, retire.service, how))
    return outcomes


def _cluster_move(berth: Berth, spec: Spec, before: Spec | None) -> list[str]:
    """An environment moved to another cluster while its services still run on the old one
    would get a second copy of each: a service belongs to the cluster it was created in (ECS API
    reference, CreateService `cluster`; UpdateService cannot change it). Refused until they
    are gone from the old cluster."""
    if before is None or before.cluster == spec.cluster:
        return []
    running = [name for name in sorted(before.services) if berth.ecs.service(before.cluster, name)]
    if not running:
        return []
    return [
        f"cluster: {', '.join(running)} of {spec.environment} still run on {before.cluster}, and "
        f"ECS cannot move a service to {spec.cluster}; keep cluster {before.cluster}, or delete "
        f"them there first (retire them with delete in a spec that keeps {before.cluster})"
    ]


def _twins(berth: Berth, spec: Spec, before: Spec | None) -> list[str]:
    """A service that takes over the target group of a service that left the spec while the old
    one still runs would serve beside it (a rename): refused until the old one is gone."""
    if before is None:
        return []
    errors = []
    # A service the same spec retires with `delete` is deleted before anything deploys.
    gone = {
        n: s
        for n, s in before.services.items()
        if n not in spec.services and spec.retire.get(n) != "delete"
    }
    for name, svc in spec.services.items():
        if name in before.services:
            continue
        for field, lb in svc.target_groups():
            for old_name, old in gone.items():
                arns = {o.target_group_arn for _, o in old.target_groups()}
                same = lb.target_group_arn in arns
                if same and berth.ecs.service(before.cluster, old_name) is not None:
                    where = path_text(("services", name, *field, "targetGroupArn"))
                    errors.append(
                        f"{where}: {old_name}, which left the spec, still serves this target "
                        f"group on {before.cluster}; retire it in the same spec (retire: "
                        f"{{{old_name}: delete}}), or keep its name"
                    )
    return errors


def _image_for(berth: Berth, spec: Spec, name: str, head: Head) -> Image | None:
    """The image a service should run: what it runs now if still on track, else the newest match."""
    source = spec.services[name].image
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
