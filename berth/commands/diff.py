"""`berth diff`: what uploading a spec would change, per service, decided as the spec intake
decides it (`classify_change`) and shown as unified diffs of what Berth owns: the live task
definition against the rendered one (both `normalise`d) and the owned service settings."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

import click

from chalicelib.adapters.ecr import Ecr
from chalicelib.adapters.ecs import Ecs
from chalicelib.adapters.store import Store
from chalicelib.decisions.changes import ServiceChange, classify_change, covers, owned_settings
from chalicelib.flows.sidecars import sidecar_refs, tracked_sidecar_images
from chalicelib.rendering.comparison import normalise
from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.service_request import render_service_settings
from chalicelib.rendering.strategies import rollout_roles
from chalicelib.rendering.task_definition import render_task_definition
from chalicelib.spec.fence import StageFence
from chalicelib.spec.model import Spec
from chalicelib.values.records import Image
from chalicelib.values.tracks import newest_matching, tag_matches


@dataclass(frozen=True)
class Stage:
    """What a diff reads: Berth's records, ECS, ECR, and where the images would come from."""

    store: Store
    ecs: Ecs
    ecr: Ecr
    account: str
    region: str
    fence: StageFence | None = None
    """The stage's fence: the environments' rollout roles a blue/green service renders with."""


@dataclass(frozen=True)
class ServiceDiff:
    service: str
    change: ServiceChange
    image: Image | None
    task_definition: list[str]
    """Unified diff lines, live → rendered (empty when they are the same)."""
    settings: list[str]


def image_for(store: Store, ecr: Ecr, spec: Spec, name: str) -> Image | None:
    """The image an upload would deploy, chosen as the spec intake chooses it: what the service's
    head records while it still follows the track, else the newest tag in ECR that does."""
    source = spec.services[name].image
    head = store.get_head(spec.environment, name)
    if (
        head.image is not None
        and head.image.repository == source.repository
        and tag_matches(head.image.tag or "", source.track)
    ):
        return head.image
    found = newest_matching(ecr.tagged_images(source.repository), source.track)
    if found is None:
        return None
    return Image(
        repository=source.repository, tag=found.tag, digest=found.digest, pushed_at=found.pushed_at
    )


def owned_view(live: Any, wanted: Any) -> Any:
    """The part of a live value shaped like `wanted` (ECS adds fields Berth never sets); lists,
    which ECS treats as sets, sorted so that order never shows as a change."""
    if isinstance(wanted, dict):
        if not isinstance(live, dict):
            return live
        return {k: owned_view(live[k], wanted[k]) for k in wanted if k in live}
    if isinstance(wanted, list):
        if not isinstance(live, list):
            return live
        shape = wanted[0] if wanted else None
        return sorted((owned_view(item, shape) for item in live), key=_sort_key)
    return live


def _sort_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _sorted_lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((_sorted_lists(v) for v in value), key=_sort_key)
    return value


def unified(live: Any, rendered: Any, live_name: str, rendered_name: str) -> list[str]:
    """A unified diff of two JSON values (empty when equal); None is shown as nothing at all."""

    def text(value: Any) -> list[str]:
        if value is None:
            return []
        return json.dumps(value, indent=2, sort_keys=True).splitlines()

    return list(
        difflib.unified_diff(
            text(live), text(rendered), live_name, rendered_name, n=3, lineterm=""
        )
    )


def diff_service(stage: Stage, spec: Spec, name: str) -> ServiceDiff:
    """What uploading `spec` would do to one service, and the difference it would make."""
    store, ecs = stage.store, stage.ecs
    source = spec.services[name].image
    image = image_for(store, stage.ecr, spec, name)
    if image is None:
        reason = (
            f"no image in ECR repository {source.repository!r} follows track {source.track!r}: "
            "Berth would reject the spec; push one first"
        )
        return ServiceDiff(name, ServiceChange("refuse", reason), None, [], [])
    previous = store.accepted_spec(spec.environment)
    before = Spec.model_validate(previous.document) if previous is not None else None
    count_changed = (
        before is None
        or name not in before.services
        or before.services[name].desired_count != spec.services[name].desired_count
    )
    # Tracked sidecars as the spec intake pins them: what the head records, else ECR's newest.
    sidecars, missing = tracked_sidecar_images(
        stage.ecr, spec, name, store.get_head(spec.environment, name)
    )
    if missing:
        reason = "; ".join(missing) + ": Berth would reject the spec"
        return ServiceDiff(name, ServiceChange("refuse", reason), image, [], [])
    rendered = render_task_definition(
        spec, name, ImageRef(image.repository, image.digest, image.tag), stage.account,
        stage.region, sidecars=sidecar_refs(sidecars),
    )  # fmt: skip
    settings = owned_settings(
        render_service_settings(
            spec, name, rollout_roles(stage.fence, spec.environment, stage.account, stage.region)
        ),
        desired_count_changed=count_changed,
    )
    live = ecs.service(spec.cluster, name)
    live_task = (
        ecs.task_definition(live.task_definition_arn)
        if live is not None and live.task_definition_arn
        else None
    )
    change = classify_change(
        environment=spec.environment,
        rendered=rendered,
        settings=settings,
        launch_type=spec.launch_type_of(name),
        live=live,
        # The services the stage lets this environment take over (the environments file's
        # `adopt`), as the upload itself is judged (flows.runs.shared.adoptable).
        adoptable=stage.fence.adoptable.get(spec.environment, frozenset())
        if stage.fence is not None
        else frozenset(),
        live_task_definition=live_task,
    )
    where = f"{spec.cluster}/{name}"
    task_lines = unified(
        normalise(live_task) if live_task is not None else None,
        normalise(rendered),
        f"live {live.task_definition_arn if live else where + ' (none)'}",
        f"rendered {spec.environment}-{name} with {image.label}",
    )
    settings_lines: list[str] = []
    if live is None or not covers(live.description, settings):
        settings_lines = unified(
            owned_view(live.description, settings) if live is not None else None,
            _sorted_lists(settings),
            f"live {where} settings",
            "spec settings",
        )
    return ServiceDiff(name, change, image, task_lines, settings_lines)


def diff_spec(stage: Stage, spec: Spec) -> list[ServiceDiff]:
    return [diff_service(stage, spec, name) for name in spec.deployment_order()]


# ---- what people read ---------------------------------------------------------------------------

HEADLINE = {
    "none": "no change",
    "settings": "service settings change (no new task definition)",
    "revision": "new task definition revision",
    "create": "service would be created",
    "refuse": "Berth would refuse this",
}


def coloured(line: str) -> str:
    """A diff line in diff's colours: headers bold, hunks cyan, removals red, additions green."""
    if line.startswith(("---", "+++")):
        return click.style(line, bold=True)
    if line.startswith("@@"):
        return click.style(line, fg="cyan")
    if line.startswith("-"):
        return click.style(line, fg="red")
    if line.startswith("+"):
        return click.style(line, fg="green")
    return line


def diff_lines(diffs: list[ServiceDiff]) -> list[str]:
    """The report: each changing service with its diffs, then those that would not change."""
    lines: list[str] = []
    for d in diffs:
        if d.change.kind == "none":
            continue
        image = f" ({d.image.label}, {d.image.digest})" if d.image is not None else ""
        lines.append(click.style(f"{d.service}: {HEADLINE[d.change.kind]}{image}", bold=True))
        lines.append(f"  {d.change.reason}")
        lines += [coloured(line) for line in [*d.task_definition, *d.settings]]
    unchanged = [d.service for d in diffs if d.change.kind == "none"]
    if unchanged:
        lines.append(f"no change: {', '.join(unchanged)}")
    return lines


def changes_anything(diffs: list[ServiceDiff]) -> bool:
    return any(d.change.kind != "none" for d in diffs)
