"""ECR: the tagged images of a repository."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..live import TaggedImage
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
