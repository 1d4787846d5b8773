"""Look-ups of what a spec references (clusters, subnets, security groups, secrets, parameters,
EFS file systems and access points, target groups and, for an HA pair's portals, their
stickiness):
the pre-flight that runs before a change touches ECS. Each kind is one call, or one per secret,
and answers what is missing rather than raising on the first absence."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from chalicelib.decisions.preflight import Kind, Reference

from . import aws_errors, error_code

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_efs import EFSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient


class Resources:
    def __init__(
        self,
        ec2: EC2Client,
        ecs: ECSClient,
        secrets: SecretsManagerClient,
        ssm: SSMClient,
        *,
        efs: EFSClient,
        elbv2: ElasticLoadBalancingv2Client,
    ) -> None:
        self.ec2, self.ecs, self.secrets, self.ssm = ec2, ecs, secrets, ssm
        self.efs, self.elbv2 = efs, elbv2

    def missing(self, references: Iterable[Reference]) -> set[tuple[Kind, str]]:
        """(kind, identifier) of each referenced resource that does not exist (an access point:
        that is not one of the file system it must belong to)."""
        wanted: dict[Kind, list[str]] = {}
        access_points: dict[str, set[str]] = {}
        for reference in references:
            if reference.kind == "access point" and reference.within is not None:
                access_points.setdefault(reference.within, set()).add(reference.identifier)
                continue
            wanted.setdefault(reference.kind, []).append(reference.identifier)
        missing: set[tuple[Kind, str]] = set()
        checks = {
            "cluster": self._missing_clusters,
            "subnet": self._missing_subnets,
            "security group": self._missing_security_groups,
            "secret": self._missing_secrets,
            "parameter": self._missing_parameters,
            "file system": self._missing_file_systems,
            "target group": self._missing_target_groups,
            "sticky target group": self._unsticky_target_groups,
        }
        for kind, identifiers in wanted.items():
            unique = sorted(set(identifiers))
            missing |= {(kind, i) for i in checks[kind](unique)}
        for file_system, points in sorted(access_points.items()):
            if ("file system", file_system) in missing:
                missing |= {("access point", p) for p in points}
                continue
            foreign = self._foreign_access_points(file_system, points)
            missing |= {("access point", p) for p in foreign}
        return missing

    @aws_errors("DescribeClusters")
    def _missing_clusters(self, names: list[str]) -> set[str]:
        found = self.ecs.describe_clusters(clusters=names).get("clusters", [])
        active = {c.get("clusterName") for c in found if c.get("status") == "ACTIVE"}
        return set(names) - active

    @aws_errors("DescribeSubnets")
    def _missing_subnets(self, ids: list[str]) -> set[str]:
        # A filter answers with what exists; SubnetIds would fail on the first missing one.
        found = self.ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": ids}])
        return set(ids) - {s["SubnetId"] for s in found.get("Subnets", [])}

    @aws_errors("DescribeSecurityGroups")
    def _missing_security_groups(self, ids: list[str]) -> set[str]:
        found = self.ec2.describe_security_groups(Filters=[{"Name": "group-id", "Values": ids}])
        return set(ids) - {g["GroupId"] for g in found.get("SecurityGroups", [])}

    @aws_errors("DescribeSecret")
    def _missing_secrets(self, ids: list[str]) -> set[str]:
        return _not_found(
            ids, lambda secret: self.secrets.describe_secret(SecretId=secret),
            "ResourceNotFoundException",
        )  # fmt: skip

    @aws_errors("GetParameters")
    def _missing_parameters(self, names: list[str]) -> set[str]:
        missing: set[str] = set()
        for start in range(0, len(names), 10):  # GetParameters takes at most ten names
            answer = self.ssm.get_parameters(Names=names[start : start + 10])
            missing |= set(answer.get("InvalidParameters", []))
        return missing

    @aws_errors("DescribeFileSystems")
    def _missing_file_systems(self, ids: list[str]) -> set[str]:
        # EFS API reference, DescribeFileSystems errors: FileSystemNotFound (404).
        return _not_found(
            ids, lambda fs: self.efs.describe_file_systems(FileSystemId=fs), "FileSystemNotFound"
        )

    @aws_errors("DescribeAccessPoints")
    def _foreign_access_points(self, file_system: str, wanted: set[str]) -> set[str]:
        """Those of `wanted` that are not access points of `file_system`: one call lists the
        file system's access points (EFS API reference, DescribeAccessPoints: FileSystemId
        "returns all access points for that file system")."""
        found: set[str] = set()
        token: str | None = None
        while True:
            page = (
                self.efs.describe_access_points(FileSystemId=file_system, NextToken=token)
                if token
                else self.efs.describe_access_points(FileSystemId=file_system)
            )
            found |= {p["AccessPointId"] for p in page.get("AccessPoints", [])}
            token = page.get("NextToken")
            if not token:
                return wanted - found

    @aws_errors("DescribeTargetGroups")
    def _missing_target_groups(self, arns: list[str]) -> set[str]:
        # One call per ARN: with several, DescribeTargetGroups fails whole on the first missing
        # one (TargetGroupNotFound, ELB API reference, DescribeTargetGroups, Errors).
        return _not_found(
            arns, lambda arn: self.elbv2.describe_target_groups(TargetGroupArns=[arn]),
            "TargetGroupNotFound",
        )  # fmt: skip


    @aws_errors("DescribeTargetGroupAttributes")
    def _unsticky_target_groups(self, arns: list[str]) -> set[str]:
        """Those of `arns` whose `stickiness.enabled` attribute is not "true" (ELB API
        reference, TargetGroupAttribute); a target group that does not exist is the "target
        group" look-up's to tell."""
        unsticky: set[str] = set()
        for arn in arns:
            try:
                answer = self.elbv2.describe_target_group_attributes(TargetGroupArn=arn)
            except ClientError as exc:
                if error_code(exc) != "TargetGroupNotFound":
                    raise
                continue
            attributes = {a.get("Key"): a.get("Value") for a in answer.get("Attributes", [])}
            if attributes.get("stickiness.enabled") != "true":
                unsticky.add(arn)
        return unsticky


def _not_found(ids: list[str], describe: Callable[[str], object], code: str) -> set[str]:
    """Those of `ids` that `describe`, called once for each, answers with error `code`."""
    missing = set()
    for one in ids:
        try:
            describe(one)
        except ClientError as exc:
            if error_code(exc) != code:
                raise
            missing.add(one)
    return missing
