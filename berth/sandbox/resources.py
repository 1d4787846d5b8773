"""The sandbox's AWS resources, created as the dev stage's template and an operator create them.

DynamoDB tables, the spec bucket, the ECR repositories and clusters from infra/resources.yaml;
a VPC with two subnets and a security group, one EFS file system per environment, and the
secrets and target groups the examples name. The stage's fence is widened to the sandbox's own
network and file systems, and specs are adapted to them (moto checks that subnets exist).
"""

from __future__ import annotations

from typing import Any

import yaml

from berth.sandbox import infra
from berth.sandbox.names import (
    ACCOUNT,
    BUCKET,
    CLUSTERS,
    REGION,
    REPO_ROOT,
    STAGE,
    TABLE_NAMES,
    Clients,
)
from berth.stages import stage_variables
from chalicelib.spec.fence import environment_map


def create_storage(client: Clients) -> None:
    """The template's tables, repositories and the spec bucket (versioned, telling
    EventBridge), and the stage's clusters."""
    template = infra.load_template()
    infra.create_tables(client("dynamodb"), TABLE_NAMES, template)
    s3 = client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket=BUCKET, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    ecr = client("ecr")
    for name in infra.repository_names(template):
        ecr.create_repository(repositoryName=name)
    ecs = client("ecs")
    for cluster in CLUSTERS:
        ecs.create_cluster(clusterName=cluster)


def create_network(client: Clients) -> tuple[str, list[str], str]:
    """The sandbox VPC, its two subnets and its security group."""
    ec2 = client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.80.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.80.{i}.0/24")["Subnet"]["SubnetId"]
        for i in (1, 2)
    ]
    security_group = ec2.create_security_group(
        GroupName="berth-sandbox", Description="sandbox tasks", VpcId=vpc
    )["GroupId"]
    return vpc, subnets, security_group


def create_file_systems(client: Clients) -> dict[str, tuple[str, str]]:
    """One EFS file system and access point per environment, tagged for it as an operator
    tags them (the task roles may mount only their environment's: infra/resources.yaml)."""
    efs = client("efs")
    file_systems: dict[str, tuple[str, str]] = {}
    for env in environment_map(stage_variables(STAGE)["BERTH_ENVIRONMENT_CLUSTERS"]):
        fs = efs.create_file_system(
            CreationToken=f"berth-sandbox-{env}", Encrypted=True,
            Tags=[{"Key": "berth:environment", "Value": env}],
        )["FileSystemId"]  # fmt: skip
        point = efs.create_access_point(
            FileSystemId=fs, PosixUser={"Uid": 10001, "Gid": 10001},
            RootDirectory={"Path": "/solr"},
        )["AccessPointId"]  # fmt: skip
        file_systems[env] = (str(fs), str(point))
    return file_systems


def create_example_secrets(client: Clients) -> None:
    """The secrets the examples reference, created as an operator creates them before the
    first deployment: the simulated ECS stops tasks whose secret is missing, as Fargate does."""
    # Several examples name the same secrets; each is created once.
    references: set[str] = set()
    for path in sorted((REPO_ROOT / "examples").iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        document = yaml.safe_load(path.read_text())
        levels = [document, *(document.get("services") or {}).values()]
        references |= {v for level in levels for v in (level.get("secrets") or {}).values()}
        references |= set(verify_secrets(document))
    for ref in sorted(references):
        create_secret(client, ref)


def create_example_target_groups(client: Clients, vpc: str) -> None:
    """The target groups the examples name, created as the operator creates them (Berth's
    pre-flight refuses a change whose target group does not exist)."""
    for path in sorted((REPO_ROOT / "examples").iterdir()):
        if path.suffix not in (".yaml", ".yml", ".json"):
            continue
        document = yaml.safe_load(path.read_text())
        for service in (document.get("services") or {}).values():
            entries = [service.get("loadBalancer") or {}, *(service.get("loadBalancers") or [])]
            for entry in entries:
                for key in ("targetGroupArn", "alternateTargetGroupArn"):
                    if entry.get(key):
                        create_target_group(client, vpc, entry[key])


def create_target_group(client: Clients, vpc: str, arn: str) -> None:
    """Create the target group `arn` names, under that very ARN. ELB chooses the last part
    of a target group's ARN itself, so the examples' ARNs cannot be had through the API: the
    group is created with CreateTargetGroup (a unique name; moto refuses a name twice, as
    ELB does) and then filed under the wanted ARN and name in moto's in-process backend."""
    from moto.elbv2.models import elbv2_backends

    parts = arn.split(":")
    backend = elbv2_backends[ACCOUNT][REGION]
    if (parts[3], parts[4]) != (REGION, ACCOUNT) or arn in backend.target_groups:
        return
    name = arn.split(":targetgroup/", 1)[1].split("/", maxsplit=1)[0]
    created = client("elbv2").create_target_group(
        Name=f"berth-sandbox-{len(backend.target_groups)}", Protocol="HTTPS", Port=443,
        VpcId=vpc, TargetType="ip",
    )["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    group = backend.target_groups.pop(created)
    group.arn, group.name = arn, name
    backend.target_groups[arn] = group


def create_secret(client: Clients, value_from: str, value: str = "sandbox") -> None:
    """Create the Secrets Manager secret or SSM parameter an ECS `valueFrom` names."""
    parts = value_from.split(":")
    if (parts[3], parts[4]) != (REGION, ACCOUNT):
        return
    if parts[2] == "secretsmanager":
        client("secretsmanager").create_secret(Name=parts[6], SecretString=value)
    elif parts[2] == "ssm":
        name = parts[5].removeprefix("parameter")
        client("ssm").put_parameter(Name=name, Value=value, Type="SecureString")


def verify_secrets(document: dict[str, Any]) -> list[str]:
    """The secrets Berth's verification hook reads (deployment.verify.smoke.header.secret)."""
    found = []
    for service in (document.get("services") or {}).values():
        verify = (service.get("deployment") or {}).get("verify") or {}
        header = (verify.get("smoke") or {}).get("header") or {}
        if header.get("secret"):
            found.append(str(header["secret"]))
    return found


# ---- the stage's fence, widened to the sandbox's resources ---------------------------------------


def network_fence(subnets: list[str], security_group: str) -> dict[str, str]:
    """Each environment of the stage bound to the sandbox's subnets and security group (what
    `adapt_spec` gives specs) besides the ones the stage declares (the examples' ids, which
    pass the fence and then fail as on AWS: moto has no such subnet)."""
    declared = stage_variables(STAGE)
    declared_subnets = environment_map(declared.get("BERTH_ENVIRONMENT_SUBNETS", ""))
    groups = environment_map(declared.get("BERTH_ENVIRONMENT_SECURITY_GROUPS", ""))
    environments = environment_map(declared["BERTH_ENVIRONMENT_CLUSTERS"])
    return {
        "BERTH_ENVIRONMENT_SUBNETS": ";".join(
            f"{e}={','.join([*subnets, *declared_subnets.get(e, [])])}" for e in environments
        ),
        "BERTH_ENVIRONMENT_SECURITY_GROUPS": ";".join(
            f"{e}={','.join([security_group, *groups.get(e, [])])}" for e in environments
        ),
    }


def file_system_fence(file_systems: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Each environment's sandbox file system besides the ones the stage declares (the
    examples' ids, which pass the fence and fail the pre-flight: moto has no such file
    system), as `network_fence` does for networks."""
    declared = environment_map(
        stage_variables(STAGE).get("BERTH_ENVIRONMENT_FILE_SYSTEMS", "")
    )
    return {
        "BERTH_ENVIRONMENT_FILE_SYSTEMS": ";".join(
            f"{e}={','.join([fs, *declared.get(e, [])])}"
            for e, (fs, _) in sorted(file_systems.items())
        )
    }


def test_listener_fence() -> dict[str, str]:
    """Each environment's sandbox test listener (berth/sandbox/listener.py: a local server the
    hook knows by a name under .test) besides the ones the stage declares (the examples' names,
    which pass the fence and then resolve to nothing in the sandbox)."""
    declared = stage_variables(STAGE)
    listeners = environment_map(declared.get("BERTH_ENVIRONMENT_TEST_LISTENERS", ""))
    environments = environment_map(declared["BERTH_ENVIRONMENT_CLUSTERS"])
    return {
        "BERTH_ENVIRONMENT_TEST_LISTENERS": ";".join(
            f"{e}={','.join([f'http://apim-{e}-test.sandbox.test', *listeners.get(e, [])])}"
            for e in environments
        )
    }


def adapt_spec(
    text: str, subnets: list[str], security_group: str,
    file_systems: dict[str, tuple[str, str]],
) -> str:  # fmt: skip
    """A spec with its network swapped for the sandbox VPC's subnets and security group, and
    its EFS volumes for the sandbox's file system of its environment.

    moto checks that subnets and security groups exist; the examples name real-looking ids.
    """
    document = yaml.safe_load(text)
    network = {"subnets": subnets, "securityGroups": [security_group]}
    if isinstance(document, dict):
        environment: Any = document.get("environment")
        if "network" in document:
            document["network"] = network
        for service in (document.get("services") or {}).values():
            if isinstance(service, dict) and "network" in service:
                service["network"] = network
            if isinstance(service, dict):
                _adapt_volumes(service, file_systems.get(environment))
    return yaml.safe_dump(document, sort_keys=False)


def _adapt_volumes(service: dict[str, Any], own: tuple[str, str] | None) -> None:
    """EFS volumes on the sandbox's file system (and access point) of the spec's environment."""
    for volume in (service.get("volumes") or {}).values():
        efs = volume.get("efs") if isinstance(volume, dict) else None
        if own is None or not isinstance(efs, dict):
            continue
        efs["fileSystemId"] = own[0]
        if "accessPointId" in efs:
            efs["accessPointId"] = own[1]


# ---- who may approve in the sandbox ------------------------------------------------------------


def approver_fence(extra: list[str]) -> dict[str, str]:
    """Each environment's declared approvers plus `extra` (the sandbox's operator, moto's
    identity: berth.sandbox.api_gateway.PRINCIPALS), as `network_fence` widens networks."""
    declared = stage_variables(STAGE)
    approvers = environment_map(declared.get("BERTH_ENVIRONMENT_APPROVERS", ""))
    environments = environment_map(declared["BERTH_ENVIRONMENT_CLUSTERS"])
    return {
        "BERTH_ENVIRONMENT_APPROVERS": ";".join(
            f"{e}={','.join([*approvers.get(e, []), *extra])}" for e in environments
        )
    }
