"""The spec bucket: read one exact version of a spec file, or the file's current version."""

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

    @aws_errors("GetObject")
    def current(self, bucket: str, key: str, limit: int) -> tuple[str | None, bytes] | None:
        """The file's current version (its id, None in an unversioned bucket, and at most `limit`
        bytes), or None when the file is gone (deleted, or its current version a delete
        marker: GetObject then answers NoSuchKey, S3 API reference)."""
        try:
            response = self.s3.get_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404"):
                return None
            raise
        version = response.get("VersionId")
        return (version if version and version != "null" else None), bytes(
            response["Body"].read(limit)
        )

    @aws_errors("ListObjectsV2")
    def keys(self, bucket: str, prefix: str, limit: int = 100) -> list[str]:
        """The keys under `prefix` (at most `limit`), as ListObjectsV2 gives them."""
        response = self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=limit)
        return [item["Key"] for item in response.get("Contents", []) if "Key" in item]
