"""Several containers per task in the sandbox (issue 20): the strict ECS refuses what AWS refuses,
the simulated scheduler starts containers in dependsOn order and stops a task whose init container
fails, and Berth's notification names the container."""

from __future__ import annotations

import hashlib
import json
import re
from contextlib import suppress
from typing import Any

import pytest
from botocore.exceptions import ClientError

from berth.sandbox.ecs_sim.task_play import EXIT_CODE_MARKER
from berth.sandbox.sandbox import Sandbox
from berth.sandbox.strict_ecs.task_definitions import registration_problem
from tests.conftest import EXAMPLES
from tests.integration.helpers import history, statuses

SIDECAR_REPOSITORIES = ("aws-for-fluent-bit", "berth-keystore-init")
ROUTER_DIGEST = "sha256:5f6e3c1b2a0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f"
INIT_DIGEST = "sha256:8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b"


def sidecar_example(sandbox: Sandbox) -> str:
    """examples/wso2-prod-sidecars.yaml as the sandbox's dev environment runs it: dev's cluster,
    roles, log group and secrets (the example names prod's), the sandbox's network."""
    text = re.sub(r"\bprod\b", "dev", (EXAMPLES / "wso2-prod-sidecars.yaml").read_text())
    for arn in re.findall(r"arn:aws:elasticloadbalancing:\S+", text):
        sandbox.create_target_group(arn)  # dev's names for prod's target groups
    # MI's scoped logins, which only prod's examples name (issue 31): dev's names for them.
    for name in ("mi-service-catalog-password", "mi-management-password"):
        with suppress(ClientError):  # ResourceExistsException: a second upload of the example
            sandbox.create_secret(f"arn:aws:secretsmanager:us-east-1:123456789012:secret:wso2/dev/{name}")
    return sandbox.adapt_spec(text)


def put_image(sandbox: Sandbox, repository: str, tag: str, annotations: dict[str, str]) -> str:
    """An image in the sandbox ECR (a manifest with one layer unique to it); its digest."""
    layer = hashlib.sha256(f"{repository}:{tag}:{annotations}".encode()).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 0,
                   "digest": "sha256:" + "0" * 64},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 0,
                    "digest": f"sha256:{layer}"}],
        "annotations": annotations,
    }  # fmt: skip
    ecr = sandbox.client("ecr")
    image = ecr.put_image(repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag)
    return str(image["image"]["imageId"]["imageDigest"])


def operator_adds_sidecar_repositories(sandbox: Sandbox) -> None:
    """What an operator does first: the repositories, their pinned images, and the stage's
    BERTH_IMAGE_REPOSITORIES widened to them (docs/spec.md "Containers")."""
    # berth-keystore-init is Berth's own (infra/resources.yaml creates it); the router is mirrored.
    sandbox.client("ecr").create_repository(repositoryName="aws-for-fluent-bit")
    assert sandbox.import_image("aws-for-fluent-bit", "2.32.4", ROUTER_DIGEST)
    assert sandbox.import_image("berth-keystore-init", "1.0.0", INIT_DIGEST)
    repositories = ",".join(("wso2am", "wso2ei", "wso2mi", *SIDECAR_REPOSITORIES))
    sandbox.renew_clients(BERTH_IMAGE_REPOSITORIES=repositories)


def apim_tasks(sandbox: Sandbox, status: str) -> list[dict[str, Any]]:
    ecs = sandbox.client("ecs")
    arns = ecs.list_tasks(cluster="wso2-dev", desiredStatus=status)["taskArns"]
    tasks = ecs.describe_tasks(cluster="wso2-dev", tasks=arns)["tasks"] if arns else []
    return [t for t in tasks if t["group"] == "service:apim"]


def containers(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in task["containers"]}


def test_the_sidecar_example_deploys_and_starts_its_containers_in_order(sandbox):
    # Given the operator's sidecar repositories and the product images
    operator_adds_sidecar_repositories(sandbox)
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    # When the example is uploaded
    sandbox.upload_spec(sidecar_example(sandbox))
    sandbox.run_until_idle()
    # Then both services deploy, APIM's task with its three containers
    assert statuses(sandbox) == [("apim", "COMPLETED"), ("mi", "COMPLETED")]
    [task] = apim_tasks(sandbox, "RUNNING")
    assert sandbox.ecs_sim is not None
    # The router first (everything logs through it), the init container next, APIM last.
    assert sandbox.ecs_sim.started[task["taskArn"]] == ("log-router", "keystore-init", "apim")
    state = {n: (c["lastStatus"], c.get("exitCode")) for n, c in containers(task).items()}
    assert state == {"apim": ("RUNNING", 0), "log-router": ("RUNNING", 0),
                     "keystore-init": ("STOPPED", 0)}  # fmt: skip
    arn = sandbox.client("ecs").describe_services(cluster="wso2-dev", services=["apim"])[
        "services"
    ][0]["taskDefinition"]
    definition = sandbox.client("ecs").describe_task_definition(taskDefinition=arn)
    volumes = {v["name"]: v for v in definition["taskDefinition"]["volumes"]}
    assert volumes["solr"]["efsVolumeConfiguration"]["authorizationConfig"]["iam"] == "ENABLED"


def test_an_init_container_that_fails_stops_the_task_and_the_notification_names_it(sandbox):
    # Given the example running
    operator_adds_sidecar_repositories(sandbox)
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(sidecar_example(sandbox))
    sandbox.run_until_idle()
    seen = len(sandbox.notifications)
    # When the spec pins a keystore-init build that exits 1 (say, a store that does not decode)
    broken = put_image(sandbox, "berth-keystore-init", "1.0.1", {EXIT_CODE_MARKER: "1"})
    sandbox.upload_spec(sidecar_example(sandbox).replace(f"1.0.0@{INIT_DIGEST}", f"1.0.1@{broken}"))
    sandbox.run_until_idle()
    # Then the deployment rolls back, and the causes name the init container and its exit code
    notes = sandbox.notifications[seen:]
    assert [n.document["status"] for n in notes] == ["ROLLED_BACK"]  # the outcome alone, by default
    causes = notes[-1].document["causes"]
    assert "task stopped: Essential container in task exited" in causes
    assert "container keystore-init: exited (exit code 1)" in causes
    assert any(
        c.startswith("container apim: CannotStartContainerError: dependency graph: failed to "
                     "resolve container ordering dependency [keystore-init(") and "Exit: 1" in c
        for c in causes
    )  # fmt: skip
    stopped = [t for t in apim_tasks(sandbox, "STOPPED")
               if t["stoppedReason"] == "Essential container in task exited"]  # fmt: skip
    assert stopped and all(containers(t)["apim"]["exitCode"] == 143 for t in stopped)
    assert all(containers(t)["keystore-init"]["exitCode"] == 1 for t in stopped)


def test_a_missing_sidecar_image_fails_the_pull_naming_it(sandbox):
    operator_adds_sidecar_repositories(sandbox)
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    missing = "sha256:" + "9" * 64
    sandbox.upload_spec(sidecar_example(sandbox).replace(ROUTER_DIGEST, missing))
    sandbox.run_until_idle()
    failed = next(n.document for n in sandbox.notifications if n.document["status"] == "FAILED")
    assert any(c.startswith("task stopped: CannotPullContainerError") and
               f"aws-for-fluent-bit@{missing}" in c for c in failed["causes"])  # fmt: skip
    assert "container log-router: CannotPullContainerError: image not found" in failed["causes"]


def task_images(sandbox: Sandbox, service: str = "apim") -> dict[str, str]:
    """The image of each container of the task definition the service runs now."""
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster="wso2-dev", services=[service])["services"][0][
        "taskDefinition"
    ]
    task = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return {c["name"]: c["image"] for c in task["containerDefinitions"]}


def test_a_push_to_a_tracked_sidecars_repository_redeploys_the_service(sandbox):
    # Given the example with keystore-init tracking 1.* instead of a pinned digest, deployed
    operator_adds_sidecar_repositories(sandbox)
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    first = sandbox.push("berth-keystore-init", "1.0.1")
    tracked = "{repository: berth-keystore-init, track: '1.*'}"
    sandbox.upload_spec(
        sidecar_example(sandbox).replace(f"berth-keystore-init:1.0.0@{INIT_DIGEST}", tracked)
    )
    sandbox.run_until_idle()
    before = task_images(sandbox)
    # The upload pinned the newest 1.* tag (1.0.1, not the imported 1.0.0)
    assert before["keystore-init"].endswith(f"/berth-keystore-init@{first}")
    seen = len(statuses(sandbox))
    # When a newer keystore-init is pushed
    newer = sandbox.push("berth-keystore-init", "1.0.2")
    sandbox.run_until_idle()
    # Then apim runs a new task definition with the new sidecar digest, the product's unchanged
    after = task_images(sandbox)
    assert after["keystore-init"].endswith(f"/berth-keystore-init@{newer}")
    assert after["apim"] == before["apim"]
    assert after["log-router"] == before["log-router"]
    # One deployment, announced once per outcome, each naming the container
    notes = [n.document for n in sandbox.notifications[seen:]]
    assert [(n["service"], n["status"], n["container"]) for n in notes] == [
        ("apim", "COMPLETED", "keystore-init"),
    ]  # fmt: skip
    assert notes[-1]["subject"] == "[dev] apim keystore-init 1.0.2 deployed"
    assert (notes[-1]["image"]["digest"], notes[-1]["previous_image"]["digest"]) == (newer, first)
    [apim, *_] = history("apim")
    assert (apim.status, apim.image.tag, apim.sidecar_images["keystore-init"].tag) == (
        "COMPLETED", "4.7.0-1", "1.0.2"
    )


# ---- EFS inside the environment's fence, and there in EFS ------------------------------------


def rejected_errors(sandbox: Sandbox, text: str) -> list[str]:
    """Upload `text` after the operator's set-up; the REJECTED notification's errors, having
    checked that nothing reached ECS."""
    operator_adds_sidecar_repositories(sandbox)
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    mark = sandbox.recorder.mark()
    sandbox.upload_spec(text)
    sandbox.run_until_idle()
    assert sandbox.recorder.ecs_mutations(mark) == []
    [rejected] = [n for n in sandbox.notifications if n.document["status"] == "REJECTED"]
    assert statuses(sandbox) == [(None, "REJECTED")]
    return list(rejected.document["errors"])


def test_a_dev_spec_cannot_mount_prods_file_system(sandbox):
    dev_fs, _ = sandbox.file_systems["dev"]
    prod_fs, _ = sandbox.file_systems["prod"]
    text = sidecar_example(sandbox).replace(dev_fs, prod_fs)
    [error] = rejected_errors(sandbox, text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if f"fileSystemId: {prod_fs}" in t)
    listed = re.escape(", ".join(sorted([dev_fs, "fs-0a1b2c3d4e5f60001"])))
    assert re.fullmatch(
        rf"s3://berth-specs-123456789012-dev/specs/dev/wso2\.yaml:{line}:\d+: "
        rf"services\.apim\.volumes\.solr\.efs\.fileSystemId: {prod_fs} is not a file system of "
        rf"environment dev \({listed}; environments\.dev\.fileSystems in "
        r"chalicelib/environments/dev\.yaml\): a "
        r"task mounts only its own environment's EFS file systems",
        error,
    ), error


def test_an_access_point_of_another_file_system_is_refused_by_the_preflight(sandbox):
    _, dev_point = sandbox.file_systems["dev"]
    _, prod_point = sandbox.file_systems["prod"]
    dev_fs = sandbox.file_systems["dev"][0]
    errors = rejected_errors(sandbox, sidecar_example(sandbox).replace(dev_point, prod_point))
    assert errors == [
        f"services.apim.volumes.solr.efs.accessPointId: access point {prod_point} is not an "
        f"access point of file system {dev_fs}; name an access point of that file system (EFS "
        "DescribeAccessPoints). Nothing was deployed: every service of a change is checked "
        "before the first one starts"
    ]


def test_a_file_system_the_fence_lists_but_efs_lacks_is_refused_by_the_preflight(sandbox):
    dev_fs, _ = sandbox.file_systems["dev"]
    # fs-0a1b2c3d4e5f60001 is dev's in .chalice/config.json, but the sandbox's EFS has no such
    # file system (an operator's typo, or a deleted one).
    text = sidecar_example(sandbox).replace(dev_fs, "fs-0a1b2c3d4e5f60001")
    errors = rejected_errors(sandbox, text)
    assert errors[0] == (
        "services.apim.volumes.solr.efs.fileSystemId: file system fs-0a1b2c3d4e5f60001 does not "
        "exist; name an EFS file system of this account and region. Nothing was deployed: every "
        "service of a change is checked before the first one starts"
    )
    # Its access point cannot be one of a file system that does not exist.
    assert errors[1].startswith("services.apim.volumes.solr.efs.accessPointId: access point ")


# ---- the strict ECS: RegisterTaskDefinition and CreateService as AWS answers ------------------


def definition(*containers: dict[str, Any], **task: Any) -> dict[str, Any]:
    return {"container_definitions": list(containers), "cpu": "1024", "memory": "2048",
            "requires_compatibilities": ["EC2"], **task}  # fmt: skip


def container(name: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": "busybox", **fields}


@pytest.mark.parametrize(
    ("arguments", "refusal"),
    [
        (definition(*(container(f"c{i}") for i in range(11))), "Too many containers."),
        (definition(container("a"), container("a")),
         "Container names must be unique within a Task Definition."),
        (definition(container("a", essential=False)),
         "Task definition doesn't have any essential container."),
        (definition(container("a", dependsOn=[{"containerName": "b", "condition": "START"}])),
         "Cannot depend on container + 'b' because it does not exist"),
        (definition(container("a", dependsOn=[{"containerName": "b", "condition": "SUCCESS"}]),
                    container("b")),
         "A dependency container with SUCCESS or COMPLETE condition cannot be an essential "
         "container"),
        (definition(container("a", dependsOn=[{"containerName": "b", "condition": "START"}]),
                    container("b", dependsOn=[{"containerName": "a", "condition": "START"}])),
         "Container dependencies should not have a cycle"),
        (definition(container("a", cpu=1000), container("b", cpu=100)),
         "The sum of all container 'cpu' values cannot be greater than the value of the task "
         "'cpu'."),
        (definition(container("a", memory=4096)),
         "The 'memory' setting for container 'a' is greater than for the task."),
    ],
)  # fmt: skip
def test_the_sandbox_refuses_what_aws_refuses_in_a_task_of_several_containers(arguments, refusal):
    assert registration_problem(arguments) == refusal


def test_ten_containers_that_wait_properly_are_accepted():
    init = container("init", essential=False)
    others = [container(f"c{i}", dependsOn=[{"containerName": "init", "condition": "SUCCESS"}])
              for i in range(9)]  # fmt: skip
    assert registration_problem(definition(init, *others)) is None


def test_efs_on_a_fargate_platform_before_1_4_is_refused_at_create_service(sandbox):
    ecs = sandbox.client("ecs")
    arn = ecs.register_task_definition(
        family="efs-probe", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
        cpu="256", memory="512",
        containerDefinitions=[{"name": "a", "image": "busybox"}],
        volumes=[{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678"}}],
    )["taskDefinition"]["taskDefinitionArn"]  # fmt: skip
    network = {"awsvpcConfiguration": {"subnets": sandbox.subnets,
                                       "securityGroups": [sandbox.security_group]}}  # fmt: skip
    with pytest.raises(ClientError) as refused:
        ecs.create_service(cluster="wso2-dev", serviceName="efs-probe", taskDefinition=arn,
                           desiredCount=0, launchType="FARGATE", platformVersion="1.3.0",
                           networkConfiguration=network)  # fmt: skip
    assert refused.value.response["Error"] == {
        "Code": "PlatformTaskDefinitionIncompatibilityException",
        "Message": "One or more of the requested capabilities are not supported.",
    }
    # LATEST (what Berth leaves the service on) is 1.4.0 or later: accepted.
    ecs.create_service(cluster="wso2-dev", serviceName="efs-probe", taskDefinition=arn,
                       desiredCount=0, launchType="FARGATE", networkConfiguration=network)  # fmt: skip


# ---- which container mounts which volume (issue 28) ---------------------------------------------


def test_what_reaches_ecs_mounts_the_keystores_writable_for_keystore_init_and_read_only_for_apim(
    sandbox,
):
    # Given the sidecar example deployed
    operator_adds_sidecar_repositories(sandbox)
    sandbox.push("wso2mi", "4.4.0-1")
    sandbox.push("wso2am", "4.7.0-1")
    sandbox.upload_spec(sidecar_example(sandbox))
    sandbox.run_until_idle()
    # When ECS is asked what it registered
    ecs = sandbox.client("ecs")
    arn = ecs.describe_services(cluster="wso2-dev", services=["apim"])["services"][0]["taskDefinition"]
    definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    # Then keystore-init alone writes the keystores, APIM reads them, the router mounts nothing
    mounts = {
        c["name"]: sorted((m["sourceVolume"], m["containerPath"], m["readOnly"]) for m in c["mountPoints"])
        for c in definition["containerDefinitions"]
    }
    assert mounts == {
        "apim": [
            ("berth-keystores",
             "/home/wso2carbon/wso2-config-volume/repository/resources/security", True),
            ("solr", "/home/wso2carbon/solr", False),
        ],
        "keystore-init": [("berth-keystores", "/keystores", False)],
        "log-router": [],
    }  # fmt: skip


def test_a_sidecar_mounting_the_products_file_system_is_rejected_before_ecs(sandbox):
    text = sidecar_example(sandbox).replace(
        "        preset: firelens",
        "        preset: firelens\n        mountPoints: [{volume: solr, path: /index}]",
    )
    [error] = rejected_errors(sandbox, text)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "path: /index" in t)
    assert re.fullmatch(
        rf"s3://berth-specs-123456789012-dev/specs/dev/wso2\.yaml:{line}:\d+: "
        r"services\.apim\.containers\.log-router\.mountPoints\[0\]\.volume: solr is not shared "
        r"with log-router: a sidecar mounts only its preset's own volume and the volumes that "
        r"list it \(volumes\.solr\.sharedWith: \[log-router\]\)",
        error,
    ), error
