"""What ECS and ECR hold, as Berth reads it: plain values the adapters fill and decisions read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class LiveService:
    """A service as DescribeServices returns it, with the parts Berth decides on named."""

    arn: str
    task_definition_arn: str
    primary_deployment_id: str | None
    primary_rollout_state: str | None
    launch_type: str | None
    description: dict[str, Any]
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Applied:
    """What CreateService/UpdateService answered: the service and its PRIMARY deployment."""

    service_arn: str
    deployment_id: str | None


@dataclass(frozen=True)
class TaggedImage:
    """One tag of an ECR repository and the digest it names."""

    tag: str
    digest: str
    pushed_at: datetime


@dataclass(frozen=True)
class EcrImage:
    """One image as ECR holds it: its digest, every tag it carries, when it was first pushed."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime
