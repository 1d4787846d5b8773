"""What a Berth Lambda needs to know, read once and loudly from its environment variables."""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field, field_validator

from chalicelib.spec.fence import (
    ENVIRONMENT_VARIABLES,
    FENCE_VARIABLES,
    StageFence,
    fence_from_variables,
)

from .model import Model

# The values PutRetentionPolicy accepts (CloudWatch Logs API reference, retentionInDays).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                  2192, 2557, 2922, 3288, 3653)  # fmt: skip


class Settings(Model):
    """Configuration of one Berth stage; the sandbox builds the same from its own values."""

    region: str
    """The stage's own region, where its Lambdas run (AWS_REGION, which Lambda sets: Lambda
    developer guide, "Defined runtime environment variables"): the region of every image Berth
    deploys, from the stage's own ECR registry."""
    spec_bucket: str
    topic_arn: str
    deployments_table: str = "berth-deployments"
    specs_table: str = "berth-specs"
    idempotency_table: str = "berth-idempotency"
    rollout_timeout_minutes: int = Field(default=30, ge=1)
    notify_ignored_pushes: bool = False
    """Announce each push that deploys nothing ([IGNORED], BERTH_NOTIFY_IGNORED_PUSHES=true):
    older than what runs, off its track, failed there before. Off by default: a tag nobody's
    track follows concerns no one, and a log line says why each push was ignored. A push
    delivered again after it concluded is never told again."""
    notify_started: bool = False
    """Announce each deployment's start ('deploying', [STARTED]) besides its outcome
    (BERTH_NOTIFY_STARTED=true: one sns:Publish more per deployment). Off by default, as in the
    field: Keel sends its "preparing to update" (NotificationPreDeploymentUpdate) at debug level,
    below its default notification level info (keel-hq/keel provider/kubernetes/kubernetes.go,
    chart values notificationLevel), and Argo CD subscribes to no trigger by default,
    on-sync-running being one of its catalog's opt-ins (argo-cd docs, notifications catalog).
    A wide run's start summary and an approval's [WARNING] are sent either way."""
    endpoint_url: str | None = None
    max_attempts: int = Field(default=5, ge=1)
    log_retention_days: int = 90
    """Retention of the task log groups Berth creates."""
    wide_run: int = Field(default=10, ge=1, le=50)
    """The most services one invocation deploys: a push or spec changing more services of an
    environment fans them out in batches of this size, and tells their outcomes in one run
    summary instead of one notification each (BERTH_WIDE_RUN)."""
    account: str | None = None
    """The stage's own account (BERTH_ACCOUNT, which the stack sets to AWS::AccountId; else the
    invoked function's ARN, `handlers`): the account of every image Berth deploys. Never an
    event's: S3's Records[] notification format has no account field."""
    fence_variables: dict[str, str] = {}
    """The stage's fence in its variables' spelling (chalicelib.spec.fence.FENCE_VARIABLES):
    BERTH_TASK_ROLES... from its configuration, BERTH_ENVIRONMENT_CLUSTERS... compiled from its
    environments file (an explicit variable of the process overrides either)."""

    @property
    def fence(self) -> StageFence | None:
        """The stage's fence, when its configuration declares one; secrets are checked against
        the Lambdas' own region."""
        return fence_from_variables(self.fence_variables, self.region)

    @property
    def stage(self) -> str | None:
        """The stage's name (BERTH_STAGE), which Berth's ownership tags carry."""
        fence = self.fence
        return fence.stage if fence is not None else None

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
            "account": env.get("BERTH_ACCOUNT") or None,
        }
        optional = {
            "deployments_table": "BERTH_DEPLOYMENTS_TABLE",
            "specs_table": "BERTH_SPECS_TABLE",
            "idempotency_table": "BERTH_IDEMPOTENCY_TABLE",
            "rollout_timeout_minutes": "BERTH_ROLLOUT_TIMEOUT_MINUTES",
            "notify_ignored_pushes": "BERTH_NOTIFY_IGNORED_PUSHES",
            "notify_started": "BERTH_NOTIFY_STARTED",
            "max_attempts": "BERTH_AWS_MAX_ATTEMPTS",
            "log_retention_days": "BERTH_LOG_RETENTION_DAYS",
            "wide_run": "BERTH_WIDE_RUN",
        }
        values.update({k: env[v] for k, v in optional.items() if env.get(v)})
        stage, path = env.get("BERTH_STAGE"), env.get("BERTH_ENVIRONMENTS_FILE")
        declared = _declared_environments(stage, path)
        # A variable given, even empty, overrides the file's value (a test turning a fence off)
        given = {
            k: env[k]
            for k in FENCE_VARIABLES
            if env.get(k) or (k in ENVIRONMENT_VARIABLES and k in env)
        }
        values["fence_variables"] = {**declared, **given}
        return cls.model_validate(values)


def _declared_environments(stage: str | None, path: str | None) -> dict[str, str]:
    """The fence variables the stage's environments file declares (chalicelib/environments/
    <BERTH_STAGE>.yaml in the package, or BERTH_ENVIRONMENTS_FILE relative to it); a variable
    the Lambda is given as well wins (the sandbox widens the network that way). A file with a
    problem stops the Lambda at its start, every problem located (EnvironmentsError)."""
    if not stage and not path:
        return {}
    from chalicelib.spec.environments import fence_variables, read_environments

    declared = read_environments(stage or "", path)
    return fence_variables(declared) if declared is not None else {}
