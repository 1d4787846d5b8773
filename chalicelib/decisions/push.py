"""Does a pushed image replace what a service runs? Its track, then "never older than what runs"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..tracks import compare_versions, tag_matches, version_key


@dataclass(frozen=True)
class RunningImage:
    tag: str | None
    digest: str
    pushed_at: datetime | None


@dataclass(frozen=True)
class Verdict:
    deploy: bool
    reason: str


def judge_push(
    track: str, tag: str, digest: str, pushed_at: datetime, running: RunningImage | None
) -> Verdict:
    """Whether a pushed image should replace what a service runs."""
    if not tag_matches(tag, track):
        return Verdict(False, f"tag {tag} does not follow track {track!r}")
    if running is None:
        return Verdict(True, f"first image for the service: {tag}")
    if running.digest == digest:
        return Verdict(False, f"{tag} ({digest[:19]}) is already the running image")
    new, old = version_key(tag), version_key(running.tag or "")
    if new is not None and old is not None:
        order = compare_versions(new, old)
        if order < 0:
            return Verdict(False, f"{tag} is older than the running {running.tag}")
        if order > 0:
            return Verdict(True, f"{tag} is newer than the running {running.tag}")
    if running.pushed_at is not None and pushed_at < running.pushed_at:
        return Verdict(False, f"{tag} was pushed before the running {running.tag}")
    return Verdict(True, f"{tag} replaces {running.tag or running.digest[:19]}")


