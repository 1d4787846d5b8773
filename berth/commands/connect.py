"""Where the operator commands act: one stage of Berth in one AWS account and region, reached
through boto3's standard credential chain (a profile, a region, AWS_ENDPOINT_URL honoured, so
the same commands work against `berth sandbox up`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError

from berth.commands import OperatorError
from chalicelib.adapters import aws_errors
from chalicelib.adapters.ecr import Ecr
from chalicelib.adapters.ecs import Ecs
from chalicelib.adapters.store import Store
from chalicelib.context import Berth
from chalicelib.settings import Settings


@dataclass(frozen=True)
class Overrides:
    """Resource names given explicitly (options or BERTH_* variables) instead of derived."""

    spec_bucket: str | None = None
    deployments_table: str | None = None
    specs_table: str | None = None


def spec_bucket_name(stage: str, account: str) -> str:
    """The spec bucket's name as infra/resources.yaml gives it."""
    return f"berth-specs-{account}-{stage}"


def deployments_table_name(stage: str) -> str:
    return f"berth-deployments-{stage}"


def specs_table_name(stage: str) -> str:
    return f"berth-specs-{stage}"


def topic_arn(stage: str, account: str, region: str) -> str:
    """The notification topic's ARN as infra/resources.yaml names it."""
    return f"arn:aws:sns:{region}:{account}:berth-notifications-{stage}"


@dataclass(frozen=True)
class Caller:
    """Whose credentials these are (STS GetCallerIdentity): the account, and the ARN that a
    rollback's or a promotion's record names as who asked."""

    account: str
    arn: str


@aws_errors("GetCallerIdentity")
def caller_identity(sts: Any) -> Caller:
    answer = sts.get_caller_identity()
    return Caller(str(answer["Account"]), str(answer["Arn"]))


def caller_account(sts: Any) -> str:
    """The account the credentials belong to (STS GetCallerIdentity)."""
    return caller_identity(sts).account


@dataclass
class Connection:
    """A session on one stage, with Berth's adapters built on first use (wiring only)."""

    session: boto3.session.Session
    stage: str
    overrides: Overrides = field(default_factory=Overrides)

    @property
    def region(self) -> str:
        return str(self.session.region_name)

    def client(self, service: str) -> Any:
        config = Config(retries={"mode": "standard", "max_attempts": 5})
        return self.session.client(service, config=config)  # type: ignore[call-overload]

    @cached_property
    def caller(self) -> Caller:
        return caller_identity(self.client("sts"))

    @property
    def account(self) -> str:
        return self.caller.account

    @cached_property
    def spec_bucket(self) -> str:
        return self.overrides.spec_bucket or spec_bucket_name(self.stage, self.account)

    @cached_property
    def store(self) -> Store:
        return Store(
            self.client("dynamodb"),
            self.overrides.deployments_table or deployments_table_name(self.stage),
            self.overrides.specs_table or specs_table_name(self.stage),
        )

    @cached_property
    def ecs(self) -> Ecs:
        return Ecs(self.client("ecs"))

    @cached_property
    def ecr(self) -> Ecr:
        return Ecr(self.client("ecr"))

    @cached_property
    def s3(self) -> Any:
        return self.client("s3")

    def berth(self, topic: str | None = None) -> Berth:
        """The Lambdas' own context on this session, for a flow run on a person's behalf
        (rollback, promote): the same tables, bucket and topic as the stage's Lambdas."""
        settings = Settings(
            region=self.region,
            spec_bucket=self.spec_bucket,
            topic_arn=topic or topic_arn(self.stage, self.account, self.region),
            account=self.account,
            deployments_table=self.store.deployments,
            specs_table=self.store.specs,
        )
        return Berth.from_settings(settings, self.session)


def connect(
    stage: str, profile: str | None, region: str | None, overrides: Overrides | None = None
) -> Connection:
    """A connection to `stage` with the standard credential chain; fails in one line when no
    profile or region can be found."""
    # AWS_REGION is the SDKs' region variable ("AWS Region", AWS SDKs and Tools Reference Guide:
    # https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html), and the one
    # `berth sandbox up` prints; botocore reads only AWS_DEFAULT_REGION (botocore
    # configprovider.py, BOTOCORE_DEFAULT_SESSION_VARIABLES "region"), so it is passed on here.
    region = region or os.environ.get("AWS_REGION") or None
    try:
        session = boto3.session.Session(profile_name=profile, region_name=region)
    except BotoCoreError as exc:  # ProfileNotFound and friends
        raise OperatorError(str(exc)) from None
    if not session.region_name:
        raise OperatorError(
            "no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or use a "
            "profile that names one"
        )
    return Connection(session, stage, overrides or Overrides())
