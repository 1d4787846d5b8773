"""ECR: the tagged images of a repository."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.values.live import EcrImage, TaggedImage

from . import aws_errors, error_code

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient


class Ecr:
    def __init__(self, client: ECRClient) -> None:
        self.ecr = client

    @aws_errors("DescribeImages")
    def tagged_images(self, repository: str) -> list[TaggedImage]:
        """Every tag of `repository` with its digest; none when the repository does not exist."""
        found: list[TaggedImage] = []
        pages = self.ecr.get_paginator("describe_images").paginate(
            repositoryName=repository, filter={"tagStatus": "TAGGED"}
        )
        try:
            for page in pages:
                for image in page.get("imageDetails", []):
                    found += [
                        TaggedImage(tag, image["imageDigest"], image["imagePushedAt"])
                        for tag in image.get("imageTags", [])
                    ]
        except ClientError as exc:
            if error_code(exc) == "RepositoryNotFoundException":
                return []
            raise
        return found

    @aws_errors("DescribeImages")
    def image(self, repository: str, digest: str) -> EcrImage | None:
        """The image `digest` in `repository` as ECR holds it, or None when ECR does not."""
        try:
            found = self.ecr.describe_images(
                repositoryName=repository, imageIds=[{"imageDigest": digest}]
            ).get("imageDetails", [])
        except ClientError as exc:
            if error_code(exc) in ("ImageNotFoundException", "RepositoryNotFoundException"):
                return None
            raise
        if not found:
            return None
        detail = found[0]
        return EcrImage(digest, tuple(detail.get("imageTags", [])), detail["imagePushedAt"])
