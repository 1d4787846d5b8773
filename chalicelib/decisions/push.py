"""Does a pushed image replace what a service runs? Its track, then "never older than what runs"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.values.live import EcrImage
from chalicelib.values.tracks import compare_versions, tag_matches, version_key


@dataclass(frozen=True)
class RunningImage:
    tag: str | None
    digest: str
    pushed_at: datetime | None


@dataclass(frozen=True)
class Verdict:
    deploy: bool
    reason: str


def ecr_problem(repository: str, tag: str, digest: str, held: EcrImage | None) -> str | None:
    """Why a push event cannot be trusted, judged by what ECR itself holds (ECR emits events on
    a best-effort basis and anyone allowed to put events can forge one)."""
    if held is None:
        return (
            f"ECR holds no image {digest} in {repository}: it was deleted, or the event did not "
            "come from ECR"
        )
    if tag not in held.tags:
        carried = ", ".join(held.tags) or "no tag"
        return f"ECR's {repository}:{tag} is not {digest[:19]} (that image carries {carried})"
    return None


def off_track(tag: str, track: str) -> str | None:
    """Why a pushed tag concerns the container not at all, when its track does not follow it."""
    return None if tag_matches(tag, track) else f"tag {tag} does not follow track {track!r}"


def judge_push(
    track: str,
    tag: str,
    digest: str,
    pushed_at: datetime,
    running: RunningImage | None,
    *,
    other_tags: tuple[str, ...] = (),
) -> Verdict:
    """Whether a pushed image should replace what a service runs. `other_tags` are the tags
    ECR already had on the same digest: a new tag on an old build is not a newer build."""
    not_followed = off_track(tag, track)
    if not_followed is not None:
        return Verdict(False, not_followed)
    if running is None:
        return Verdict(True, f"first image for the service: {tag}")
    if running.digest == digest:
        return Verdict(False, f"{tag} ({digest[:19]}) is already the running image")
    old = version_key(running.tag or "")
    for earlier in other_tags:
        version = version_key(earlier)
        if earlier == tag or version is None or old is None:
            continue
        if compare_versions(version, old) <= 0:
            return Verdict(
                False,
                f"{tag} is a new tag on build {earlier} ({digest[:19]}), not newer than the "
                f"running {running.tag}",
            )
    new = version_key(tag)
    if new is not None and old is not None:
        order = compare_versions(new, old)
        if order < 0:
            return Verdict(False, f"{tag} is older than the running {running.tag}")
        if order > 0:
            return Verdict(True, f"{tag} is newer than the running {running.tag}")
    if running.pushed_at is not None and pushed_at < running.pushed_at:
        return Verdict(False, f"{tag} was pushed before the running {running.tag}")
    return Verdict(True, f"{tag} replaces {running.tag or running.digest[:19]}")


