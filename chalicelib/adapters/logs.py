"""CloudWatch Logs: the log groups the WSO2 tasks write to.

ECS does not create an awslogs group unless the task definition asks with
`awslogs-create-group`, which needs logs:CreateLogGroup on the execution role, and
AmazonECSTaskExecutionRolePolicy does not grant it (ECS developer guide, task execution IAM
role). Without the group a Fargate task stops with "ResourceInitializationError: failed to
validate logger args: ... The specified log group does not exist". So Berth creates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from . import aws_errors, error_code

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient


class Logs:
    def __init__(self, client: CloudWatchLogsClient) -> None:
        self.logs = client

    @aws_errors("CreateLogGroup")
    def ensure_group(self, name: str, retention_days: int) -> bool:
        """Create the log group with a retention; False when it already existed (left as is)."""
        try:
            self.logs.create_log_group(logGroupName=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceAlreadyExistsException":
                return False
            raise
        self.logs.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
        return True
