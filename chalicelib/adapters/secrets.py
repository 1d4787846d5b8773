"""Secrets Manager: the value of a secret the verification hook sends as a header."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import aws_errors

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


class Secrets:
    def __init__(self, client: SecretsManagerClient) -> None:
        self.client = client

    @aws_errors("GetSecretValue")
    def value(self, arn: str) -> str:
        """The secret's current string value (`arn` as a spec names it: the secret's ARN, or
        its ARN without the random suffix, which GetSecretValue takes as SecretId)."""
        parts = arn.split(":")
        secret_id = ":".join(parts[:7]) if len(parts) > 7 else arn
        return str(self.client.get_secret_value(SecretId=secret_id).get("SecretString", ""))
