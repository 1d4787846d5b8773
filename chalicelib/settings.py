"""What a Berth Lambda needs to know, read once and loudly from its environment variables."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, Field, field_validator

from .fence import StageFence, environment_clusters

# The values PutRetentionPolicy accepts (CloudWatch Logs API reference, retentionInDays).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                  2192, 2557, 2922, 3288, 3653)  # fmt: skip


class Settings(BaseModel):
    """Configuration of one Berth stage; the sandbox builds the same from its own values."""

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
    log_retention_days: int = 90
    """Retention of the task log groups Berth creates."""
    task_roles: frozenset[str] = frozenset()
    """Role names the stage's policy lets Berth pass to ECS tasks (BERTH_TASK_ROLES)."""
    image_repositories: frozenset[str] = frozenset()
    """ECR repositories the stage's policy lets Berth read (BERTH_IMAGE_REPOSITORIES)."""
    environment_clusters: str = ""
    """Each environment's clusters, `dev=wso2-dev;prod=wso2-prod` (BERTH_ENVIRONMENT_CLUSTERS)."""

    @field_validator("task_roles", "image_repositories", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(v.strip() for v in value.split(",") if v.strip())
        return value

    @property
    def fence(self) -> StageFence | None:
        """The stage's fence, when its configuration declares one."""
        if not (self.task_roles or self.image_repositories or self.environment_clusters):
            return None
        clusters = environment_clusters(self.environment_clusters)
        return StageFence(self.task_roles, self.image_repositories, clusters)

    @field_validator("log_retention_days")
    @classmethod
    def _known_retention(cls, value: int) -> int:
        if value not in RETENTION_DAYS:
            raise ValueError(f"{value} is not a CloudWatch Logs retention ({RETENTION_DAYS})")
        return value

    @classmethod
    def from_environment(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
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
            "log_retention_days": "BERTH_LOG_RETENTION_DAYS",
            "task_roles": "BERTH_TASK_ROLES",
            "image_repositories": "BERTH_IMAGE_REPOSITORIES",
            "environment_clusters": "BERTH_ENVIRONMENT_CLUSTERS",
        }
        values.update({k: env[v] for k, v in optional.items() if env.get(v)})
        return cls.model_validate(values)
