"""Deployable to AWS: the packaged template lints clean and IAM allows exactly what the code calls."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from berth.sandbox.demo import Scenario, Timeline
from berth.sandbox.infra import _CfnLoader
from chalicelib import triggers
from tests.conftest import ROOT

BIN = Path(sys.executable).parent

# Actions the policy grants that no recorded botocore call shows, each with the reason.
IMPLIED = {
    "s3:GetObject": "GetObject without a version id (the Records[] format may omit it)",
    "dynamodb:DeleteItem": "powertools idempotency removes its in-progress record when a handler raises",
    "ecs:TagResource": "CreateService and RegisterTaskDefinition with tags need it (tag on create)",
    "iam:PassRole": "RegisterTaskDefinition passes the execution and task roles",
    "sqs:SendMessage": "Lambda sends events that keep failing to the dead-letter queue as the function",
    "logs:CreateLogGroup": "the Lambda runtime writes the function's logs",
    "logs:CreateLogStream": "the Lambda runtime writes the function's logs",
    "logs:PutLogEvents": "the Lambda runtime writes the function's logs",
}


def policy_actions(stage: str) -> set[str]:
    policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        listed = statement["Action"]
        actions |= {listed} if isinstance(listed, str) else set(listed)
    return actions


def iam_action(service: str, operation: str, params: dict) -> str:
    prefix = {"dynamodb": "dynamodb", "ecs": "ecs", "ecr": "ecr", "s3": "s3", "sns": "sns"}[service]
    if (service, operation) == ("s3", "GetObject") and params.get("VersionId"):
        return "s3:GetObjectVersion"
    return f"{prefix}:{operation}"


@pytest.fixture(scope="module")
def called_actions() -> set[str]:
    """Every IAM action behind the AWS calls Berth's handlers make in the whole demo scenario."""
    from berth.sandbox.sandbox import Sandbox

    with Sandbox(rollout_seconds=0.0) as box:
        assert Scenario(box, Timeline(echo=lambda _: None)).run()
        return {iam_action(c.service, c.operation, c.params) for c in box.recorder.calls}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_allows_every_call_the_code_makes(called_actions, stage):
    assert called_actions - policy_actions(stage) == set()


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_the_policy_allows_nothing_the_code_does_not_call(called_actions, stage):
    assert policy_actions(stage) - called_actions - set(IMPLIED) == set()


def test_pass_role_is_limited_to_the_task_roles_and_ecs_tasks():
    for stage in ("dev", "prod"):
        policy = json.loads((ROOT / ".chalice" / f"policy-{stage}.json").read_text())
        [statement] = [s for s in policy["Statement"] if s["Action"] == "iam:PassRole"]
        assert statement["Resource"] == [
            f"arn:aws:iam::*:role/berth-task-execution-{stage}",
            f"arn:aws:iam::*:role/berth-task-{stage}",
        ]
        assert statement["Condition"] == {
            "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
        }


def test_stage_policies_differ_only_in_the_stage():
    dev = (ROOT / ".chalice" / "policy-dev.json").read_text()
    prod = (ROOT / ".chalice" / "policy-prod.json").read_text()
    assert dev.replace("-dev", "-prod") == prod


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    """`chalice package` offline: the same project with no third-party requirements to download."""
    work = tmp_path_factory.mktemp("package")
    for name in ("app.py", "chalicelib", ".chalice", "infra"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, work / name)
    (work / "requirements.txt").write_text("")
    subprocess.run(
        [
            BIN / "chalice",
            "package",
            "--stage",
            "prod",
            "--merge-template",
            "infra/resources.yaml",
            "out",
        ],
        cwd=work,
        check=True,
        capture_output=True,
        env={"AWS_DEFAULT_REGION": "us-east-1", "PATH": str(BIN)},
    )
    return work / "out" / "sam.yaml"


def test_the_packaged_template_lints_clean(packaged):
    result = subprocess.run(
        [BIN / "cfn-lint", str(packaged)], check=False, capture_output=True, text=True
    )
    assert (result.returncode, result.stdout) == (0, "")


def test_the_packaged_template_wires_functions_to_berths_resources(packaged):
    template = yaml.load(packaged.read_text(), Loader=_CfnLoader)
    functions = {
        k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"
    }
    assert sorted(functions) == [
        "OnDeploymentStateChange",
        "OnImagePushed",
        "OnServiceAction",
        "OnSpecUploaded",
        "Sweep",
    ]
    patterns = {
        v["Properties"]["Handler"].removeprefix("app."): next(
            iter(v["Properties"]["Events"].values())
        )["Properties"].get("Pattern")
        for v in functions.values()
    }
    assert {name: patterns[name] for name in triggers.PATTERNS} == triggers.PATTERNS
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["BERTH_SPEC_BUCKET"] == {"Ref": "SpecBucket"}
    assert variables["BERTH_TOPIC_ARN"] == {"Ref": "NotificationTopic"}
    role = template["Resources"]["OnSpecUploadedRole"]["Properties"]["Policies"][0][
        "PolicyDocument"
    ]
    assert role == json.loads((ROOT / ".chalice" / "policy-prod.json").read_text())
    assert functions["OnSpecUploaded"]["Properties"]["Timeout"] == 120
    # Chalice packages for the interpreter it runs on; config.json names the runtime we target.
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    assert {f["Properties"]["Runtime"] for f in functions.values()} == {
        config["lambda_python_version"]
    }
