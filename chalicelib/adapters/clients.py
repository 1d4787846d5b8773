"""boto3 clients: one retry policy and one endpoint for every AWS service Berth calls.

Clients use botocore's standard retry mode (throttling and 5xx are retried with backoff) and
honour an endpoint URL, which is how the sandbox points the very same code at its moto server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import DataNotFoundError
from botocore.loaders import Loader, create_loader, instance_cache

from chalicelib.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_efs import EFSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient


Session = boto3.session.Session

SERVICES = ("dynamodb", "ec2", "ecr", "ecs", "efs", "elbv2", "events", "logs", "s3",
            "secretsmanager", "sns", "ssm")  # fmt: skip
"""Every AWS service Berth makes a client of (the properties of `Clients`)."""


class BerthServicesLoader(Loader):
    """botocore's data loader, told which services exist instead of finding out.

    Before loading a model, botocore's `Loader.load_service_model` checks the service against
    `list_available_services`, which lists every directory of botocore/data (400-odd services)
    and looks into each, once per kind of model (service-2, endpoint-rule-set-1, paginators-1):
    about 20 ms of a cold Lambda's first client (boto/botocore#3687, "Remove
    list_available_services from client creation happy path", open). Here the list holds only
    Berth's services that have such a model, each found in its own directory on the same search
    path; everything else is botocore's own code."""

    @instance_cache
    def list_available_services(self, type_name: str) -> list[str]:
        available = []
        for service in SERVICES:
            try:
                self.list_api_versions(service, type_name)
            except DataNotFoundError:
                continue
            available.append(service)
        return available


def berth_session() -> boto3.session.Session:
    """A boto3 session whose botocore session loads models with `BerthServicesLoader`, on the
    search path botocore's own loader gets (botocore.loaders.create_loader of the session's
    `data_path`, i.e. AWS_DATA_PATH, then botocore's defaults)."""
    core = botocore.session.get_session()
    stock = create_loader(core.get_config_variable("data_path"))
    loader = BerthServicesLoader(
        extra_search_paths=list(stock.search_paths), include_default_search_paths=False
    )
    core.register_component("data_loader", loader)
    return boto3.session.Session(botocore_session=core)


@dataclass
class Clients:
    """Lazily built boto3 clients sharing one retry policy and endpoint."""

    settings: Settings
    session: boto3.session.Session = field(default_factory=berth_session)

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
    def logs(self) -> CloudWatchLogsClient:
        return self._client("logs")  # type: ignore[no-any-return]

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self._client("dynamodb")  # type: ignore[no-any-return]

    @cached_property
    def ec2(self) -> EC2Client:
        return self._client("ec2")  # type: ignore[no-any-return]

    @cached_property
    def efs(self) -> EFSClient:
        return self._client("efs")  # type: ignore[no-any-return]

    @cached_property
    def elbv2(self) -> ElasticLoadBalancingv2Client:
        return self._client("elbv2")  # type: ignore[no-any-return]

    @cached_property
    def secretsmanager(self) -> SecretsManagerClient:
        return self._client("secretsmanager")  # type: ignore[no-any-return]

    @cached_property
    def events(self) -> EventBridgeClient:
        return self._client("events")  # type: ignore[no-any-return]

    @cached_property
    def ssm(self) -> SSMClient:
        return self._client("ssm")  # type: ignore[no-any-return]
