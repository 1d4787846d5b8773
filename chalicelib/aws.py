"""Configuration and boto3 clients: the one place Berth talks to AWS from.

Settings come from environment variables, parsed once and loudly. Clients use botocore's
standard retry mode (throttling and 5xx are retried with backoff) and honour an endpoint URL,
which is how the sandbox points the very same code at its moto server on 127.0.0.1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, Field

from .errors import AwsCallFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient


class Settings(BaseModel):
    """What a Berth Lambda needs to know, from its environment."""

    region: str
    spec_bucket: str
    topic_arn: str
    deployments_table: str = "berth-deployments"
    specs_table: str = "berth-specs"
    idempotency_table: str = "berth-idempotency"
    rollout_timeout_minutes: int = Field(default=30, ge=1)
    notify_ignored_pushes: bool = False
    endpoint_url: str | None = None
    max_attempts: int = Field(default=5, ge=1)

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        values: dict[str, Any] = {
            "region": region,
            "spec_bucket": env.get("BERTH_SPEC_BUCKET"),
            "topic_arn": env.get("BERTH_TOPIC_ARN"),
            "endpoint_url": env.get("BERTH_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL"),
        }
        optional = {
            "deployments_table": "BERTH_DEPLOYMENTS_TABLE",
            "specs_table": "BERTH_SPECS_TABLE",
            "idempotency_table": "BERTH_IDEMPOTENCY_TABLE",
            "rollout_timeout_minutes": "BERTH_ROLLOUT_TIMEOUT_MINUTES",
            "notify_ignored_pushes": "BERTH_NOTIFY_IGNORED_PUSHES",
            "max_attempts": "BERTH_AWS_MAX_ATTEMPTS",
        }
        values.update({k: env[v] for k, v in optional.items() if env.get(v)})
        return cls.model_validate(values)


@dataclass
class Clients:
    """Lazily built boto3 clients sharing one retry policy and endpoint."""

    settings: Settings
    session: boto3.session.Session = field(default_factory=boto3.session.Session)

    def _client(self, service: str) -> Any:
        config = Config(
            region_name=self.settings.region,
            retries={"mode": "standard", "max_attempts": self.settings.max_attempts},
            connect_timeout=5,
            read_timeout=20,
        )
        return self.session.client(  # type: ignore[call-overload]
            service, endpoint_url=self.settings.endpoint_url, config=config
        )

    @cached_property
    def s3(self) -> S3Client:
        return self._client("s3")  # type: ignore[no-any-return]

    @cached_property
    def ecs(self) -> ECSClient:
        return self._client("ecs")  # type: ignore[no-any-return]

    @cached_property
    def ecr(self) -> ECRClient:
        return self._client("ecr")  # type: ignore[no-any-return]

    @cached_property
    def sns(self) -> SNSClient:
        return self._client("sns")  # type: ignore[no-any-return]

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self._client("dynamodb")  # type: ignore[no-any-return]


def error_code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "ClientError"))
    return type(exc).__name__


def as_aws_failure(operation: str, exc: Exception) -> AwsCallFailed:
    """An AWS exception as the error Berth records and reports (operation, code, message)."""
    if isinstance(exc, ClientError):
        message = str(exc.response.get("Error", {}).get("Message", exc))
        return AwsCallFailed(operation, error_code(exc), message)
    if isinstance(exc, BotoCoreError):
        return AwsCallFailed(operation, type(exc).__name__, str(exc))
    return AwsCallFailed(operation, type(exc).__name__, str(exc))
