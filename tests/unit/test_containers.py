"""Several containers per task (issue 20): sidecars, init containers, start order, storage.

Each refusal is one ECS makes (or a task that would never start), located in the file; what is
accepted renders to what RegisterTaskDefinition takes (botocore's own input validation)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

from chalicelib.errors import SpecError
from chalicelib.rendering.comparison import normalise, same_task_definition
from chalicelib.rendering.images import ImageRef
from chalicelib.rendering.task_definition import log_groups, render_task_definition
from chalicelib.spec.containers import EfsVolume, MountPoint, Sidecar
from chalicelib.spec.fence import StageFence
from chalicelib.spec.images import PinnedImage
from chalicelib.spec.model import Service, Spec
from chalicelib.spec.parse import parse_spec
from tests.conftest import EXAMPLES, ROOT

EXAMPLE = EXAMPLES / "wso2-prod-sidecars.yaml"
DIGEST = "sha256:" + "ab" * 32
FLUENT_BIT = "sha256:5f6e3c1b2a0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f"
ACCOUNT, REGION = "123456789012", "us-east-1"


def example() -> dict[str, Any]:
    return dict(yaml.safe_load(EXAMPLE.read_text()))


def apim(document: dict[str, Any]) -> dict[str, Any]:
    return dict(document["services"]["apim"])


def parse(document: dict[str, Any], fence: StageFence | None = None) -> Spec:
    return parse_spec(yaml.safe_dump(document, sort_keys=False).encode(), "s.yaml", fence)


def problems(document: dict[str, Any], fence: StageFence | None = None) -> list[str]:
    """`path: reason` of every problem (positions are checked on the example file itself)."""
    with pytest.raises(SpecError) as caught:
        parse(document, fence)
    return [f"{p.path}: {p.reason}" for p in caught.value.problems]


def with_apim(**changes: Any) -> dict[str, Any]:
    document = example()
    document["services"]["apim"].update(changes)
    return document


def with_sidecar(name: str, sidecar: dict[str, Any] | None, **apim_changes: Any) -> dict[str, Any]:
    document = with_apim(**apim_changes)
    containers = document["services"]["apim"]["containers"]
    if sidecar is None:
        containers.pop(name)
    else:
        containers[name] = sidecar
    return document


def render(spec: Spec, name: str = "apim") -> dict[str, Any]:
    repository = spec.services[name].image.repository
    return render_task_definition(spec, name, ImageRef(repository, DIGEST, "4.7.0-1"), ACCOUNT, REGION)


def containers_of(task: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in task["containerDefinitions"]}


# ---- what RegisterTaskDefinition accepts -------------------------------------------------------


def register_task_definition_problems(task: dict[str, Any]) -> str:
    """botocore's own validation of RegisterTaskDefinition input, with the ECS service model
    installed in .venv: the shapes, types, enums and required members ECS's API takes."""
    model = botocore.session.get_session().get_service_model("ecs")
    shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(task, shape)
    return report.generate_report() if report.has_errors() else ""


@pytest.mark.parametrize("golden", sorted((ROOT / "tests" / "golden").glob("*.json")), ids=lambda p: p.name)
def test_every_golden_task_definition_is_valid_register_task_definition_input(golden: Path):
    assert register_task_definition_problems(json.loads(golden.read_text())) == ""


def test_the_validator_would_catch_a_shape_ecs_refuses():
    task = render(parse(example()))
    task["ephemeralStorage"] = {"sizeInGiB": "30"}
    containers_of(task)["apim"]["dependsOn"][0] = {"container": "keystore-init"}
    report = register_task_definition_problems(task)
    assert "sizeInGiB" in report
    assert "Unknown parameter in containerDefinitions[0].dependsOn[0]" in report


def test_the_example_renders_apim_with_a_log_router_an_init_container_and_efs():
    task = render(parse(example()))
    containers = containers_of(task)
    assert list(containers) == ["apim", "keystore-init", "log-router"]
    product, init, router = containers["apim"], containers["keystore-init"], containers["log-router"]
    # The product starts after the init container succeeded and the router started.
    assert product["dependsOn"] == [
        {"containerName": "keystore-init", "condition": "SUCCESS"},
        {"containerName": "log-router", "condition": "START"},
    ]
    assert (init["essential"], router["essential"], product["essential"]) == (False, True, True)
    assert router["firelensConfiguration"] == {
        "type": "fluentbit",
        "options": {"enable-ecs-log-metadata": "true"},
    }
    assert router["image"] == f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/aws-for-fluent-bit@{FLUENT_BIT}"
    assert router["dockerLabels"]["berth.image.tag"] == "2.32.4"
    assert router["logConfiguration"]["logDriver"] == "awslogs"  # the router cannot log to itself
    assert product["logConfiguration"] == {
        "logDriver": "awsfirelens",
        "options": {
            "Name": "cloudwatch_logs",
            "auto_create_group": "false",
            "log_group_name": "/berth/prod",
            "log_stream_prefix": "apim/",
            "region": REGION,
        },
    }
    # The stores reach WSO2's config volume read-only; the init container writes them.
    assert {"sourceVolume": "berth-keystores", "readOnly": True,
            "containerPath": "/home/wso2carbon/wso2-config-volume/repository/resources/security"
            } in product["mountPoints"]  # fmt: skip
    assert init["mountPoints"] == [
        {"sourceVolume": "berth-keystores", "containerPath": "/keystores", "readOnly": False}
    ]
    assert [s["name"] for s in init["secrets"]] == ["BERTH_KEYSTORE_B64", "BERTH_TRUSTSTORE_B64"]
    assert task["volumes"] == [
        {"name": "berth-keystores"},
        {
            "name": "solr",
            "efsVolumeConfiguration": {
                "fileSystemId": "fs-0f1e2d3c4b5a60001",
                "transitEncryption": "ENABLED",
                "authorizationConfig": {"iam": "ENABLED", "accessPointId": "fsap-0f1e2d3c4b5a60001"},
            },
        },
    ]
    assert task["ephemeralStorage"] == {"sizeInGiB": 30}
    assert "links" not in json.dumps(task)  # awsvpc: localhost and start order, never links


def test_the_firelens_log_group_is_one_berth_creates():
    assert log_groups(render(parse(example()))) == {"/berth/prod"}


def test_the_default_heap_is_a_share_of_what_the_sidecars_leave():
    document = with_apim()
    del document["services"]["apim"]["heap"]
    task = render(parse(document))
    environment = {e["name"]: e["value"] for e in containers_of(task)["apim"]["environment"]}
    # 5120 MiB less 50 (router) and 64 (init) reserved, half of it, rounded down to 64 MiB.
    assert environment["JVM_MEM_OPTS"] == "-Xms2496m -Xmx2496m"


def test_a_one_container_service_renders_no_new_keys():
    mi = render(parse(example()), "mi")
    assert set(mi) == {"family", "networkMode", "requiresCompatibilities", "cpu", "memory",
                       "runtimePlatform", "containerDefinitions", "executionRoleArn",
                       "taskRoleArn", "tags"}  # fmt: skip
    [container] = mi["containerDefinitions"]
    assert not {"dependsOn", "mountPoints", "cpu", "memory"} & set(container)


# ---- unchanged is unchanged, against what AWS returns ------------------------------------------


def as_aws_describes(task: dict[str, Any]) -> dict[str, Any]:
    """A registered definition as DescribeTaskDefinition returns it: container cpu 0,
    mountPoints/volumesFrom defaults, readOnly left out when false, bind volumes with an empty
    host, EFS defaults spelled out (tests/fixtures/aws/README.md; ECS API reference)."""
    live = copy.deepcopy(task)
    for container in live["containerDefinitions"]:
        container.setdefault("cpu", 0)
        container.setdefault("mountPoints", [])
        container.setdefault("volumesFrom", [])
        container.setdefault("systemControls", [])
        for mount in container["mountPoints"]:
            if not mount["readOnly"]:
                del mount["readOnly"]
        container["mountPoints"].reverse()
    for volume in live.get("volumes", []):
        if "efsVolumeConfiguration" in volume:
            volume["efsVolumeConfiguration"]["rootDirectory"] = "/"
        else:
            volume["host"] = {}
    live["volumes"] = list(reversed(live.get("volumes", [])))
    live["containerDefinitions"].reverse()
    live.update(revision=3, status="ACTIVE", compatibilities=["EC2", "FARGATE"])
    return live


def test_an_unchanged_sidecar_task_compares_equal_to_what_aws_returns():
    task = render(parse(example()))
    assert same_task_definition(as_aws_describes(task), task)


def test_a_new_sidecar_digest_is_a_change():
    task = render(parse(example()))
    document = example()
    document["services"]["apim"]["containers"]["log-router"]["image"] = "aws-for-fluent-bit@sha256:" + "1" * 64
    assert not same_task_definition(as_aws_describes(task), render(parse(document)))


@pytest.mark.parametrize(
    ("key", "value"),
    [("ephemeralStorage", 40), ("mountPoints", []), ("volumes", {})],
)
def test_storage_edits_are_changes(key: str, value: Any):
    before = render(parse(example()))
    document = with_apim(**{key: value})
    document["services"]["apim"]["containers"].pop("keystore-init")
    document["services"]["apim"]["secrets"].pop("KEYSTORE_PASSWORD")
    if key == "volumes":
        document["services"]["apim"]["mountPoints"] = []
    assert normalise(before) != normalise(render(parse(document)))


# ---- image pinning -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (f"aws-for-fluent-bit@{DIGEST}", ("aws-for-fluent-bit", DIGEST, None)),
        (f"mirror/fluent-bit:2.32.4@{DIGEST}", ("mirror/fluent-bit", DIGEST, "2.32.4")),
        ({"repository": "otel", "digest": DIGEST, "tag": "v0.40"}, ("otel", DIGEST, "v0.40")),
    ],
)
def test_a_sidecar_image_is_an_ecr_repository_pinned_by_digest(image: Any, expected: tuple):
    document = with_sidecar("log-router", {"preset": "firelens", "image": image})
    pinned = parse(document).services["apim"].containers["log-router"].image
    assert (pinned.repository, pinned.digest, pinned.tag) == expected


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("aws-for-fluent-bit:2.32.4", "is not pinned by digest: write REPOSITORY[:TAG]@sha256:<64 hex>"),
        (f"public.ecr.aws/aws-observability/aws-for-fluent-bit@{DIGEST}", "names a registry (public.ecr.aws)"),
        ({"repository": "otel", "digest": "sha256:abc"}, "is not a digest: sha256: and 64"),
        ({"repository": "otel"}, "give digest: 'sha256:<64 hex>' to pin the image, or track"),
        ({"repository": "otel", "track": "~0.40", "digest": DIGEST}, "not both"),
        ({"repository": "otel", "track": "~0.40", "tag": "v0.40"}, "not both"),
        ({"repository": "otel", "track": ">= 0.40"}, "remove the space after >="),
    ],
)
def test_an_unpinned_sidecar_image_is_refused(image: Any, reason: str):
    [problem] = problems(with_sidecar("log-router", {"preset": "firelens", "image": image}))
    assert problem.startswith("services.apim.containers.log-router.image")
    assert reason in problem


@pytest.mark.parametrize("track", ["2.32.*", "~2.32", ">=2.32.0 <3"])
def test_a_sidecar_image_can_track_tags_like_the_product_image(track: str):
    document = with_sidecar(
        "log-router", {"preset": "firelens", "image": {"repository": "aws-for-fluent-bit",
                                                        "track": track}}
    )
    image = parse(document).services["apim"].containers["log-router"].image
    assert (image.repository, image.track, image.digest, image.tracked) == (
        "aws-for-fluent-bit", track, None, True
    )


def test_a_problem_names_file_line_column_field_and_fix():
    text = EXAMPLE.read_text().replace(
        "aws-for-fluent-bit:2.32.4@sha256:", "aws-for-fluent-bit:2.32.4@sha1:", 1
    )
    with pytest.raises(SpecError) as caught:
        parse_spec(text.encode(), "specs/prod/wso2.yaml")
    [problem] = [str(p) for p in caught.value.problems]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "@sha1:" in t)
    assert re.match(rf"specs/prod/wso2\.yaml:{line}:\d+: services\.apim\.containers\.log-router"
                    r"\.image: .*pinned by digest", problem)  # fmt: skip


# ---- ECS's rules for the containers of a task --------------------------------------------------


def sidecar(**fields: Any) -> dict[str, Any]:
    return {"image": f"tools@{DIGEST}", **fields}


def test_at_most_ten_containers_per_task():
    document = example()
    containers = document["services"]["apim"]["containers"]
    containers.update({f"extra-{i}": sidecar(essential=False) for i in range(8)})
    assert problems(document) == [
        "services.apim.containers: 11 containers in one task; ECS allows at most 10, the product "
        "container included"
    ]
    containers.pop("extra-7")
    assert parse(document).services["apim"].containers


def test_a_sidecar_cannot_take_the_product_containers_name():
    assert problems(with_sidecar("apim", sidecar())) == [
        "services.apim.containers.apim: is the product container's name (the service's); "
        "container names are unique within a task"
    ]


def test_start_after_names_a_container_of_the_task():
    document = with_sidecar("otel", sidecar(startAfter={"log-routr": "START"}))
    assert problems(document) == [
        "services.apim.containers.otel.startAfter.log-routr: unknown container 'log-routr' (did "
        "you mean 'log-router'?) (the task has apim, log-router, keystore-init, otel)"
    ]


def test_start_after_forms_no_cycle():
    document = with_sidecar("otel", sidecar(essential=False, startAfter={"apim": "START"}),
                            startAfter={"otel": "START"})  # fmt: skip
    [problem] = problems(document)
    assert problem.startswith("services.apim.containers: startAfter forms a cycle: ")
    assert re.search(r"(apim -> otel -> apim|otel -> apim -> otel)", problem)


def test_a_container_cannot_start_after_itself():
    assert problems(with_sidecar("otel", sidecar(startAfter={"otel": "START"}))) == [
        "services.apim.containers.otel.startAfter.otel: a container cannot start after itself"
    ]


def test_complete_or_success_waits_only_for_a_non_essential_container():
    document = with_sidecar("migrate", sidecar(), startAfter={"migrate": "SUCCESS"})
    assert problems(document) == [
        "services.apim.startAfter.migrate: migrate is essential, and ECS refuses SUCCESS on an "
        "essential container (it runs to completion, which would stop the task): set essential: "
        "false on migrate"
    ]
    document["services"]["apim"]["containers"]["migrate"]["essential"] = False
    assert parse(document)


def test_an_essential_keystore_init_is_refused_where_the_product_waits_for_it():
    document = example()
    document["services"]["apim"]["containers"]["keystore-init"]["essential"] = True
    [problem] = problems(document)
    assert problem.startswith("services.apim.startAfter: keystore-init is essential")


def test_healthy_needs_a_health_check():
    document = with_sidecar("otel", sidecar(essential=False), startAfter={"otel": "HEALTHY"})
    assert problems(document) == [
        "services.apim.startAfter.otel: HEALTHY needs a healthCheck on otel; give it one, or "
        "wait for START"
    ]
    document["services"]["apim"]["containers"]["otel"]["preset"] = "otel-collector"
    assert parse(document)  # the preset's /healthcheck


def test_the_containers_cpu_fits_in_the_task():
    assert problems(with_sidecar("otel", sidecar(cpu=2049, essential=False))) == [
        "services.apim.containers: the sidecars' cpu adds up to 2049, more than the task's 2048"
        ": lower them or raise the service's cpu"
    ]
    assert parse(with_sidecar("otel", sidecar(cpu=2048, essential=False)))


def test_the_containers_memory_fits_in_the_task():
    assert set(problems(with_sidecar("otel", sidecar(memory=6000, essential=False)))) >= {
        "services.apim.containers.otel.memory: 6000 MiB is more than the task's 5120 MiB",
        "services.apim.containers: the sidecars reserve 6114 MiB of the task's 5120 MiB, leaving "
        "nothing for the product",
    }
    assert problems(with_sidecar("otel", sidecar(memory=256, memoryReservation=256))) == [
        "services.apim.containers.otel.memoryReservation: 256 MiB must be below memory (256 MiB)"
    ]


def test_the_heap_fits_beside_the_sidecars():
    assert problems(with_apim(heap=5050)) == [
        "services.apim.heap: 5050 MiB heap does not fit in 5120 MiB memory beside the sidecars' "
        "114 MiB"
    ]


def test_a_port_has_one_container():
    assert problems(with_sidecar("otel", sidecar(ports=[4317, 9443], essential=False))) == [
        "services.apim.containers.otel.ports: port 9443 is already apim's: the task's containers "
        "share one network namespace (awsvpc), so each port has one owner"
    ]


# ---- storage -----------------------------------------------------------------------------------


def test_efs_authorization_needs_transit_encryption():
    document = example()
    document["services"]["apim"]["volumes"]["solr"]["efs"]["transitEncryption"] = False
    assert problems(document) == [
        "services.apim.volumes.solr.efs.transitEncryption: must be true with an access point or "
        "IAM authorization (ECS refuses them without)"
    ]


def test_an_access_point_sets_the_root_directory():
    document = example()
    document["services"]["apim"]["volumes"]["solr"]["efs"]["rootDirectory"] = "/apim"
    assert problems(document) == [
        "services.apim.volumes.solr.efs.rootDirectory: must be omitted (or /) with an access "
        "point: the access point's path applies"
    ]


def test_a_mount_names_a_declared_volume_once_per_path():
    document = with_apim(mountPoints=[{"volume": "solar", "path": "/data"},
                                      {"volume": "solr", "path": "/data"}])  # fmt: skip
    assert problems(document) == [
        "services.apim.mountPoints[0].volume: unknown volume 'solar' (did you mean 'solr'?); "
        "declare it under volumes",
        "services.apim.mountPoints[1]: /data is mounted twice in apim",
    ]


def test_a_bind_volume_is_shared_between_containers():
    document = with_apim(volumes={"scratch": {"sharedWith": ["log-router"]}},
                         mountPoints=[{"volume": "scratch", "path": "/x"}])  # fmt: skip
    document["services"]["apim"]["containers"]["log-router"]["mountPoints"] = [
        {"volume": "scratch", "path": "/scratch", "readOnly": True}
    ]
    task = render(parse(document))
    assert {"name": "scratch"} in task["volumes"]
    assert containers_of(task)["log-router"]["mountPoints"] == [
        {"sourceVolume": "scratch", "containerPath": "/scratch", "readOnly": True}
    ]


def test_the_keystore_volume_name_is_reserved():
    solr = example()["services"]["apim"]["volumes"]["solr"]
    assert problems(with_apim(volumes={"berth-keystores": {}, "solr": solr})) == [
        "services.apim.volumes.berth-keystores: reserved for the keystore-init preset's volume; "
        "choose another name"
    ]


@pytest.mark.parametrize(("size", "ok"), [(20, False), (21, True), (200, True), (201, False)])
def test_ephemeral_storage_is_21_to_200_gib(size: int, ok: bool):
    document = with_apim(ephemeralStorage=size)
    if ok:
        assert parse(document).services["apim"].ephemeral_storage == size
    else:
        [problem] = problems(document)
        assert problem.startswith(f"services.apim.ephemeralStorage: {size} is too ")


def test_ephemeral_storage_is_fargate_only():
    document = with_apim(launchType="EC2")
    assert "services.apim.ephemeralStorage: only Fargate tasks take ephemeralStorage" in problems(
        document
    )


# ---- presets -----------------------------------------------------------------------------------


def test_firelens_needs_the_task_role():
    document = example()
    del document["taskRoleArn"]
    assert problems(document) == [
        "services.apim.containers.log-router.preset: firelens needs a taskRoleArn (here or at the "
        "top level): Fluent Bit writes the logs with the task role"
    ]


def test_one_log_router_per_task():
    document = with_sidecar("second-router", sidecar(preset="firelens"))
    assert problems(document) == [
        "services.apim.containers.second-router.preset: a task has one firelens"
    ]


def test_keystore_init_needs_stores_and_is_their_one_writer():
    document = example()
    init = document["services"]["apim"]["containers"]["keystore-init"]
    store = init["secrets"].pop("BERTH_KEYSTORE_B64")
    document["services"]["apim"]["secrets"]["BERTH_KEYSTORE_B64"] = store
    assert problems(document) == [
        "services.apim.secrets.BERTH_KEYSTORE_B64: keystore-init (keystore-init) writes the "
        "stores: give BERTH_KEYSTORE_B64 to it instead (one writer)"
    ]
    init["secrets"].clear()
    assert (
        "services.apim.containers.keystore-init.secrets: keystore-init has nothing to write: "
        "give it BERTH_KEYSTORE_B64 and/or BERTH_TRUSTSTORE_B64 (Secrets Manager)"
    ) in problems(document)


def test_keystore_init_needs_a_wso2_product():
    document = example()
    document["services"]["apim"]["product"] = "generic"
    document["services"]["apim"]["ports"] = [8243]
    found = problems(document)
    assert ("services.apim.containers.keystore-init.preset: keystore-init hands the stores to "
            "WSO2's config volume; generic has none") in found  # fmt: skip


def test_the_otel_collector_preset():
    document = with_sidecar("otel", {"preset": "otel-collector", "image": f"adot@{DIGEST}"})
    otel = containers_of(render(parse(document)))["otel"]
    assert otel["essential"] is False
    assert [p["containerPort"] for p in otel["portMappings"]] == [4317, 4318]
    assert otel["healthCheck"]["command"] == ["CMD", "/healthcheck"]
    assert otel["memoryReservation"] == 256
    product = containers_of(render(parse(document)))["apim"]
    assert {"containerName": "otel", "condition": "START"} in product["dependsOn"]


# ---- what a spec may not make a sidecar run, and what the stage lets it reach ----------------


def test_a_sidecar_cannot_load_code_or_probe_with_a_shell():
    document = with_sidecar("otel", sidecar(
        essential=False,
        environment={"LD_PRELOAD": "/tmp/x.so", "OTEL_TOKEN": "t"},
        healthCheck={"command": ["CMD-SHELL", "wget -q localhost:13133 || exit 1"]},
    ))  # fmt: skip
    found = problems(document)
    assert (
        "services.apim.containers.otel.environment.LD_PRELOAD: loads code into the otel's "
        "process (JVM or dynamic loader); not allowed in a spec"
    ) in found
    assert (
        "services.apim.containers.otel.environment.OTEL_TOKEN: looks like a secret; move it "
        "to secrets as a Secrets Manager or SSM ARN"
    ) in found
    assert any(p.startswith("services.apim.containers.otel.healthCheck.command: only an "
                            "exec-form probe") for p in found)  # fmt: skip


def test_sidecar_images_come_from_the_stages_repositories():
    fence = StageFence(roles=frozenset({"berth-task-execution-prod-prod", "berth-task-prod-prod"}),
                       repositories=frozenset({"wso2am", "wso2mi", "aws-for-fluent-bit"}))  # fmt: skip
    assert problems(example(), fence) == [
        "services.apim.containers.keystore-init.image.repository: 'berth-keystore-init' is not a "
        "repository this stage deploys from (aws-for-fluent-bit, wso2am, wso2mi)"
    ]


# ---- docs ----------------------------------------------------------------------------------------


def test_docs_spec_documents_every_container_and_storage_field():
    docs = (ROOT / "docs" / "spec.md").read_text()
    models = [Sidecar, PinnedImage, MountPoint, EfsVolume]
    fields = {f.alias or n for m in models for n, f in m.model_fields.items()}
    fields |= {"containers", "volumes", "mountPoints", "startAfter", "ephemeralStorage", "efs"}
    fields |= {"firelens", "otel-collector", "keystore-init"}
    missing = sorted(f for f in fields if f"`{f}`" not in docs and f".{f}`" not in docs)
    assert missing == []
    assert {"containers", "volumes", "mountPoints", "startAfter", "ephemeralStorage"} <= set(
        Service.model_fields[n].alias or n for n in Service.model_fields
    )
