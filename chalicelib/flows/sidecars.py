"""Tracked sidecars: which image each of a service's tracked sidecars is to run, resolved from
what the service head says it runs or, failing that, from ECR's newest matching tag."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from chalicelib.rendering.images import ImageRef
from chalicelib.spec.model import Spec
from chalicelib.values.live import TaggedImage
from chalicelib.values.records import Head, Image
from chalicelib.values.tracks import newest_matching, tag_matches


class TaggedImages(Protocol):
    """What the resolution asks ECR (adapters.ecr.Ecr; `berth diff` passes the stage's)."""

    def tagged_images(self, repository: str) -> list[TaggedImage]: ...


def tracked_sidecar_images(
    ecr: TaggedImages, spec: Spec, name: str, head: Head
) -> tuple[dict[str, Image], list[str]]:
    """The image of each tracked sidecar of `name` (by container), and a located error for each
    whose repository has no tag on its track. What the head records is kept while it still
    follows the spec's track (no ECR call); otherwise ECR's newest matching tag is taken, as
    for the product image."""
    images: dict[str, Image] = {}
    errors: list[str] = []
    for container, sidecar in sorted(spec.services[name].containers.items()):
        source = sidecar.image
        if source.track is None:
            continue
        current = head.sidecar_images.get(container)
        if (
            current is not None
            and current.repository == source.repository
            and tag_matches(current.tag or "", source.track)
        ):
            images[container] = current
            continue
        found = newest_matching(ecr.tagged_images(source.repository), source.track)
        if found is None:
            errors.append(
                f"services.{name}.containers.{container}.image: no image in ECR repository "
                f"{source.repository!r} has a tag that follows track {source.track!r}; push "
                "one first"
            )
            continue
        images[container] = Image(
            repository=source.repository, tag=found.tag, digest=found.digest,
            pushed_at=found.pushed_at,
        )  # fmt: skip
    return images, errors


def sidecar_refs(images: Mapping[str, Image]) -> dict[str, ImageRef]:
    """The tracked sidecars' images as the renderer takes them."""
    return {c: ImageRef(i.repository, i.digest, i.tag) for c, i in images.items()}
