"""Which image a container runs: a repository and the tags it tracks, or one image pinned by digest.
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from chalicelib.values.tracks import track_problem

from .base import PINNED, REPOSITORY, SpecModel


class ImageSource(SpecModel):
    """Which ECR repository feeds a service, and which of its tags it follows."""

    repository: str = Field(pattern=r"^[a-z0-9]+(?:[._/-][a-z0-9]+)*$", max_length=256)
    track: str = Field(default="*", min_length=1, max_length=128)

    @field_validator("repository", mode="before")
    @classmethod
    def _repository_not_tag(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        first, slash, _ = value.partition("/")
        # Docker's rule: a first component with a dot or a colon, or "localhost", is a registry.
        if slash and ("." in first or ":" in first or first == "localhost"):
            raise ValueError(
                f"{value!r} names a registry ({first}); give the ECR repository name only "
                "(e.g. wso2am): Berth pins images to this account's ECR registry by digest"
            )
        if ":" in value or "@" in value:
            raise ValueError(
                f"{value!r} names a tag or digest; give the repository name only and choose "
                "tags with track (e.g. {repository: wso2am, track: '4.7.*'})"
            )
        return value

    @field_validator("track")
    @classmethod
    def _track_is_usable(cls, value: str) -> str:
        problem = track_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class PinnedImage(SpecModel):
    """A sidecar's image: an ECR repository of this account, either pinned by digest (the tag,
    when given, is kept as a label for people) or tracked like the product image
    (`{repository, track}`: digest-pinned at render time, redeployed on a matching push)."""

    repository: str = Field(pattern=REPOSITORY, max_length=256)
    digest: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    tag: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
    track: str | None = Field(default=None, min_length=1, max_length=128)

    @model_validator(mode="before")
    @classmethod
    def _pinned_form(cls, value: Any) -> Any:
        if isinstance(value, str):
            first, slash, _ = value.partition("/")
            if slash and ("." in first or ":" in first or first == "localhost"):
                raise ValueError(
                    f"{value!r} names a registry ({first}); give the ECR repository of this "
                    "account only (mirror a public image into ECR, e.g. with a pull-through "
                    "cache rule), as REPOSITORY[:TAG]@sha256:<64 hex>"
                )
            found = PINNED.match(value)
            if found is None:
                raise ValueError(
                    f"{value!r} is not pinned by digest: write REPOSITORY[:TAG]@sha256:<64 hex> "
                    "(e.g. aws-for-fluent-bit:2.32.4@sha256:…), or follow tags with "
                    "{repository: NAME, track: '2.32.*'}"
                )
            return {k: v for k, v in found.groupdict().items() if v is not None}
        return value

    @field_validator("track")
    @classmethod
    def _track_is_usable(cls, value: str | None) -> str | None:
        problem = track_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _pinned_or_tracked(self) -> PinnedImage:
        if self.track is not None and (self.digest is not None or self.tag is not None):
            raise ValueError(
                "give either digest (and tag) to pin the image, or track to follow tags, not both"
            )
        if self.track is None and self.digest is None:
            raise ValueError(
                "give digest: 'sha256:<64 hex>' to pin the image, or track: '<glob or range>' "
                "to follow its tags (e.g. {repository: aws-for-fluent-bit, track: '2.32.*'})"
            )
        return self

    @property
    def tracked(self) -> bool:
        """Does the image follow its repository's tags (resolved and pinned by Berth)?"""
        return self.track is not None
