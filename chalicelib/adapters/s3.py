"""The spec bucket: read one exact version of a spec file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from . import aws_errors, error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class SpecObjects:
    def __init__(self, client: S3Client) -> None:
        self.s3 = client

    @aws_errors("GetObject")
    def read(self, bucket: str, key: str, version_id: str | None, limit: int) -> bytes | None:
        """At most `limit` bytes of the object, or None when that version no longer exists."""
        kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            kwargs["VersionId"] = version_id
        try:
            body = self.s3.get_object(**kwargs)["Body"]
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "NoSuchVersion", "404"):
                return None
            raise
        return bytes(body.read(limit))
